"""Masking phone numbers and e-mail addresses in text that becomes public.

Residents write "appeler Mme X au 06 12 34 56 78" in descriptions; coordinators type numbers in
notes. Every public serializer passes free text through `redact_text`; staff views keep the original.
Dates, report references, postcodes and years are left alone: a number run never crosses a date
or a reference, and postcodes and years are too short to be read as phones.
"""

from __future__ import annotations

import re

PHONE_MASK = "[numéro masqué]"
EMAIL_MASK = "[adresse masquée]"

_SPACE = " \u00a0\u202f\u2009"
_AT = r"(?:@|\s?[\[(]\s?(?:at|arobase)\s?[\])]\s?|\s(?:arobase)\s)"
_EMAIL = re.compile(
    rf"(?<![\w.+\-])[\w.+\-]+{_AT}[\w\-]+(?:\s?(?:\.|[\[(]\s?(?:dot|point)\s?[\])])\s?[\w\-]+)*"
    rf"(?:\.|[\[(]\s?(?:dot|point)\s?[\])])[A-Za-z]{{2,24}}\b",
    re.IGNORECASE,
)
# Dates written with separators a phone number uses too (12.03.2026, 2026-03-12), and references.
_PROTECTED = re.compile(
    r"(?<![\d.\-])(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{4}|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})(?![\d])"
    r"|\b[A-Z][A-Z0-9]*-\d{4}-\d+\b"
)
# A run of digit groups joined by one to three separators (spaces, dots, dashes, brackets).
_RUN = re.compile(
    rf"(?<![\w+])(?:\+|\(\+)?\(?\d(?:\d|[{_SPACE}.\-()]{{1,3}}+(?=\(?\d))*+\)?"
)
_GROUP = re.compile(r"\d+")
_US = re.compile(rf"\(?\d{{3}}\)?[{_SPACE}.\-]?\d{{3}}[{_SPACE}.\-]\d{{4}}")
_MAX_GROUPS = 8  # "+33 (0)6 12 34 56 78" is seven groups


def _is_phone(raw: str) -> bool:
    """A run of digits that reads as a telephone number, in French or a foreign spelling."""
    digits = "".join(_GROUP.findall(raw))
    n = len(digits)
    if raw.lstrip("(").startswith("+"):
        return 8 <= n <= 15
    if digits.startswith("00"):
        return 10 <= n <= 17  # 00 + country code + number
    if digits.startswith("0"):
        return 9 <= n <= 12  # national forms: 06 12 34 56 78, 07700 900123, 030 1234567
    # (555) 555-5555, 555-555-5555, and either between brackets
    return _US.fullmatch(raw) is not None or _US.fullmatch(raw.removeprefix("(").removesuffix(")")) is not None


def _mask_run(run: str) -> str:
    """Mask the phone numbers in one run of digit groups, leftmost and longest first."""
    groups = list(_GROUP.finditer(run))
    out: list[str] = []
    cursor = i = 0
    while i < len(groups):
        for j in range(min(len(groups), i + _MAX_GROUPS) - 1, i - 1, -1):
            start = 0 if i == 0 else groups[i].start()  # a leading "+" or "(" belongs to the number
            if start > 0 and run[start - 1] == "(":
                start -= 1
            end = groups[j].end()
            if run[end:end + 1] == ")" and run.count("(", start, end) > run.count(")", start, end):
                end += 1
            if _is_phone(run[start:end]):
                out += [run[cursor:start], PHONE_MASK]
                cursor, i = end, j + 1
                break
        else:
            i += 1
    out.append(run[cursor:])
    return "".join(out)


def _mask_phones(text: str) -> str:
    """Mask phones outside the protected spans (dates, references): a run never crosses one."""
    out: list[str] = []
    cursor = 0
    for match in _PROTECTED.finditer(text):
        out += [_RUN.sub(lambda m: _mask_run(m.group(0)), text[cursor:match.start()]), match.group(0)]
        cursor = match.end()
    out.append(_RUN.sub(lambda m: _mask_run(m.group(0)), text[cursor:]))
    return "".join(out)


def redact_text(text: str | None) -> str | None:
    """The public form of free text: phone numbers and e-mail addresses masked, the rest untouched."""
    if not text:
        return text
    return _mask_phones(_EMAIL.sub(EMAIL_MASK, text))
