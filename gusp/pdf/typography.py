"""French typography for printed documents: spaces, dates, numbers, and the font that shows them.

Rules of the Imprimerie nationale's *Lexique*: a no-break space before « : », a narrow no-break
space before « ; ! ? » and inside « », narrow no-break spaces between thousands, a decimal comma,
« 1er » for the first day of a month. The embedded DejaVu font has every glyph French needs
(accents, œ, « », U+202F); Helvetica, the fallback, lacks the narrow no-break space. (In the PDF,
reportlab writes U+00A0 with the glyph and the text code of a space: a text extractor reads a
space, but lines never break there.)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from datetime import date, datetime
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
SHORT_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")

# Before « ; ! ? » (and « : » followed by a space or the end: not 10:30 nor http://).
_HIGH_PUNCT = re.compile(r"[ \t\u00a0\u202f]*([;!?]+)")
_COLON = re.compile(r"[ \t\u00a0\u202f]*:(?=\s|$)")
_OPEN_QUOTE = re.compile(r"«[ \t\u00a0\u202f]*")
_CLOSE_QUOTE = re.compile(r"[ \t\u00a0\u202f]*»")
_STRAIGHT_QUOTES = re.compile(r'"([^"\n]*)"')
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")  # l'eau, d'Aix: the typographic apostrophe


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    # What `french()` and `number()` put in paragraphs. reportlab's Paragraph breaks lines at U+202F
    # (it counts it as ordinary white space) but never at U+00A0: so paragraphs get the no-break
    # space — a little wider, but no line ever starts with « ! » or splits « 1 234 ».
    narrow_space: str


@cache
def fonts(font_dir: Path = FONT_DIR) -> Fonts:
    """DejaVu Sans embedded (subset) in the PDF; Helvetica with a warning if Debian's fonts-dejavu-core is missing."""
    files = {"GuspSans": "DejaVuSans.ttf", "GuspSans-Bold": "DejaVuSans-Bold.ttf",
             "GuspSans-Oblique": "DejaVuSans-Oblique.ttf"}
    if not all((font_dir / f).is_file() for f in files.values()):
        log.warning("DejaVu fonts not found in %s (Debian: fonts-dejavu-core); PDFs fall back to Helvetica", font_dir)
        return Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", NBSP)
    for name, file in files.items():
        pdfmetrics.registerFont(TTFont(name, str(font_dir / file)))
    pdfmetrics.registerFontFamily("GuspSans", normal="GuspSans", bold="GuspSans-Bold", italic="GuspSans-Oblique",
                                  boldItalic="GuspSans-Bold")
    return Fonts("GuspSans", "GuspSans-Bold", "GuspSans-Oblique", NBSP)


def french(text: str, *, narrow: str = NNBSP) -> str:
    """French no-break spaces around punctuation and inside guillemets; straight quotes become « » and ’."""
    if not text:
        return ""
    text = _STRAIGHT_QUOTES.sub(r"«\1»", text)
    text = _APOSTROPHE.sub("’", text)
    text = _OPEN_QUOTE.sub("«" + narrow, text)
    text = _CLOSE_QUOTE.sub(narrow + "»", text)
    text = _HIGH_PUNCT.sub(lambda m: narrow + m.group(1), text)
    text = _COLON.sub(NBSP + ":", text)
    return text


def number(value: float, *, decimals: int = 0, narrow: str = NNBSP) -> str:
    """« 12 345 » with narrow no-break spaces; « 3,5 » with a decimal comma; halves rounded up (2,15 → 2,2).

    The one rounding of a figure: the statistics hand over unrounded values.
    """
    exact = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    formatted = f"{rounded:,.{decimals}f}"
    return formatted.replace(",", narrow).replace(".", ",")


def percent(part: int, whole: int, *, narrow: str = NNBSP) -> str:
    """« 42 % » (no-break space before the sign); an empty whole gives « — »."""
    if not whole:
        return "—"
    return f"{number(100 * part / whole, narrow=narrow)}{NBSP}%"


def day(value: date | datetime) -> str:
    """« 25 novembre 2026 », « 1er décembre 2026 »."""
    first = "1er" if value.day == 1 else str(value.day)
    return f"{first}{NBSP}{MONTHS[value.month - 1]}{NBSP}{value.year}"


def short_day(value: date | datetime) -> str:
    """« 25/11/2026 »: for narrow table columns."""
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def day_time(value: datetime) -> str:
    """« 25 novembre 2026 à 10 h 30 » (the caller gives local time)."""
    return f"{day(value)} à {value.hour}{NBSP}h{NBSP}{value.minute:02d}"


def month(value: date) -> str:
    """« nov. 2026 » for chart axes: short but unambiguous."""
    return f"{SHORT_MONTHS[value.month - 1]}{NBSP}{value.year}"


def period(start: date, end: date) -> str:
    """« du 1er septembre 2026 au 30 novembre 2026 »."""
    return f"du {day(start)} au {day(end)}"


def plural(count: int, singular: str, plural_form: str | None = None, *, narrow: str = NNBSP) -> str:
    """« 0 signalement », « 1 signalement », « 2 signalements » (French: 0 and 1 take the singular)."""
    word = singular if abs(count) < 2 else (plural_form or singular + "s")
    return f"{number(count, narrow=narrow)}{NBSP}{word}"


def escape(text: str) -> str:
    """Text for a reportlab Paragraph (its mini-markup): &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
