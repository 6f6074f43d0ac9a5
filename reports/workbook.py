"""Excel workbooks of the extracts: `ce_compliance.xlsx` (a sheet per extract) and one per clinic.

What a CSV cannot tell Excel, a workbook's cells do: ids and license numbers are text (`000123` and
`149.001224` stay as written), dates are dates, hours, days and costs are numbers (costs in the configured
currency's format), booleans are TRUE/FALSE, NULL is an empty cell. Text is stored as text, never as a
formula, so the CSVs' `'` prefix is not needed here. Each sheet has its header row frozen and a filter on
it. A sheet holds at most Excel's 1,048,575 data rows; the rest of an extract goes on continuation
sheets `<name> (2)`, `<name> (3)`, ... with the same header. The credit ledger of a large organisation is
left to its CSV (STREAMED_ROWS_IN_WORKBOOK).

A site's workbooks are written by two more processes (`SiteWorkbooks`), one for `ce_compliance.xlsx`
and one for the clinics' workbooks: xlsxwriter writes each cell in Python, holding the interpreter's lock,
so on threads beside the pages they only took turns with them. The frames go to those processes as Arrow
IPC files in a hidden folder of the site being built, which is removed once the workbooks are written.

The workbook is written in xlsxwriter's constant_memory mode (each row goes to disk as it is written), so
the credit ledger's millions of rows never sit in memory, and its document properties carry a creation
time derived from the as-of date, so that the same rows give byte-identical files.
(This is the output side; pipelines/workbooks.py reads the workbooks that providers deliver.)
"""

from __future__ import annotations

import datetime as dt
import pathlib
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import polars as pl
import xlsxwriter
import xlsxwriter.format
import xlsxwriter.worksheet
from xlsxwriter.utility import xl_col_to_name

from reports.extracts import CLINICIAN_COMPLIANCE, Extract

if TYPE_CHECKING:
    from reports.publication import Publication

WORKBOOK = "ce_compliance.xlsx"
EXCEL_ROWS = 1_048_576  # per sheet, the header included
# The credit ledger at 100k clinicians is 5.7M rows of 21 columns: in a workbook, six sheets and, at the
# 700k cells a second that `_rows_xml` writes, near three minutes, against seconds for its CSV. So an extract
# declared `streams` (the ledger) goes into the workbook only up to this many rows (about 5M cells); above it,
# its sheet says where its rows are (the CSV beside the workbook).
STREAMED_ROWS_IN_WORKBOOK = 250_000
_DATE_FORMAT = "yyyy-mm-dd"
_ROWS_AT_ONCE = 50_000  # rows whose cells' XML is built at once (bounds that XML's memory to about 100 MB)
_LONGEST_PLAIN_STRING = 16_383  # up to this, xlsxwriter writes a string as it is (longer ones it may cut)
_FRAMES = ".workbook-frames"  # in the site being built: hidden, so never published


class SiteWorkbooks:
    """`ce_compliance.xlsx` (a sheet per extract) and `clinics/<slug>.xlsx` (each clinic's rows of
    clinician_compliance) in `directory`, written by two more processes, one each, started at once; `result`
    waits for them. Leaving the `with` block stops whichever still runs and removes the frames."""

    def __init__(self, publication: Publication, directory: pathlib.Path, clinic_slugs: Mapping[str, str]):
        self.frames = directory / _FRAMES
        self.frames.mkdir()
        self._running: dict[str, subprocess.Popen] = {}
        try:
            rows_of = {extract.name: publication.rows_of(extract) for extract in publication.extracts}
            for extract in publication.extracts:
                if not (extract.streams and rows_of[extract.name] > STREAMED_ROWS_IN_WORKBOOK):
                    pl.concat(list(publication.batches(extract))).write_ipc(self.frames / f"{extract.name}.arrow")
            as_of_date, currency = publication.as_of_date, publication.currency
            jobs = {
                WORKBOOK: (self.frames, directory / WORKBOOK, publication.extracts, as_of_date, currency, rows_of),
                "clinic workbooks": (self.frames, directory / "clinics", as_of_date, currency, dict(clinic_slugs)),
            }
            for i, (name, job) in enumerate(jobs.items()):
                self._running[name] = _start(self.frames / f"job-{i}.pickle", name, job)
        except BaseException:
            self.__exit__()
            raise

    def result(self) -> int:
        """The data rows of `ce_compliance.xlsx`, once both processes are done."""
        rows = {name: _result(name, process) for name, process in self._running.items()}
        return rows[WORKBOOK]

    def __enter__(self) -> SiteWorkbooks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self._running.values():
            if process.poll() is None:
                process.kill()
            process.communicate()
        shutil.rmtree(self.frames, ignore_errors=True)


