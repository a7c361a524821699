"""The export formats: each writes a header and batches of text rows into a byte sink, in constant memory.

- CSV: RFC 4180 lines, formula-like cells defused.
- Excel: XlsxWriter in `constant_memory` mode: each row goes to a temporary file as it is
  written (never a sheet in memory), and the workbook is zipped straight into the sink at the
  end. Cells are written as strings, so none is ever run as a formula.
- PDF: `jobline.domains.exports.pdf`, one page in memory at a time.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import xlsxwriter

from jobline.core.errors import UnrecoverableError
from jobline.domains.exports.pdf import PdfTable
from jobline.domains.exports.schemas import ExportFormat

Row = Sequence[str | None]

# A cell a spreadsheet would run as a formula (OWASP "CSV injection"). `+` and `-` are
# left alone when the rest looks like a number or phone number, which they usually start.
_RISKY_FIRST = frozenset("=+-@\t\r")
_FORMULA = re.compile(r"^[=@\t\r]|^[+-](?![0-9 ().-]*\Z)")
# Excel's limits: rows per sheet (the header is one) and characters per cell.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL_CHARS = 32_767


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


class TableWriter(Protocol):
    """One export file: `header` once, `rows` per batch, then `finish`."""

    def header(self, columns: Sequence[str]) -> None: ...

    def rows(self, batch: Iterable[Row]) -> None: ...

    def finish(self) -> None: ...


def defuse(value: str | None) -> str | None:
    """The cell, prefixed with `'` if a spreadsheet would run it as a formula."""
    if value and value[0] in _RISKY_FIRST and _FORMULA.match(value):
        return f"'{value}"
    return value


def csv_bytes(rows: Iterable[Row]) -> bytes:
    """Rows of text cells as CSV lines (RFC 4180 quoting, CRLF, empty for NULL), UTF-8."""
    out = io.StringIO()
    csv.writer(out).writerows([defuse(v) for v in row] for row in rows)
    return out.getvalue().encode()


class CsvTable:
    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def header(self, columns: Sequence[str]) -> None:
        self._sink.write(csv_bytes([columns]))

    def rows(self, batch: Iterable[Row]) -> None:
        self._sink.write(csv_bytes(batch))

    def finish(self) -> None:
        return None


class _WriteOnly:
    """The sink as a file that cannot seek or tell, so zipfile streams the workbook into it."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        self._sink.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None


class ExcelTable:
    """One worksheet; rows past Excel's limit fail the job rather than vanish from the file."""

    def __init__(self, sink: Sink, *, sheet_name: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="jobline-xlsx-")
        self._book: Any = xlsxwriter.Workbook(
            _WriteOnly(sink),
            {"constant_memory": True, "tmpdir": self._tmp.name, "strings_to_formulas": False},
        )
        self._sheet = self._book.add_worksheet(sheet_name[:31])
        self._bold = self._book.add_format({"bold": True})
        self._row = 0

    def header(self, columns: Sequence[str]) -> None:
        self._sheet.write_row(0, 0, columns, self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def rows(self, batch: Iterable[Row]) -> None:
        for row in batch:
            if self._row >= EXCEL_MAX_ROWS:
                raise UnrecoverableError(f"an Excel sheet holds at most {EXCEL_MAX_ROWS - 1} rows: export as csv")
            for col, value in enumerate(row):
                if value is not None:
                    self._sheet.write_string(self._row, col, value[:EXCEL_MAX_CELL_CHARS])
            self._row += 1

    def finish(self) -> None:
        try:
            self._book.close()
        finally:
            self._tmp.cleanup()


# Format → (file extension, Content-Type).
FILE_TYPES: dict[ExportFormat, tuple[str, str]] = {
    ExportFormat.CSV: ("csv", "text/csv; charset=utf-8"),
    ExportFormat.EXCEL: ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ExportFormat.PDF: ("pdf", "application/pdf"),
}


def table_writer(export_format: ExportFormat, sink: Sink, *, title: str) -> TableWriter:
    """The writer of `export_format` into `sink`; `title` names the sheet or heads the PDF."""
    if export_format is ExportFormat.EXCEL:
        return ExcelTable(sink, sheet_name=title)
    if export_format is ExportFormat.PDF:
        return PdfTable(sink, title=title)
    return CsvTable(sink)
