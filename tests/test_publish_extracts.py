"""The CSV extracts and manifest.json: the documented columns and order (docs/outputs.md), inert cells, exact decimals, reproducible bytes."""

import csv
import dataclasses
import hashlib
import json

import duckdb
import polars as pl
import pytest

from reports.extracts import SITE_EXTRACTS, UTF8_BOM, exact_hours_text, write_csv, write_extracts, write_manifest
from reports.publication import load_publication, record_history
from tests.publish_fixtures import AS_OF, FORMULA_TITLE, GENERATED_AT, RULES_CATALOG, SCRIPT_NAME, build_warehouse

DOCUMENTED_HEADERS = {
    "clinician_compliance.csv": "as_of_date,employee_id,first_name,last_name,clinic,license_type,license_state,license_number,cycle_start,cycle_end,days_remaining,required_hours,counted_hours,hours_remaining,unmet_requirements,status,status_reason,deadline,carried_hours,rule_effective_date",
    "requirement_progress.csv": "employee_id,license_state,license_type,license_number,requirement,required_hours,counted_hours,met,waived_by",
    "credit_ledger.csv": "employee_id,license_state,license_type,license_number,course_id,course_title,provider,accreditation,completion_date,hours,category,delivery,counted_hours,decision,reason,source_file,source_row,counts_toward,first_name,last_name,clinic",
    "adjustments.csv": "employee_id,license_state,license_type,license_number,kind,requirement,hours,until,reference,applied,why_not,source_file,source_row",
    "data_quality_exceptions.csv": "source_file,source_row,check,column,value,message,action",
    "learning_plans.csv": "employee_id,first_name,last_name,clinic,course_id,course_title,provider,accreditation,hours,category,delivery,cost,licenses,complete_by",
    "learning_plan_status.csv": "employee_id,license_state,license_type,license_number,plan,reason",
}