def _start(job: pathlib.Path, name: str, arguments: tuple) -> subprocess.Popen:
    # A process of its own by `python -m`, not multiprocessing's spawn, which would import the caller's main
    # script once more in the child (2.5 s for `ce-compliance`, and whatever a script does outside a main guard).
    job.write_bytes(pickle.dumps((name, arguments)))
    return subprocess.Popen([sys.executable, "-m", "reports.workbook", str(job)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(name: str, process: subprocess.Popen) -> int:
    out, err = process.communicate()
    if process.returncode != 0:
        said = err.decode(errors="replace").strip()
        error = said.splitlines()[-1] if said else "it said nothing"
        raise RuntimeError(f"writing {name} failed (exit {process.returncode}): {error}\n{said[-4000:]}")
    return int(out)


def _run_job(job: pathlib.Path) -> int:
    """In the process `_start` started: the job's workbooks, from the frames SiteWorkbooks saved."""
    name, arguments = pickle.loads(job.read_bytes())
    if name == WORKBOOK:
        frames, path, extracts, as_of_date, currency, rows_of = arguments
        return write_workbook(path, [(e, _frames_of(frames, e)) for e in extracts], as_of_date, currency, rows_of=rows_of)
    frames, clinics, as_of_date, currency, clinic_slugs = arguments
    [compliance] = _frames_of(frames, CLINICIAN_COMPLIANCE)
    for (clinic,), people in compliance.partition_by("clinic", as_dict=True, maintain_order=True).items():
        write_workbook(clinics / f"{clinic_slugs[clinic]}.xlsx", [(CLINICIAN_COMPLIANCE, [people])], as_of_date, currency)
    return compliance.height


def _frames_of(frames: pathlib.Path, extract: Extract) -> list[pl.DataFrame]:
    """The rows SiteWorkbooks saved for `extract`; none for a sheet that is a note."""
    path = frames / f"{extract.name}.arrow"
    return [pl.read_ipc(path)] if path.exists() else []


def write_workbook(
    path: pathlib.Path,
    sheets: Iterable[tuple[Extract, Iterable[pl.DataFrame]]],
    as_of_date: dt.date,
    currency: str,
    rows_of: Mapping[str, int] | None = None,
    streamed_rows_limit: int = STREAMED_ROWS_IN_WORKBOOK,
) -> int:
    """One workbook at `path`, a sheet (or more) per extract, each the frames' rows in order; returns the
    data rows written over all sheets. `rows_of` (extract name -> its rows) names the streamed extracts too
    large for a workbook (above `streamed_rows_limit`): their sheet holds a note instead."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": dt.datetime.combine(as_of_date, dt.time())})
    formats = _Formats(workbook, currency)
    rows = 0
    try:
        for extract, frames in sheets:
            too_many = (rows_of or {}).get(extract.name, 0)
            if extract.streams and too_many > streamed_rows_limit:
                _write_note(workbook, formats, extract, too_many, streamed_rows_limit)
            else:
                rows += _write_extract(workbook, formats, extract, frames)
    finally:
        workbook.close()
    return rows


def _write_note(workbook: xlsxwriter.Workbook, formats: _Formats, extract: Extract, rows: int, limit: int) -> None:
    sheet = workbook.add_worksheet(extract.name)
    sheet.set_column(0, 0, 120)
    sheet.write_string(0, 0, "note", formats.header)
    sheet.write_string(
        1, 0,
        f"{extract.name} has {rows:,} rows, more than this workbook carries ({limit:,}): "
        f"they are all in {extract.file}, beside this workbook, in the same columns and order.",
    )  # fmt: skip


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook, currency: str):
        self.header = workbook.add_format({"bold": True, "bottom": 1})
        self.date = workbook.add_format({"num_format": _DATE_FORMAT})
        # The code after the amount, as the pages write it: 1,234.50 USD. Quoted, so no letter is a format code.
        self.money = workbook.add_format({"num_format": f'#,##0.00 "{currency}"'})
        # Their indexes in a fixed order, not in the order of first use, so either way of writing cells gives them.
        for used in (self.header, self.date, self.money):
            used._get_xf_index()


def _write_extract(
    workbook: xlsxwriter.Workbook, formats: _Formats, extract: Extract, frames: Iterable[pl.DataFrame]
) -> int:
    sheets = _sheets(workbook, formats, extract)
    sheet, row = next(sheets), 1
    written = 0
    for frame in frames:
        for rows in frame.select(extract.columns).iter_slices(_ROWS_AT_ONCE):
            while rows.height:
                if row == EXCEL_ROWS:
                    _finish(sheet, row, extract)
                    sheet, row = next(sheets), 1
                on_this_sheet, rows = rows.head(EXCEL_ROWS - row), rows.slice(EXCEL_ROWS - row)
                xml = _rows_xml(on_this_sheet, row, extract, formats)
                if xml is None:
                    _write_cells(sheet, row, on_this_sheet, extract, formats)
                else:
                    _write_rows_xml(sheet, row, *xml)
                row += on_this_sheet.height
                written += on_this_sheet.height
    _finish(sheet, row, extract)
    return written


def _write_cells(
    sheet: xlsxwriter.worksheet.Worksheet, first_row: int, frame: pl.DataFrame, extract: Extract, formats: _Formats
) -> None:
    """The frame's rows from `first_row` on, a cell at a time through xlsxwriter's own calls."""
    writers = [_cell_writer(name, dtype, extract, formats) for name, dtype in frame.schema.items()]
    # Decimals as floats in one vectorised cast: the nearest double of 3.3000 is what Excel shows as 3.3.
    frame = frame.with_columns(
        pl.col(pl.Decimal).cast(pl.Float64),
        *(_excel_serial(name) for name, dtype in frame.schema.items() if dtype == pl.Date),
    )
    for row, values in enumerate(frame.iter_rows(), start=first_row):
        for column, value in enumerate(values):
            if value is not None:
                writers[column](sheet, row, column, value)


def _rows_xml(
    frame: pl.DataFrame, first_row: int, extract: Extract, formats: _Formats
) -> tuple[str, int | None] | None:
    """The XML xlsxwriter's constant_memory mode writes for the frame's rows from `first_row` on, built a
    column at a time by Polars, and the last row that has a cell; None when a value needs what only
    xlsxwriter's own calls do (a control character, a string over Excel's limit, a type not here).

    Why not xlsxwriter's calls: they cost about 5 us a cell on this project's machine (ce_compliance.xlsx at
    100k licenses is 8M cells: 45 s, the publication's longest part; 11 s this way). tests/test_publish_workbook.py
    holds this XML to the bytes xlsxwriter's own calls write, but for one case: xlsxwriter writes a string
    that starts with `<r>` and ends with `</r>` unescaped, as rich text; here it is text like any other."""
    row_number = (pl.int_range(pl.len()) + (first_row + 1)).cast(pl.String)
    texts = [name for name, dtype in frame.schema.items() if _is_text(dtype)]
    if texts:
        [needs_xlsxwriter] = frame.select(
            pl.any_horizontal(
                *(pl.col(name).cast(pl.String).str.contains(r"[\x00-\x08\x0b-\x1f]").any() for name in texts),
                *(pl.col(name).cast(pl.String).str.len_chars().max() > _LONGEST_PLAIN_STRING for name in texts),
            )
        ).row(0)
        if needs_xlsxwriter:
            return None
    cells, formatted = [], {}
    for column, (name, dtype) in enumerate(frame.schema.items()):
        opening = pl.concat_str(pl.lit(f'<c r="{xl_col_to_name(column)}'), row_number, pl.lit('"'))
        style = _style(name, dtype, extract, formats)
        if _is_text(dtype):
            text = pl.col(name).cast(pl.String).str.replace_all(r"(_x[0-9a-fA-F]{4}_)", "_x005F$1")
            preserve = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
            escaped = text.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            escaped = escaped.str.replace_all(">", "&gt;", literal=True)
            tags = (pl.lit(f'{style} t="inlineStr"><is><t'), preserve, pl.lit(">"), escaped, pl.lit("</t></is></c>"))
            cells.append(pl.concat_str(opening, *tags))
            continue
        if dtype == pl.Boolean:
            value = pl.col(name).cast(pl.UInt8).cast(pl.String)
            cells.append(pl.concat_str(opening, pl.lit(' t="b"><v>'), value, pl.lit("</v></c>")))
            continue
        if dtype == pl.Date:
            value = _excel_serial(name).cast(pl.String)
        elif dtype.is_integer():
            if (frame[name].abs().max() or 0) >= 10**16:  # %.16G writes these with an exponent
                return None
            value = pl.col(name).cast(pl.String)
        elif dtype.is_float() or dtype.is_decimal():
            # As xlsxwriter formats them (%.16G of the double), in Python: Polars prints the shortest repr instead.
            values = frame[name].cast(pl.Float64)
            if not values.is_finite().fill_null(True).all():
                return None
            formatted[name] = pl.Series(name, [None if v is None else f"{v:.16G}" for v in values], pl.String)
            value = pl.col(name)
        else:
            return None
        cells.append(pl.concat_str(opening, pl.lit(f"{style}><v>"), value, pl.lit("</v></c>")))
    rows = (
        frame.with_columns(*formatted.values())
        .select(row_number.alias("row"), pl.concat_str(cells, ignore_nulls=True).alias("cells"))
        .filter(pl.col("cells") != "")
    )
    if rows.is_empty():
        return "", None
    xml = rows.select(pl.concat_str(pl.lit('<row r="'), "row", pl.lit('">'), "cells", pl.lit("</row>")).str.join(""))
    return xml.item(), int(rows["row"][-1]) - 1


def _write_rows_xml(sheet: xlsxwriter.worksheet.Worksheet, first_row: int, xml: str, last_row: int | None) -> None:
    """Put rows built by `_rows_xml` where xlsxwriter puts the rows it writes (its internals, at the pinned
    version: the test that compares the bytes fails first if they move)."""
    sheet._write_single_row(first_row)  # the row xlsxwriter still holds (the header) goes first
    if last_row is not None:
        sheet._check_dimensions(last_row, 0)
        sheet.fh.write(xml)


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical, pl.Null) or isinstance(dtype, pl.Enum)


def _style(name: str, dtype: pl.DataType, extract: Extract, formats: _Formats) -> str:
    """The cell's format attribute, as xlsxwriter writes it for the column's `_cell_format`."""
    cell_format = _cell_format(name, dtype, extract, formats)
    return "" if cell_format is None else f' s="{cell_format._get_xf_index()}"'


def _cell_format(name: str, dtype: pl.DataType, extract: Extract, formats: _Formats) -> xlsxwriter.format.Format | None:
    """The format a column's cells carry: dates as dates, costs in the configured currency, others none."""
    if dtype == pl.Date:
        return formats.date
    if name in extract.money:
        return formats.money
    return None


def _excel_serial(column: str) -> pl.Expr:
    """Dates as the serial day numbers Excel stores, the number `write_datetime` computes (days after
    1899-12-31, one more from 1900-03-01 on for Excel's 29 February 1900), for a whole column at once."""
    days = (pl.col(column) - pl.lit(dt.date(1899, 12, 31))).dt.total_days()
    return pl.when(days > 59).then(days + 1).otherwise(days).alias(column)


def _sheets(workbook: xlsxwriter.Workbook, formats: _Formats, extract: Extract) -> Iterator[xlsxwriter.worksheet.Worksheet]:
    """The extract's first sheet, then its continuation sheets, each with its header written and frozen."""
    number = 1
    while True:
        sheet = workbook.add_worksheet(extract.name if number == 1 else f"{extract.name} ({number})")
        for column, name in enumerate(extract.columns):
            sheet.set_column(column, column, max(len(name) + 2, 12))  # characters: the header shows whole
            sheet.write_string(0, column, name, formats.header)
        sheet.freeze_panes(1, 0)
        yield sheet
        number += 1


def _finish(sheet: xlsxwriter.worksheet.Worksheet, rows: int, extract: Extract) -> None:
    """The filter over the header and the `rows - 1` data rows below it."""
    sheet.autofilter(0, 0, rows - 1, len(extract.columns) - 1)


Writer = Callable[[xlsxwriter.worksheet.Worksheet, int, int, object], object]


def _cell_writer(name: str, dtype: pl.DataType, extract: Extract, formats: _Formats) -> Writer:
    """How a column's cells are written, from its type in the warehouse (the query casts it)."""
    if dtype == pl.Boolean:
        return lambda sheet, row, column, value: sheet.write_boolean(row, column, value)
    cell_format = _cell_format(name, dtype, extract, formats)
    if cell_format is not None or dtype.is_numeric():  # dates, costs, numbers (a date: its serial day number by now)
        return lambda sheet, row, column, value: sheet.write_number(row, column, value, cell_format)
    return lambda sheet, row, column, value: sheet.write_string(row, column, str(value))


if __name__ == "__main__":
    print(_run_job(pathlib.Path(sys.argv[1])))
