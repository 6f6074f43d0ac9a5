"""ce_compliance.xlsx and the clinics' workbooks, read back with openpyxl; the rules catalog's copy; the
registry of extracts driving every output; costs in the configured currency."""

import datetime as dt
import hashlib
import html
import json
import zipfile

import duckdb
import openpyxl
import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.extracts import SITE_EXTRACTS, UTF8_BOM, Extract
from reports.publication import load_publication, record_history
from reports.site import publish
from reports.workbook import EXCEL_ROWS, WORKBOOK, SiteWorkbooks, _finish, _Formats, _sheets, _write_cells, write_workbook
from tests.publish_fixtures import AS_OF, FORMULA_TITLE, GENERATED_AT, RULES_CATALOG, TODAY, build_warehouse, publish_warehouse

LEADING_ZEROS, DOTTED_LICENSE = "000123", "149.001224"  # what Excel turns into 123 and 149.001224 from a CSV


@pytest.fixture
def warehouse(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        for table in ("clinician_compliance", "requirement_progress", "credit_ledger", "learning_plan_status"):
            con.execute(f"update {table} set employee_id = ? where employee_id = 'E001'", [LEADING_ZEROS])
            con.execute(f"update {table} set license_number = ? where employee_id = ?", [DOTTED_LICENSE, LEADING_ZEROS])
    return warehouse


def sheet_rows(path, sheet):
    workbook = openpyxl.load_workbook(path)
    header, *rows = workbook[sheet].iter_rows(values_only=True)
    return [dict(zip(header, row)) for row in rows]


def test_cells_keep_their_types(warehouse, tmp_path):
    site = publish_warehouse(warehouse, tmp_path / "out").site
    workbook = openpyxl.load_workbook(site / WORKBOOK)
    assert workbook.sheetnames == [e.name for e in SITE_EXTRACTS]
    compliance = {r["employee_id"]: r for r in sheet_rows(site / WORKBOOK, "clinician_compliance")}
    person = compliance[LEADING_ZEROS]
    assert person["license_number"] == DOTTED_LICENSE  # text, as written
    assert person["as_of_date"] == dt.datetime(2026, 11, 25) and isinstance(person["cycle_end"], dt.datetime)  # dates
    assert (person["required_hours"], person["hours_remaining"], person["days_remaining"]) == (24, 0, person["days_remaining"])
    assert isinstance(person["days_remaining"], int) and compliance["E003"]["days_remaining"] == -56
    assert compliance["E003"]["counted_hours"] == 1  # the exact decimal sum, as a number
    assert compliance["E005"]["required_hours"] is None  # NULL is an empty cell
    cell = workbook["clinician_compliance"]["B2"]
    assert (cell.value, cell.data_type) == (LEADING_ZEROS, "s")
    assert workbook["clinician_compliance"]["A2"].number_format == "yyyy-mm-dd"

    ledger = {r["course_id"]: r for r in sheet_rows(site / WORKBOOK, "credit_ledger")}
    assert [ledger[c]["hours"] for c in ("A-1", "A-2", "A-3", "A-0", "M-1")] == [0.7, 0.1, 0.2, 3.25, 10]
    assert ledger["H-5"]["course_title"] == FORMULA_TITLE and ledger["H-5"]["license_number"] == "-0123"  # text, never a formula
    assert isinstance(ledger["M-1"]["source_row"], int)
    assert {r["met"] for r in sheet_rows(site / WORKBOOK, "requirement_progress")} == {True, False}

    plans = workbook["learning_plans"]
    cost = plans.cell(row=3, column=[c.value for c in plans[1]].index("cost") + 1)
    assert cost.value == 45.5 and cost.number_format == '#,##0.00 "EUR"'  # the configured currency


def test_every_sheet_has_a_frozen_header_and_a_filter(warehouse, tmp_path):
    site = publish_warehouse(warehouse, tmp_path / "out").site
    workbook = openpyxl.load_workbook(site / WORKBOOK)
    for extract in SITE_EXTRACTS:
        sheet = workbook[extract.name]
        assert [c.value for c in sheet[1]] == list(extract.columns)
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=sheet.max_row, column=len(extract.columns)).coordinate}"


def test_a_clinics_workbook_holds_its_rows_of_the_compliance_sheet(warehouse, tmp_path):
    site = publish_warehouse(warehouse, tmp_path / "out").site
    north = sheet_rows(site / "clinics/north-clinic.xlsx", "clinician_compliance")
    assert [r["employee_id"] for r in north] == [LEADING_ZEROS, "E002", "E005"]
    whole = sheet_rows(site / WORKBOOK, "clinician_compliance")
    assert north == [r for r in whole if r["clinic"] == "North Clinic"]
    assert 'href="north-clinic.xlsx"' in (site / "clinics/north-clinic.html").read_text(encoding="utf-8")


