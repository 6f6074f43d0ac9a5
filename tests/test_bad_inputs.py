"""The bad-input corpus (tests/bad_inputs/) run through the installed command line, as an operator would.

Every file has an exact expected outcome: rejected with a reason naming file and column, or read
with exact accepted and quarantined counts; the run still publishes and reconciliation holds.
"""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest

from tests.support import query

CORPUS = pathlib.Path(__file__).parent / "bad_inputs"
BIG_FILE_ROWS = 520_000  # ~50 MB of CSV

# file -> (status, rows_read, rows_accepted, rows_quarantined)
EXPECTED_FILES = {
    "roster/roster.csv": ("accepted", 10, 7, 3),
    "roster/roster_windows1252.csv": ("accepted", 1, 1, 0),
    "providers/stateboard/board.csv": ("accepted", 17, 6, 11),
    "providers/stateboard/header_only.csv": ("accepted", 0, 0, 0),
    "providers/stateboard/empty.csv": ("rejected", 0, 0, 0),
    "providers/stateboard/semicolons.csv": ("rejected", 0, 0, 0),
    "providers/stateboard/duplicated_header.csv": ("rejected", 0, 0, 0),
    "providers/stateboard/not_text.csv": ("rejected", 0, 0, 0),
    "providers/stateboard/big.csv": ("accepted", BIG_FILE_ROWS, BIG_FILE_ROWS, 0),
    "providers/lms/lms.csv": ("accepted", 5, 3, 2),
    # Files a reader refuses or that are not ours to read: each rejected with its reason, never a stop.
    "providers/stateboard/utf16.csv": ("rejected", 0, 0, 0),
    "providers/stateboard/utf16_no_bom.csv": ("rejected", 0, 0, 0),
    "providers/stateboard/workbook_named.csv": ("rejected", 0, 0, 0),  # a workbook under a .csv name
    "providers/stateboard/unclosed_quote.csv": ("rejected", 0, 0, 0),  # the reader's error quotes the line: not published
    "providers/stateboard/cr_only.csv": ("accepted", 2, 2, 0),
    "providers/stateboard/extra_field.csv": ("rejected", 0, 0, 0),  # a title with a stray comma in row 3
    "providers/stateboard/mixed_line_endings.csv": ("rejected", 0, 0, 0),  # CRLF, then a CR alone
    "providers/stateboard/comma_decimals.csv": ("accepted", 3, 1, 2),
    "providers/stateboard/linked.csv": ("rejected", 0, 0, 0),  # made by the fixture: a link to a file outside
    "providers/stateboard/caf\\xe9.csv": ("rejected", 0, 0, 0),  # made by the fixture: a Latin-1 name
    "providers/stateboard/pipe.csv": ("rejected", 0, 0, 0),  # made by the fixture: a named pipe, which would block a reader
    "providers/sheets/corrupt.xlsx": ("rejected", 0, 0, 0),
    "providers/sheets/empty.xlsx": ("rejected", 0, 0, 0),
    "providers/sheets/encrypted.xlsx": ("rejected", 0, 0, 0),
    "providers/sheets/huge_range.xlsx": ("rejected", 0, 0, 0),
    "providers/sheets/sheets.xlsx": ("accepted", 3, 2, 1),
    "providers/sheets/data_on_second_sheet.xlsx": ("rejected", 0, 0, 0),  # an empty first sheet 'Cover'
}
OUTSIDE_MARKER = "OUTSIDE-THE-LANDING-FOLDER"
UNREADABLE_MARKER = "UNPUBLISHED-CONTENT"  # in unclosed_quote.csv
# (file, row, check, action) for every row-level finding
EXPECTED_FINDINGS = {
    ("roster/roster.csv", 3, "missing_employee_id", "quarantined"),
    ("roster/roster.csv", 4, "missing_clinic", "quarantined"),
    ("roster/roster.csv", 5, "duplicate_roster_row", "quarantined"),
    ("roster/roster.csv", 6, "missing_license_type", "warned"),
    ("roster/roster.csv", 7, "invalid_license_expiration_date", "warned"),
    ("roster/roster.csv", 11, "implausible_license_number", "warned"),
    ("providers/stateboard/board.csv", 3, "missing_person_key", "quarantined"),
    ("providers/stateboard/board.csv", 4, "invalid_completion_date", "quarantined"),
    ("providers/stateboard/board.csv", 5, "invalid_completion_date", "quarantined"),
    ("providers/stateboard/board.csv", 6, "completion_date_after_as_of", "quarantined"),
    ("providers/stateboard/board.csv", 7, "invalid_hours", "quarantined"),
    ("providers/stateboard/board.csv", 8, "invalid_hours", "quarantined"),
    ("providers/stateboard/board.csv", 9, "hours_out_of_range", "quarantined"),
    ("providers/stateboard/board.csv", 10, "hours_out_of_range", "quarantined"),
    ("providers/stateboard/board.csv", 11, "hours_out_of_range", "quarantined"),
    ("providers/stateboard/board.csv", 12, "unknown_category", "warned"),
    ("providers/stateboard/board.csv", 13, "unknown_delivery", "warned"),
    ("providers/stateboard/board.csv", 14, "unmatched_clinician", "warned"),
    ("providers/stateboard/board.csv", 17, "invalid_completion_date", "quarantined"),
    ("providers/stateboard/board.csv", 18, "invalid_completion_date", "quarantined"),
    ("providers/lms/lms.csv", 4, "unknown_credit_unit", "quarantined"),  # furlongs: its hours are not also called invalid
    ("providers/lms/lms.csv", 5, "invalid_completion_date", "quarantined"),
    ("providers/lms/lms.csv", 6, "duplicate_row", "warned"),
    ("providers/stateboard/comma_decimals.csv", 2, "invalid_hours", "quarantined"),  # 1,5
    ("providers/stateboard/comma_decimals.csv", 3, "invalid_hours", "quarantined"),  # 1,000
    ("providers/sheets/sheets.xlsx", 6, "invalid_hours", "quarantined"),  # row 6 as the sheet shows it: rows 3 and 5 are blank
    ("providers/sheets/sheets.xlsx", None, "other_sheets_ignored", "warned"),
}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad-inputs")
    shutil.copytree(CORPUS, work, dirs_exist_ok=True)
    big = work / "landing" / "providers" / "stateboard" / "big.csv"
    with big.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["License Number", "License State", "First Name", "Last Name", "Course Title", "Course ID", "Provider Name",
                         "Accreditation", "Completion Date", "Hours", "Subject Area", "Delivery Method"])
        for i in range(BIG_FILE_ROWS):
            writer.writerow(["0070001", "TX", "Ana", "Ruiz", f"Bulk course number {i} with a long descriptive title", f"BIG-{i}",
                             "Lone Star CE", "NBCC", f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}", "0.5", "General", "Live"])
    assert big.stat().st_size > 45_000_000
    # What git cannot carry: a link to a file outside the landing folder, a file name that is not UTF-8, a pipe.
    outside = work / "outside.csv"
    outside.write_text(f"{OUTSIDE_MARKER},secret\n1,2\n", encoding="utf-8")
    (work / "landing" / "providers" / "stateboard" / "linked.csv").symlink_to(outside)
    latin1_name = os.fsencode(work / "landing" / "providers" / "stateboard") + b"/caf\xe9.csv"
    shutil.copyfile(work / "landing" / "providers" / "stateboard" / "header_only.csv", os.fsdecode(latin1_name))
    os.mkfifo(work / "landing" / "providers" / "stateboard" / "pipe.csv")
    cli = pathlib.Path(sys.executable).with_name("ce-compliance")
    proc = subprocess.run([str(cli), "run", "--config", str(work / "config.yaml")], capture_output=True, text=True, timeout=600)
    yield work / "config.yaml", proc
    shutil.rmtree(work)  # ~0.7 GB (the big file's ledger and page): not left for the rest of the suite


def test_the_run_finishes_and_publishes_despite_every_bad_file(corpus_run):
    config, proc = corpus_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "did not pass (WARN)" in proc.stdout
    assert (config.parent / "out" / "latest" / "index.html").exists()


def test_every_file_has_its_exact_outcome_and_reconciles(corpus_run):
    config, _ = corpus_run
    files = {r["source_file"]: r for r in query(config, "select * from input_files")}
    assert {f: (r["status"], r["rows_read"], r["rows_accepted"], r["rows_quarantined"]) for f, r in files.items()} == EXPECTED_FILES
    manifest = json.loads(next((config.parent / "out").glob("2026-11-25/manifest.json")).read_text())
    assert {i["file"]: (i["status"], i["rows_read"], i["rows_accepted"], i["rows_quarantined"]) for i in manifest["inputs"]} == EXPECTED_FILES


def test_rejected_files_name_the_file_and_what_was_expected(corpus_run):
    config, _ = corpus_run
    rejected = {r["source_file"]: r for r in query(config, "select * from data_quality_exceptions where action = 'rejected'")}
    assert set(rejected) == {f for f, outcome in EXPECTED_FILES.items() if outcome[0] == "rejected"}
    assert "is empty" in rejected["providers/stateboard/empty.csv"]["message"]
    semicolons = rejected["providers/stateboard/semicolons.csv"]
    assert semicolons["column"] == "course_title" and "expected a header 'Course Title'" in semicolons["message"]
    assert "twice" in rejected["providers/stateboard/duplicated_header.csv"]["message"]
    assert "not UTF-8" in rejected["providers/stateboard/not_text.csv"]["message"]
    assert "UTF-16 LE" in rejected["providers/stateboard/utf16.csv"]["message"]
    assert "NUL bytes" in rejected["providers/stateboard/utf16_no_bom.csv"]["message"]
    assert "zip archive" in rejected["providers/stateboard/workbook_named.csv"]["message"]
    assert "not a readable workbook" in rejected["providers/sheets/corrupt.xlsx"]["message"]
    assert "encrypted" in rejected["providers/sheets/encrypted.xlsx"]["message"]
    assert "is empty" in rejected["providers/sheets/empty.xlsx"]["message"]
    assert "row 3 has 13 fields where the header has 12" in rejected["providers/stateboard/extra_field.csv"]["message"]
    assert "carriage return alone" in rejected["providers/stateboard/mixed_line_endings.csv"]["message"]
    assert "first sheet 'Cover'" in rejected["providers/sheets/data_on_second_sheet.xlsx"]["message"]
    assert "the data is on 'Data'" in rejected["providers/sheets/data_on_second_sheet.xlsx"]["message"]
    assert "A1:XFD1048576" in rejected["providers/sheets/huge_range.xlsx"]["message"]
    assert rejected["providers/stateboard/linked.csv"]["check"] == "symlink_not_followed"
    assert rejected["providers/stateboard/caf\\xe9.csv"]["check"] == "file_name_not_utf8"
    assert rejected["providers/stateboard/pipe.csv"]["check"] == "not_a_regular_file"
    assert all(r["source_file"] in r["message"] and r["source_row"] is None for r in rejected.values())


def test_a_workbook_reports_its_other_sheets_and_keeps_the_row_numbers_it_shows(corpus_run):
    config, _ = corpus_run
    [warning] = query(config, "select * from data_quality_exceptions where \"check\" = 'other_sheets_ignored'")
    assert "'Notes'" in warning["message"] and "'Empty'" not in warning["message"]
    rows = query(config, "select source_row, hours from ce_credits where source_file = 'providers/sheets/sheets.xlsx' order by source_row")
    assert [(r["source_row"], r["hours"]) for r in rows] == [(2, Decimal("2")), (4, Decimal("1.5"))]


def test_nothing_of_a_file_outside_the_landing_folder_or_of_an_unreadable_one_reaches_any_output(corpus_run):
    config, _ = corpus_run
    outputs = [p for p in (config.parent / "out").rglob("*") if p.is_file()]
    for marker in (OUTSIDE_MARKER, UNREADABLE_MARKER):
        assert outputs and not [p for p in outputs if marker.encode() in p.read_bytes()]
        assert marker not in json.dumps(query(config, "select * from landing_files"), default=str)
    [unclosed] = query(config, "select message from data_quality_exceptions where source_file = 'providers/stateboard/unclosed_quote.csv'")
    assert "row 2 opens a quote at column 'First Name' that does not close" in unclosed["message"]


def test_every_failing_row_is_listed_with_its_check_column_and_value(corpus_run):
    config, _ = corpus_run
    rows = query(config, "select * from data_quality_exceptions where action <> 'rejected'")
    assert {(r["source_file"], r["source_row"], r["check"], r["action"]) for r in rows} == EXPECTED_FINDINGS
    by_check = {r["check"]: r for r in rows}
    assert by_check["hours_out_of_range"]["column"] == "hours"
    assert by_check["invalid_completion_date"]["column"] == "completion_date"
    assert {r["value"] for r in rows if r["check"] == "invalid_hours"} >= {"three"}
    assert by_check["unknown_category"]["value"] == "Astrology"


def test_hostile_text_is_kept_as_data_and_neutralised_in_outputs(corpus_run):
    config, _ = corpus_run
    site = config.parent / "out" / "2026-11-25"
    pages = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html") if "data-docs" not in p.parts)
    assert "<script>alert(1)</script>" not in pages and "&lt;script&gt;alert(1)&lt;/script&gt;" in pages
    with (site / "clinician_compliance.csv").open(encoding="utf-8-sig") as f:
        names = [r["first_name"] for r in csv.DictReader(f)]
    assert "'=1+2" in names
    titles = [r["course_title"] for r in csv.DictReader((site / "credit_ledger.csv").open(encoding="utf-8-sig"))]
    assert "Two-line\ntitle" in titles and any(t.startswith("'=HYPERLINK") for t in titles)
