"""PDF documents of headings, lines and tables, written page by page in constant memory.

fpdf2 lays out each page (text, cells, widths of the standard Helvetica) and keeps a whole
document in memory until its `output()`; here it lays out one page at a time, and the page's
content stream goes to the sink as soon as the page is full. The PDF's own structure (objects,
page tree, cross-reference table) is written around those pages: what stays in memory is one
page and one byte offset per object.

Timeline of a document:

    header ─▶ page 1 laid out by fpdf2 ─▶ full: its content + page objects written ─▶ page 2 …
    close  ─▶ fonts, page tree (the page refs), catalog, info ─▶ xref table ─▶ trailer
"""

from __future__ import annotations

import array
import datetime as dt
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from fpdf import FPDF

# A4 landscape, in points: wide tables fit.
PAGE_WIDTH = 841.89
PAGE_HEIGHT = 595.28
MARGIN = 28.0
FONT_SIZE = 8.0
LINE_HEIGHT = 12.0
CELL_PADDING = 2.0
FOOTER_SPACE = 20.0
# Objects written last, at fixed numbers; pages take the numbers from FIRST_PAGE_OBJECT on.
CATALOG, PAGES, FONT_REGULAR, FONT_BOLD, INFO = 1, 2, 3, 4, 5
FIRST_PAGE_OBJECT = 6
# fpdf2's names of the standard fonts used → the font object written for each.
_FONT_OBJECTS = {"helvetica": (FONT_REGULAR, "Helvetica"), "helveticaB": (FONT_BOLD, "Helvetica-Bold")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


def printable(text: str) -> str:
    """`text` as the standard fonts can show it: Latin-1, `?` for any other character, no control characters."""
    return _CONTROL.sub(" ", text).encode("latin-1", "replace").decode("latin-1")


def _literal(text: str) -> bytes:
    return b"(" + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


class PdfDocument:
    """Write with `heading`, `line`, `table` and `row`, then `close` (once)."""

    def __init__(self, sink: Sink, *, title: str, created: dt.datetime | None = None) -> None:
        self._sink = sink
        self._title = printable(title)
        self._created = created
        self._written = 0
        # Byte offset of each object by number (0 is the free-list head, never an object).
        self._offsets = array.array("Q", [0] * FIRST_PAGE_OBJECT)
        self._pages = array.array("Q")  # object numbers of the page objects, in order
        self._page: FPDF | None = None
        self._columns: tuple[str, ...] = ()
        self._widths: tuple[float, ...] = ()
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    @property
    def page_count(self) -> int:
        return len(self._pages) + (self._page is not None)

    def heading(self, text: str, *, size: float = 14.0) -> None:
        """A bold line of `size` points; the table, if any, ends."""
        self._columns = ()
        page = self._room_for(size * 1.6)
        page.set_font("helvetica", "B", size)
        page.cell(0, size * 1.6, printable(text), new_x="LMARGIN", new_y="NEXT")
        page.set_font("helvetica", "", FONT_SIZE)

    def line(self, text: str) -> None:
        """One line of plain text (cut to the page's width)."""
        self._columns = ()
        page = self._room_for(LINE_HEIGHT)
        page.cell(0, LINE_HEIGHT, self._fit(page, printable(text), page.epw), new_x="LMARGIN", new_y="NEXT")

    def table(self, columns: Sequence[str], *, widths: Sequence[float] | None = None) -> None:
        """Start a table: its header row now, and again at the top of every page it runs onto.
        `widths` are relative (equal by default)."""
        shares = list(widths) if widths else [1.0] * len(columns)
        usable = PAGE_WIDTH - 2 * MARGIN
        self._columns = tuple(printable(c) for c in columns)
        self._widths = tuple(usable * share / sum(shares) for share in shares)
        self._header_row(self._room_for(2 * LINE_HEIGHT))

    def row(self, cells: Sequence[str | None]) -> None:
        """One table row; a cell too wide for its column is cut, with `...`."""
        page = self._room_for(LINE_HEIGHT)
        for width, value in zip(self._widths, cells, strict=True):
            text = self._fit(page, printable(value or ""), width - 2 * CELL_PADDING)
            page.cell(width, LINE_HEIGHT, text, border="B")
        page.ln(LINE_HEIGHT)

    def close(self) -> None:
        """Write the last page and the document's structure."""
        if self._page is None and not self._pages:
            self._room_for(0)  # a document has at least one page
        self._flush_page()
        for number, base_font in _FONT_OBJECTS.values():
            self._object(number, f"<< /Type /Font /Subtype /Type1 /BaseFont /{base_font} /Encoding /WinAnsiEncoding >>")
        kids = " ".join(f"{n} 0 R" for n in self._pages)
        media_box = f"[0 0 {PAGE_WIDTH:.2f} {PAGE_HEIGHT:.2f}]"
        self._object(PAGES, f"<< /Type /Pages /Kids [{kids}] /Count {len(self._pages)} /MediaBox {media_box} >>")
        self._object(CATALOG, f"<< /Type /Catalog /Pages {PAGES} 0 R >>")
        info = b"<< /Producer (Jobline) /Title " + _literal(self._title)
        if self._created is not None:
            info += f" /CreationDate (D:{self._created.astimezone(dt.UTC):%Y%m%d%H%M%S}Z)".encode()
        self._object(INFO, info + b" >>")
        xref_at = self._written
        lines = [f"xref\n0 {len(self._offsets)}\n", "0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self._offsets[1:]]
        self._write("".join(lines).encode())
        trailer = f"trailer\n<< /Size {len(self._offsets)} /Root {CATALOG} 0 R /Info {INFO} 0 R >>\n"
        self._write(f"{trailer}startxref\n{xref_at}\n%%EOF\n".encode())

    # -- pages --------------------------------------------------------------------------

    def _room_for(self, height: float) -> FPDF:
        """The current page, or a new one if `height` more points would not fit above the footer."""
        page = self._page
        if page is not None and page.get_y() + height <= PAGE_HEIGHT - MARGIN - FOOTER_SPACE:
            return page
        if page is not None:
            self._flush_page()
        page = self._page = self._new_page()
        if self._columns:
            self._header_row(page)
        return page

    def _new_page(self) -> FPDF:
        page = FPDF(orientation="L", unit="pt", format="A4")
        page.set_auto_page_break(False)
        page.set_margins(MARGIN, MARGIN, MARGIN)
        page.add_page()
        page.set_font("helvetica", "", FONT_SIZE)
        # The footer first: the page number is known now, the page count only at the end.
        page.set_xy(MARGIN, PAGE_HEIGHT - MARGIN - LINE_HEIGHT)
        page.cell(0, LINE_HEIGHT, f"{self._title} - page {len(self._pages) + 1}", align="R")
        page.set_xy(MARGIN, MARGIN)
        return page

    def _header_row(self, page: FPDF) -> None:
        page.set_font("helvetica", "B", FONT_SIZE)
        for width, name in zip(self._widths, self._columns, strict=True):
            page.cell(width, LINE_HEIGHT, self._fit(page, name, width - 2 * CELL_PADDING), border="B")
        page.ln(LINE_HEIGHT)
        page.set_font("helvetica", "", FONT_SIZE)

    @staticmethod
    def _fit(page: FPDF, text: str, width: float) -> str:
        if page.get_string_width(text) <= width:
            return text
        # Cut by the average width first, then a character at a time: long cells are common in exports.
        average = page.get_string_width(text) / len(text)
        text = text[: max(int(width / average), 1)]
        while text and page.get_string_width(text + "...") > width:
            text = text[:-1]
        return text + "..."

    def _flush_page(self) -> None:
        page, self._page = self._page, None
        if page is None:
            return
        fonts = " ".join(f"/F{font.i} {_FONT_OBJECTS[key][0]} 0 R" for key, font in page.fonts.items())
        drawn = page.pages[1].contents
        assert isinstance(drawn, bytearray), "fpdf2 keeps an open page's content as bytes"
        content = zlib.compress(drawn)
        number = len(self._offsets)
        self._offsets.extend([0, 0])
        self._object(number, f"<< /Length {len(content)} /Filter /FlateDecode >>", stream=content)
        self._object(
            number + 1,
            f"<< /Type /Page /Parent {PAGES} 0 R /Resources << /Font << {fonts} >> >> /Contents {number} 0 R >>",
        )
        self._pages.append(number + 1)

    def _object(self, number: int, body: str | bytes, *, stream: bytes | None = None) -> None:
        self._offsets[number] = self._written
        data = body.encode("latin-1") if isinstance(body, str) else body
        if stream is not None:
            data += b"\nstream\n" + stream + b"\nendstream"
        self._write(b"%d 0 obj\n" % number + data + b"\nendobj\n")

    def _write(self, data: bytes) -> None:
        self._sink.write(data)
        self._written += len(data)


class PdfTable:
    """An export as one PDF table: a title, then the rows (the format writer of `pdf`)."""

    def __init__(self, sink: Sink, *, title: str) -> None:
        self._document = PdfDocument(sink, title=title)
        self._title = title

    def header(self, columns: Sequence[str]) -> None:
        self._document.heading(self._title)
        self._document.table(columns)

    def rows(self, batch: Iterable[Sequence[str | None]]) -> None:
        for row in batch:
            self._document.row(row)

    def finish(self) -> None:
        self._document.close()
