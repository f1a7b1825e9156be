// The staff pages' header: who is signed in, which links their role sees, and the count of mails
// that could not be sent (a link to the outbox page) for coordinators and admins.

import { get, requireUser, signOut } from "./api.js";
import { $, $$ } from "./dom.js";
import { ROLES } from "./vocabulary.js";

export const MANAGERS = ["coordinateur", "admin"];

/** Sign-in required; fills the header; resolves to the user. */
export async function staffHeader() {
  const user = await requireUser();
  for (const element of $$(".managers-only")) element.hidden = !MANAGERS.includes(user.role);
  for (const element of $$(".admins-only")) element.hidden = user.role !== "admin";
  $("#user-name").textContent = `${user.full_name} — ${ROLES[user.role] || user.role}`;
  $("#sign-out").addEventListener("click", signOut);
  return user;
}

/** "N courriers en échec" next to the Courriers link and in `notice` (if given); quiet when none or on error. */
export async function outboxCount(user, notice = null) {
  if (!MANAGERS.includes(user.role)) return;
  let counts;
  try {
    counts = await get("/api/v1/gestion/outbox/counts");
  } catch {
    return;
  }
  const link = document.querySelector('a[href="/gestion/courriers"]');
  if (link && counts.failed) link.textContent = `Courriers (${counts.failed} en échec)`;
  if (notice && counts.failed) {
    notice.replaceChildren(`${counts.failed} courrier${counts.failed > 1 ? "s" : ""} n'${counts.failed > 1 ? "ont" : "a"} pas pu partir. `);
    const open = document.createElement("a");
    open.href = "/gestion/courriers?status=failed";
    open.textContent = "Voir et renvoyer";
    notice.append(open);
    notice.hidden = false;
  }
}
