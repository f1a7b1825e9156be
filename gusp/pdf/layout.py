"""What both printed documents share: the A4 page, its styles, the footer « page 2 sur 5 », photos.

Every piece of text goes through `typography.french` before it reaches the page, so that no
caller can forget the no-break spaces.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from gusp.pdf import typography
from gusp.storage import PhotoStorage

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
ACCENT = colors.HexColor("#364fc7")
LIGHT = colors.HexColor("#edf2ff")
GRID = colors.HexColor("#ced4da")
MUTED = colors.HexColor("#495057")
OVERDUE = colors.HexColor("#c92a2a")


@dataclass(frozen=True)
class Styles:
    fonts: typography.Fonts
    title: ParagraphStyle
    subtitle: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    figure: ParagraphStyle
    figure_label: ParagraphStyle

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        """A paragraph of plain text: French spacing applied, markup characters escaped."""
        return Paragraph(self.text(text), style or self.body)

    def lines(self, parts: Sequence[str], style: ParagraphStyle | None = None) -> Paragraph:
        """Several lines of plain text in one paragraph (for table cells)."""
        return Paragraph("<br/>".join(self.text(part) for part in parts if part), style or self.cell)

    def text(self, raw: str) -> str:
        return typography.escape(typography.french(raw, narrow=self.fonts.narrow_space))

    def number(self, value: float, decimals: int = 0) -> str:
        return typography.number(value, decimals=decimals, narrow=self.fonts.narrow_space)


def styles() -> Styles:
    fonts = typography.fonts()
    base = ParagraphStyle("body", fontName=fonts.regular, fontSize=9.5, leading=12.5, textColor=colors.black)
    return Styles(
        fonts=fonts,
        title=ParagraphStyle("title", parent=base, fontName=fonts.bold, fontSize=24, leading=29, textColor=ACCENT),
        subtitle=ParagraphStyle("subtitle", parent=base, fontSize=13, leading=17, textColor=MUTED),
        h1=ParagraphStyle("h1", parent=base, fontName=fonts.bold, fontSize=14, leading=18, spaceBefore=8,
                          spaceAfter=6, textColor=ACCENT, keepWithNext=True),
        h2=ParagraphStyle("h2", parent=base, fontName=fonts.bold, fontSize=11, leading=14, spaceBefore=8,
                          spaceAfter=4, keepWithNext=True),
        body=base,
        small=ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
        cell=ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        cell_bold=ParagraphStyle("cell_bold", parent=base, fontName=fonts.bold, fontSize=8, leading=10),
        figure=ParagraphStyle("figure", parent=base, fontName=fonts.bold, fontSize=20, leading=24,
                              alignment=TA_CENTER, textColor=ACCENT),
        figure_label=ParagraphStyle("figure_label", parent=base, fontSize=8, leading=10, alignment=TA_CENTER,
                                    textColor=MUTED),
    )


def render(story: list[Flowable], *, title: str, footer: str, st: Styles) -> bytes:
    """The story on A4 pages with a footer « <footer> — page n sur N »; the PDF's bytes."""
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm,
        title=title, author="GUSP", creator="GUSP", lang="fr-FR", invariant=True,
    )
    frame = Frame(MARGIN, MARGIN + 4 * mm, CONTENT_WIDTH, PAGE_HEIGHT - 2 * MARGIN - 4 * mm, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(story, canvasmaker=_numbered_canvas(typography.french(footer, narrow=st.fonts.narrow_space),
                                                  st.fonts.regular))
    return buffer.getvalue()


def _numbered_canvas(footer: str, font: str) -> Callable[..., canvas.Canvas]:
    """A canvas that knows the page count when it writes each footer (pages are kept until the end)."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 7.5)
                self.setFillColor(MUTED)
                self.drawString(MARGIN, MARGIN - 2 * mm, footer)
                self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 2 * mm, f"page {number} sur {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def photo(storage: PhotoStorage, key: str | None, *, width: float, height: float, st: Styles) -> Flowable:
    """A stored photo fitted in the box, or a short note when there is none or its file is missing."""
    if key is None:
        return st.p("—", st.small)
    try:
        data = storage.open(key).read()
    except Exception:  # noqa: BLE001 — a bad key, a missing file or a store out of reach must not sink the document
        return st.p("photo indisponible", st.small)
    image = Image(io.BytesIO(data))
    ratio = min(width / image.imageWidth, height / image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * ratio, image.imageHeight * ratio
    return image


def key_figure_grid(items: Sequence[tuple[str, str]], *, st: Styles, columns: int = 3) -> Table:
    """Big numbers with their labels, in boxes of a grid."""
    cells = [[st.p(value, st.figure), st.p(label, st.figure_label)] for value, label in items]
    rows = [cells[i:i + columns] for i in range(0, len(cells), columns)]
    rows[-1] += [""] * (columns - len(rows[-1]))
    table = Table([[c if c else "" for c in row] for row in rows], colWidths=[CONTENT_WIDTH / columns] * columns)
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.5, GRID), ("INNERGRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, -1), LIGHT), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 8), ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
    ]))
    return table


def data_table(rows: list[list], *, widths: Sequence[float], st: Styles, highlight: Sequence[int] = ()) -> Table:
    """A table whose first row is a header repeated on each page; rows in `highlight` tinted red."""
    table = Table(rows, colWidths=list(widths), repeatRows=1)
    commands = [
        ("FONT", (0, 0), (-1, -1), st.fonts.regular, 8),
        ("BACKGROUND", (0, 0), (-1, 0), LIGHT), ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, GRID), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fff5f5")) for i in highlight]
    table.setStyle(TableStyle(commands))
    return table
