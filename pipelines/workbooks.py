"""What a workbook holds before any reader allocates for it: its sheets in order and each sheet's cell extent.

fastexcel (calamine) sizes a sheet as the rectangle from its first to its last cell: a 5 KB workbook
with one value at A1 and one at XFD1048576 asks for 16,384 x 1,048,576 cells of 32 bytes (512 GB)
and aborts the process, which no `except` catches. So the first sheet's XML is scanned (streamed
from the archive, one regular expression over 1 MB chunks) for the cells that hold a value, and a
rectangle far larger than them is refused before the reader sees it. The same scan tells whether
another sheet holds data (only the first sheet is read) and the row a sheet's data starts on, so
that `source_row` is the row number the spreadsheet shows.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator

CHUNK_BYTES = 1 << 20
# Refused when the rectangle a reader would allocate is above this many cells and also more than
# SPARSE_FACTOR times the cells holding a value: at 32 bytes a cell, at most ~320 MB beyond the data.
MAX_SPARSE_CELLS = 10_000_000
SPARSE_FACTOR = 4
# A cell element that holds something: `<c r="B7" t="s">` (a self-closing `<c r="B7" s="1"/>` is only
# formatting, and no reader counts it). Some writers prefix the element (`<x:c`).
_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*?(/?)>')
# Excel encrypts a workbook into an OLE compound file (the format of the old .xls) instead of a zip archive.
OLE_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAIN_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class WorkbookError(ValueError):
    """The workbook cannot be read safely; the message says why."""


@dataclasses.dataclass(frozen=True)
class SheetExtent:
    cells: int  # cells holding a value
    first_row: int = 0  # 1-based, as the spreadsheet shows it; 0 when the sheet is empty
    last_row: int = 0
    first_column: int = 0
    last_column: int = 0

    @property
    def area(self) -> int:
        return (self.last_row - self.first_row + 1) * (self.last_column - self.first_column + 1) if self.cells else 0

    @property
    def range_text(self) -> str:
        return f"{_letters(self.first_column)}{self.first_row}:{_letters(self.last_column)}{self.last_row}"


@dataclasses.dataclass(frozen=True)
class WorkbookOutline:
    sheet_names: tuple[str, ...]
    first_sheet: SheetExtent
    other_sheets_with_data: tuple[str, ...]


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _letters(number: int) -> str:
    text = ""
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(65 + rest) + text
    return text


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, part path) of every sheet, in the workbook's order (the order readers number them)."""

    def rels_of(part: str) -> dict[str, str]:
        folder, name = posixpath.split(part)
        rels = ET.fromstring(archive.read(posixpath.join(folder, "_rels", f"{name}.rels")))
        return {
            rel.get("Id"): posixpath.normpath(rel.get("Target").lstrip("/") if rel.get("Target").startswith("/") else posixpath.join(folder, rel.get("Target")))
            for rel in rels.iter(f"{_MAIN_NS}Relationship")
        }

    workbook = next((t for t in rels_of("").values() if t.endswith(".xml")), "xl/workbook.xml")
    targets = rels_of(workbook)
    sheets = []
    for sheet in ET.fromstring(archive.read(workbook)).iter():
        if sheet.tag.rsplit("}", 1)[-1] == "sheet":
            rel_id = next((v for k, v in sheet.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
            sheets.append((sheet.get("name", ""), targets.get(rel_id, "")))
    return sheets


def _value_cells(stream) -> Iterator[list[tuple[bytes, bytes]]]:
    """(column letters, row digits) of the cells holding a value, a list per chunk read (a sheet's XML can be
    gigabytes; a list per chunk, not a call per cell: about 1.3 s per million cells, where reading them takes 0.6 s)."""
    pending = b""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        buffer = pending + chunk
        cut = buffer.rfind(b"<") if chunk else -1  # a tag cut by the chunk's end is matched with the next chunk
        found = _CELL.findall(buffer, 0, cut if cut >= 0 else len(buffer))
        yield [(column, row) for column, row, closed in found if not closed]
        if not chunk:
            return
        pending = buffer[cut:] if cut >= 0 else b""


def _extent(archive: zipfile.ZipFile, part: str, stop_at_first: bool = False) -> SheetExtent:
    """The cells holding a value in one sheet part."""
    if part not in archive.NameToInfo:
        return SheetExtent(cells=0)  # a chart sheet or a dangling reference: no cells
    cells, rows, columns = 0, [1 << 30, 0], [1 << 30, 0]
    with archive.open(part) as stream:
        for found in _value_cells(stream):
            if not found:
                continue
            cells += len(found)
            numbers = [int(row) for _, row in found]
            letters = [_column_number(letter) for letter in {column for column, _ in found}]
            rows = [min(rows[0], min(numbers)), max(rows[1], max(numbers))]
            columns = [min(columns[0], min(letters)), max(columns[1], max(letters))]
            if stop_at_first:
                break
    return SheetExtent(cells, rows[0], rows[1], columns[0], columns[1]) if cells else SheetExtent(cells=0)


def outline(data: bytes) -> WorkbookOutline:
    """Sheets and the first sheet's extent; raises WorkbookError for a workbook no reader should be given."""
    if not data:
        raise WorkbookError("is empty (0 bytes): expected a workbook")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = _sheet_parts(archive)
            if not sheets:
                raise WorkbookError("is not a workbook: it lists no sheets")
            first = _extent(archive, sheets[0][1])
            others = tuple(name for name, part in sheets[1:] if _extent(archive, part, stop_at_first=True).cells)
    except (zipfile.BadZipFile, KeyError, ET.ParseError, EOFError, ValueError) as error:
        if isinstance(error, WorkbookError):
            raise
        if data.startswith(OLE_COMPOUND_FILE):
            raise WorkbookError(
                "is a password-protected (encrypted) workbook or an old .xls, not an .xlsx: save it as .xlsx without a password"
            ) from None
        raise WorkbookError(f"is not a readable workbook (corrupt or truncated: {error})") from None
    if first.area > MAX_SPARSE_CELLS and first.area > SPARSE_FACTOR * first.cells:
        raise WorkbookError(
            f"its first sheet {sheets[0][0]!r} spans {first.range_text} ({first.area:,} cells) for {first.cells:,} cell(s) "
            "holding a value: a reader would need memory for every cell of that range; delete the stray cells far "
            "from the data (or copy the data into a new workbook)"
        )
    return WorkbookOutline(tuple(name for name, _ in sheets), first, others)