@pytest.fixture
def publication(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:  # open while the extracts are written: the ledger is read then
        record_history(con, AS_OF, "run-1", GENERATED_AT)
        yield load_publication(con, AS_OF, "run-1", GENERATED_AT)


@pytest.fixture
def extracts(publication, tmp_path):
    directory = tmp_path / "site"
    directory.mkdir()
    rows = write_extracts(publication, directory)
    return directory, rows


def read_rows(path):
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_headers_are_exactly_specs(extracts):
    directory, rows = extracts
    assert set(rows) == set(DOCUMENTED_HEADERS)
    for name, header in DOCUMENTED_HEADERS.items():
        assert (directory / name).read_text(encoding="utf-8-sig").split("\n", 1)[0] == header


def test_files_are_utf8_with_one_byte_order_mark_and_lf_line_endings(extracts):
    directory, _ = extracts
    for name in DOCUMENTED_HEADERS:
        data = (directory / name).read_bytes()
        assert data.startswith(UTF8_BOM + DOCUMENTED_HEADERS[name].encode()) and data.count(UTF8_BOM) == 1  # as Excel's "CSV UTF-8"
        assert b"\r\n" not in data and data.endswith(b"\n")
    assert "Nguyễn" in (directory / "clinician_compliance.csv").read_text(encoding="utf-8-sig")


def test_rows_come_in_the_documented_order(extracts):
    directory, rows = extracts
    compliance = read_rows(directory / "clinician_compliance.csv")
    assert [(r["employee_id"], r["license_state"], r["license_type"]) for r in compliance] == [
        ("E001", "TX", "LPC"), ("E002", "IL", "LCSW"), ("E003", "FL", "LMHC"),
        ("E004", "IL", "LCSW"), ("E004", "TX", "LPC"), ("E005", "FL", "LMFT"),
    ]  # fmt: skip
    progress = read_rows(directory / "requirement_progress.csv")
    assert [(r["employee_id"], r["requirement"]) for r in progress] == [
        ("E001", "total"), ("E001", "ethics"), ("E002", "total"), ("E002", "ethics"),
        ("E003", "total"), ("E003", "cultural_competency"), ("E004", "total"),
    ]  # fmt: skip
    ledger = read_rows(directory / "credit_ledger.csv")
    assert [r["course_id"] for r in ledger] == ["M-1", "M-2", "M-3", "H-5", "A-0", "A-1", "A-2", "A-3", "K-1"]
    exceptions = read_rows(directory / "data_quality_exceptions.csv")
    assert [(r["source_file"], r["source_row"]) for r in exceptions] == [
        ("providers/board/board_2026-11.csv", "10"), ("providers/board/board_2026-11.csv", "11"),
        ("providers/lms/bad.xlsx", ""), ("roster/staff.csv", "6"),
    ]  # fmt: skip
    assert rows == {
        "clinician_compliance.csv": 6, "requirement_progress.csv": 7, "credit_ledger.csv": 9, "adjustments.csv": 2, "data_quality_exceptions.csv": 4,
        "learning_plans.csv": 5, "learning_plan_status.csv": 3,
    }  # fmt: skip
    plans = read_rows(directory / "learning_plans.csv")
    assert [(r["employee_id"], r["complete_by"], r["course_id"]) for r in plans] == [
        ("E002", "2027-01-31", "GEN-2"), ("E002", "2027-01-31", "IL-ETH3"), ("E003", "2026-09-30", "GEN-14"),
        ("E003", "2026-09-30", "GEN-15"), ("E004", "2028-06-30", "GEN-14"),
    ]  # fmt: skip
    assert (plans[0]["course_title"], plans[1]["cost"], plans[1]["hours"]) == ("'=HYPERLINK(\"x\")", "45.5", "3")


def test_whole_file_rejections_come_first_within_a_file(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into data_quality_exceptions values ('roster/staff.csv', null, 'unreadable', null, null, 'x', 'rejected')"
        )
        record_history(con, AS_OF, "run-1", GENERATED_AT)
        exceptions = load_publication(con, AS_OF, "run-1", GENERATED_AT).exceptions
    roster = exceptions.filter(pl.col("source_file") == "roster/staff.csv")
    assert roster["source_row"].to_list() == [None, 6]


def test_text_that_a_spreadsheet_would_run_is_neutralised(extracts):
    directory, _ = extracts
    ledger = {r["course_id"]: r for r in read_rows(directory / "credit_ledger.csv")}
    assert ledger["H-5"]["course_title"] == "'" + FORMULA_TITLE
    assert ledger["H-5"]["license_number"] == "'-0123"
    assert ledger["H-5"]["provider"] == "'@Prairie CE"
    assert ledger["M-3"]["provider"] == "'+Lone Star CE"
    compliance = {r["employee_id"]: r for r in read_rows(directory / "clinician_compliance.csv")}
    assert compliance["E003"]["days_remaining"] == "-56"  # numbers stay numbers
    assert compliance["E002"]["first_name"] == SCRIPT_NAME  # CSV is not HTML: kept as is
    exceptions = read_rows(directory / "data_quality_exceptions.csv")
    assert exceptions[0]["value"] == "'-9999999"


def test_tab_and_carriage_return_starts_are_neutralised_and_quoted(tmp_path):
    frame = pl.DataFrame({"text": ["\tcmd", "\rcmd", "a=b", "", None], "days": [-1, 0, 1, 2, None]})
    write_csv([frame], ("text", "days"), tmp_path / "x.csv")
    assert read_rows(tmp_path / "x.csv") == [
        {"text": "'\tcmd", "days": "-1"},
        {"text": "'\rcmd", "days": "0"},
        {"text": "a=b", "days": "1"},
        {"text": "", "days": "2"},
        {"text": "", "days": ""},
    ]


def test_the_ledger_read_in_batches_is_the_ledger_read_whole(publication, tmp_path):
    [ledger] = [e for e in SITE_EXTRACTS if e.streams]
    columns = ledger.columns
    in_twos = dataclasses.replace(publication.frames[ledger.name], batch_rows=2)
    assert [frame.height for frame in in_twos] == [2, 2, 2, 2, 1]
    assert write_csv(in_twos, columns, tmp_path / "in_twos.csv") == 9
    write_csv([pl.concat(publication.batches(ledger))], columns, tmp_path / "whole.csv")
    assert (tmp_path / "in_twos.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_an_empty_ledger_still_has_its_header(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from credit_ledger")
        record_history(con, AS_OF, "run-1", GENERATED_AT)
        publication = load_publication(con, AS_OF, "run-1", GENERATED_AT)
        rows = write_extracts(publication, tmp_path)
    assert rows["credit_ledger.csv"] == 0
    assert (tmp_path / "credit_ledger.csv").read_bytes() == UTF8_BOM + DOCUMENTED_HEADERS["credit_ledger.csv"].encode() + b"\n"


def test_hours_are_exact_decimals_without_trailing_zeros(extracts):
    directory, _ = extracts
    compliance = {r["employee_id"]: r for r in read_rows(directory / "clinician_compliance.csv")}
    assert compliance["E003"]["counted_hours"] == "1"  # DECIMAL 0.7 + 0.1 + 0.2, summed by DuckDB
    assert (compliance["E001"]["required_hours"], compliance["E001"]["hours_remaining"]) == ("24", "0")
    assert compliance["E005"]["required_hours"] == ""  # not evaluated: NULL is an empty cell
    ledger = {r["course_id"]: r for r in read_rows(directory / "credit_ledger.csv")}
    assert [ledger[c]["hours"] for c in ("A-1", "A-2", "A-3", "A-0", "M-1")] == ["0.7", "0.1", "0.2", "3.25", "10"]
    assert ledger["A-0"]["counted_hours"] == "0"


def test_decimal_text_for_every_scale():
    values = ["0.7", "0.1", "0.2", "10", "3.3", "0.25", "100", "0", "0.0001", "12.5"]
    frame = pl.DataFrame({"hours": values}).with_columns(pl.col("hours").cast(pl.Decimal(18, 4)))
    assert frame.select(exact_hours_text(pl.col("hours")))["hours"].to_list() == values


def test_booleans_are_true_false(extracts):
    directory, _ = extracts
    assert {r["met"] for r in read_rows(directory / "requirement_progress.csv")} == {"true", "false"}


def test_same_data_gives_byte_identical_files(publication, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    write_extracts(publication, first)
    write_extracts(publication, second)
    for name in DOCUMENTED_HEADERS:
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_manifest_names_inputs_rules_and_outputs_with_checksums(extracts, publication):
    directory, rows = extracts
    manifest_path = write_manifest(publication, directory, rows)
    text = manifest_path.read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert manifest["as_of_date"] == "2026-11-25"
    assert manifest["generated_at"] == "2026-11-25T06:00:00Z"
    assert manifest["run_id"] == "run-1"
    # the copy published beside the extracts, by its path in the site, not the server's
    assert manifest["rules_catalog"] == {"path": "rules.yaml", "version": "2026.11", "sha256": hashlib.sha256(RULES_CATALOG).hexdigest()}
    assert [i["file"] for i in manifest["inputs"]] == sorted(i["file"] for i in manifest["inputs"])
    rejected = next(i for i in manifest["inputs"] if i["status"] == "rejected")
    assert rejected == {
        "file": "providers/lms/bad.xlsx", "sha256": "c" * 64, "status": "rejected",
        "reason": "required column 'Course Title' is missing", "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0,
    }  # fmt: skip
    accepted = next(i for i in manifest["inputs"] if i["file"] == "providers/board/board_2026-11.csv")
    assert "reason" not in accepted and (accepted["rows_read"], accepted["rows_accepted"], accepted["rows_quarantined"]) == (10, 9, 1)
    assert [o["file"] for o in manifest["outputs"]] == sorted(DOCUMENTED_HEADERS)
    for output in manifest["outputs"]:
        assert output["sha256"] == hashlib.sha256((directory / output["file"]).read_bytes()).hexdigest()
        assert output["rows"] == rows[output["file"]] == len(read_rows(directory / output["file"]))