def test_reruns_give_byte_identical_workbooks_and_csvs(warehouse, tmp_path):
    first = publish_warehouse(warehouse, tmp_path / "first").site
    second = publish_warehouse(warehouse, tmp_path / "second", run_id="run-2").site
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.suffix in (".csv", ".xlsx", ".yaml"))
    assert len(files) == len(SITE_EXTRACTS) + 1 + 1 + 2 * 2  # extracts, workbook, rules, 2 clinics' CSV and workbook
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for name in files:
        if name.suffix == ".csv":
            assert (first / name).read_bytes().startswith(UTF8_BOM)


def test_the_site_carries_the_rules_catalog_it_was_computed_with(warehouse, tmp_path):
    site = publish_warehouse(warehouse, tmp_path / "out").site
    assert (site / "rules.yaml").read_bytes() == RULES_CATALOG  # the file's bytes, byte-order mark and CRLF included
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rules_catalog"] == {"path": "rules.yaml", "version": "2026.11", "sha256": hashlib.sha256(RULES_CATALOG).hexdigest()}
    outputs = {o["file"]: o for o in manifest["outputs"]}
    assert set(outputs) == {*(e.file for e in SITE_EXTRACTS), WORKBOOK}
    assert outputs[WORKBOOK]["rows"] == sum(outputs[e.file]["rows"] for e in SITE_EXTRACTS)
    assert outputs[WORKBOOK]["sha256"] == hashlib.sha256((site / WORKBOOK).read_bytes()).hexdigest()
    overview = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    assert 'href="ce_compliance.xlsx"' in overview and 'href="rules.yaml"' in overview


def test_an_extract_declared_once_is_in_the_csv_the_workbook_the_manifest_and_the_downloads(warehouse, tmp_path):
    headcount = Extract(
        name="clinic_headcount",
        description="licenses per clinic",
        columns=("clinic", "licenses"),
        order=("clinic",),
        query="select clinic, count(*)::integer as licenses from clinician_compliance group by clinic",
    )
    with duckdb.connect(str(warehouse)) as con:
        record_history(con, AS_OF, "run-1", GENERATED_AT)
        publication = load_publication(con, AS_OF, "run-1", GENERATED_AT, extracts=(*SITE_EXTRACTS, headcount))
        site = publish(publication, tmp_path / "out", None, TODAY).site
    assert (site / "clinic_headcount.csv").read_bytes() == UTF8_BOM + b"clinic,licenses\nNorth Clinic,3\nSt. Mary's / Eastside,3\n"
    assert sheet_rows(site / WORKBOOK, "clinic_headcount") == [
        {"clinic": "North Clinic", "licenses": 3}, {"clinic": "St. Mary's / Eastside", "licenses": 3},
    ]  # fmt: skip
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    assert {"file": "clinic_headcount.csv", "rows": 2} == {k: v for k, v in next(o for o in manifest["outputs"] if o["file"] == "clinic_headcount.csv").items() if k != "sha256"}
    overview = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    assert 'href="clinic_headcount.csv"' in overview and "licenses per clinic (2 rows)" in overview


def test_an_extract_longer_than_a_sheet_goes_on_continuation_sheets(tmp_path):
    numbers = Extract(name="numbers", description="", columns=("n",), order=("n",), query="")
    rows = EXCEL_ROWS + 1  # the header takes one of the sheet's rows: two rows are left for a second sheet
    frames = pl.DataFrame({"n": range(rows)}).iter_slices(1 << 18)
    assert write_workbook(tmp_path / "n.xlsx", [(numbers, frames)], AS_OF, "USD") == rows
    workbook = openpyxl.load_workbook(tmp_path / "n.xlsx", read_only=True)
    assert workbook.sheetnames == ["numbers", "numbers (2)"]
    assert [workbook["numbers"].max_row, workbook["numbers (2)"].max_row] == [EXCEL_ROWS, 3]
    assert list(workbook["numbers (2)"].values) == [("n",), (EXCEL_ROWS - 1,), (EXCEL_ROWS,)]


MIXED = Extract(
    name="mixed", description="", columns=("text", "flag", "day", "count", "hours", "ratio", "cost"), order=(), query="", money=("cost",)
)
TEXT = st.lists(st.sampled_from([*"aZ09 &<>\"'_x", "_x0041_", "\t", "\n", "\u00a0", "\u3000", "é", "€", "\U0001f600"]), max_size=8).map("".join)
MIXED_ROW = st.fixed_dictionaries({
    "text": st.none() | TEXT,
    "flag": st.none() | st.booleans(),
    "day": st.none() | st.dates(dt.date(1899, 1, 1), dt.date(9999, 12, 31)),
    "count": st.none() | st.integers(-(10**15), 10**15),
    "hours": st.none() | st.decimals(-(10**6), 10**6, places=4, allow_nan=False),
    "ratio": st.none() | st.floats(allow_nan=False, allow_infinity=False),
    "cost": st.none() | st.decimals(0, 10**6, places=2, allow_nan=False),
})  # fmt: skip
MIXED_SCHEMA = {"text": pl.String, "flag": pl.Boolean, "day": pl.Date, "count": pl.Int64, "hours": pl.Decimal(18, 4), "ratio": pl.Float64, "cost": pl.Decimal(18, 2)}


