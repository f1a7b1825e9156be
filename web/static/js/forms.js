// The API's French messages next to the fields they concern, and a summary at the top of the form
// (RGAA: errors are announced, linked to their field, and focus goes to them).

import { ApiError } from "./api.js";

function wrapperOf(form, field, aliases) {
  const name = aliases[field] || field;
  return form.querySelector(`[data-field~="${CSS.escape(name)}"]`);
}

function controlOf(wrapper) {
  return wrapper.querySelector("input:not([type=hidden]), select, textarea, button");
}

export function clearErrors(form) {
  for (const box of form.querySelectorAll(".field-error")) {
    box.textContent = "";
    box.hidden = true;
  }
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  const summary = form.querySelector(".error-summary");
  if (summary) {
    summary.hidden = true;
    summary.replaceChildren();
  }
}

let errorIds = 0;

function setFieldError(wrapper, message) {
  let box = wrapper.querySelector(".field-error");
  if (!box) {
    box = document.createElement("p");
    box.className = "field-error";
    wrapper.append(box);
  }
  if (!box.id) {
    errorIds += 1;
    box.id = `${wrapper.dataset.field.split(" ")[0]}-erreur-${errorIds}`;
  }
  box.textContent = box.textContent ? `${box.textContent} ${message}` : message;
  box.hidden = false;
  for (const control of wrapper.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    control.setAttribute("aria-invalid", "true");
    const described = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    described.add(box.id);
    control.setAttribute("aria-describedby", [...described].join(" "));
  }
}

/** The problems of an error: [{message, field}] — one per invalid field, or the error itself. */
export function problemsOf(error) {
  if (error instanceof ApiError && error.errors.length) {
    return error.errors.map((e) => ({ message: e.message, field: e.field || null }));
  }
  return [{ message: error.message, field: error instanceof ApiError ? error.field : null }];
}

/**
 * Show `error` on `form`: each message next to its field (wrappers carry data-field="name"),
 * all of them in the summary, then focus on the summary. `aliases` maps API fields to wrappers.
 */
export function showErrors(form, error, { aliases = {}, title } = {}) {
  clearErrors(form);
  const problems = problemsOf(error);
  const summary = form.querySelector(".error-summary");
  const items = [];
  for (const problem of problems) {
    const wrapper = problem.field ? wrapperOf(form, problem.field, aliases) : null;
    if (wrapper) setFieldError(wrapper, problem.message);
    const li = document.createElement("li");
    const control = wrapper && controlOf(wrapper);
    if (control) {
      if (!control.id) control.id = `champ-${problem.field}`;
      const link = document.createElement("a");
      link.href = `#${control.id}`;
      link.textContent = problem.message;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        control.focus();
      });
      li.append(link);
    } else {
      li.textContent = problem.message;
    }
    items.push(li);
  }
  if (summary) {
    const heading = document.createElement("h2");
    heading.textContent = title || (problems.length > 1
      ? `${problems.length} points à corriger`
      : "Un point à corriger");
    const list = document.createElement("ul");
    list.append(...items);
    summary.replaceChildren(heading, list);
    summary.hidden = false;
    if (!summary.hasAttribute("tabindex")) summary.tabIndex = -1;
    summary.focus();
  }
}

/** Disable a form's submit button while `work` runs; the button says what is happening. */
export async function busy(form, label, work) {
  const button = form.querySelector("[type=submit]");
  const before = button?.textContent;
  if (button) {
    button.disabled = true;
    button.textContent = label;
  }
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    form.removeAttribute("aria-busy");
    if (button) {
      button.disabled = false;
      button.textContent = before;
    }
  }
}