def _cells_through_xlsxwriter(path, frame, extract):
    """The workbook as xlsxwriter's own calls write it, a cell at a time."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": dt.datetime.combine(AS_OF, dt.time())})
    formats = _Formats(workbook, "USD")
    sheet = next(_sheets(workbook, formats, extract))
    _write_cells(sheet, 1, frame, extract, formats)
    _finish(sheet, frame.height + 1, extract)
    workbook.close()


def _parts(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(MIXED_ROW, max_size=40))
def test_rows_built_at_once_are_the_bytes_xlsxwriter_writes_a_cell_at_a_time(rows, tmp_path):
    frame = pl.DataFrame(rows, schema=MIXED_SCHEMA)
    write_workbook(tmp_path / "built.xlsx", [(MIXED, [frame])], AS_OF, "USD")
    _cells_through_xlsxwriter(tmp_path / "cells.xlsx", frame, MIXED)
    assert _parts(tmp_path / "built.xlsx") == _parts(tmp_path / "cells.xlsx")


def test_control_characters_and_long_strings_are_written_by_xlsxwriter_itself(tmp_path):
    frame = pl.DataFrame({"text": ["bell\x07", "fine", "x" * 20_000, None], "flag": [True, None, False, None]})
    extract = Extract(name="odd", description="", columns=("text", "flag"), order=(), query="")
    write_workbook(tmp_path / "built.xlsx", [(extract, [frame])], AS_OF, "USD")
    _cells_through_xlsxwriter(tmp_path / "cells.xlsx", frame, extract)
    assert _parts(tmp_path / "built.xlsx") == _parts(tmp_path / "cells.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "built.xlsx")["odd"].values)
    assert rows[1:] == [("bell_x0007_", True), ("fine", None), ("x" * 20_000, False)]  # Excel reads _x0007_ as the character


def test_costs_show_the_configured_currency_on_the_pages(warehouse, tmp_path):
    site = publish_warehouse(warehouse, tmp_path / "out").site  # the fixture's plans are costed in EUR
    overview = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    assert "Cost of every plan (EUR)" in overview and "Cost each (EUR)" in overview
    north = html.unescape((site / "clinics/north-clinic.html").read_text(encoding="utf-8"))
    assert "Plan: 2 courses, 5 h, cost 64.50 EUR" in north and "3 h live online · 45.50 EUR · by 2027-01-31" in north
    assert "1,200.00 EUR" in north and "within, 1,135.50 EUR left" in north  # the clinic's budget


def test_a_streamed_extract_too_large_for_a_workbook_is_left_to_its_csv_with_a_note(tmp_path):
    ledger = Extract(name="ledger", description="rows", columns=("n",), order=("n",), query="select 1 as n", streams=True)
    small = Extract(name="small", description="rows", columns=("n",), order=("n",), query="select 1 as n")
    frames = [pl.DataFrame({"n": list(range(5))})]
    path = tmp_path / "book.xlsx"
    written = write_workbook(path, [(ledger, frames), (small, frames)], AS_OF, "USD", rows_of={"ledger": 5, "small": 5}, streamed_rows_limit=4)
    book = openpyxl.load_workbook(path, read_only=True)
    assert list(book["ledger"].iter_rows(values_only=True)) == [
        ("note",), ("ledger has 5 rows, more than this workbook carries (4): they are all in ledger.csv, beside this workbook, in the same columns and order.",),
    ]
    assert len(list(book["small"].iter_rows(values_only=True))) == 6 and written == 5  # not streamed: whole


def test_a_workbook_process_that_fails_fails_the_publication_naming_the_workbooks_and_the_error(warehouse, tmp_path):
    site = tmp_path / "site"
    (site / "clinics").mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        record_history(con, AS_OF, "run-1", GENERATED_AT)
        publication = load_publication(con, AS_OF, "run-1", GENERATED_AT)
        with SiteWorkbooks(publication, site, clinic_slugs={"North Clinic": "north-clinic"}) as workbooks:  # one clinic unnamed
            with pytest.raises(RuntimeError, match=r"^writing clinic workbooks failed \(exit 1\): KeyError: \"St. Mary's / Eastside\"\nTraceback"):
                workbooks.result()
    assert sorted(p.name for p in site.iterdir()) == ["ce_compliance.xlsx", "clinics"]  # the frames are gone
