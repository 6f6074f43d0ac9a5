"""The GX runner with real Great Expectations: exact failing rows, batching, Data Docs."""

import datetime as dt
import decimal
import json
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import polars as pl
import pytest

from pipelines.quality.gx_runner import (
    RowExpectation,
    merge_suite_results,
    serve_assets_locally,
    suite_result_from_json,
    suite_result_to_json,
    validate_rows,
    write_data_docs,
)

AS_OF = dt.date(2025, 6, 30)


def credits_frame() -> pl.DataFrame:
    """Ten credit rows; the comments name the checks each row fails."""
    return pl.DataFrame(
        {
            "lacks_person_key": [False, True, False, False, None, False, False, True, False, False],  # 1, 7
            "completion_date": [
                dt.date(2025, 1, 2),
                dt.date(2025, 6, 30),  # on as_of: fine
                None,  # 2: missing
                dt.date(2025, 7, 1),  # 3: after as_of
                dt.date(2024, 2, 29),
                dt.date(1949, 12, 31),  # 5: before 1950
                dt.date(2025, 3, 1),
                dt.date(2025, 3, 1),
                dt.date(2026, 1, 1),  # 8: after as_of
                dt.date(2025, 3, 1),
            ],
            "hours": [1.5, 0.0, 100.0, 100.5, None, -2.0, 0.25, 3.0, 6.0, 2.0],  # 1, 3, 5 out of range; 4 missing
            "category": ["ethics", "ethics", "misc", None, "general", "ethics", "Ethics", "general", "general", "general"],  # 2, 6
            "license_state": ["NY", "ny", "CA", None, "TX", "NYC", "TX", "TX", "TX", "TX"],  # 1, 5
        }
    )


def credit_checks() -> list[RowExpectation]:
    return [
        RowExpectation("missing_person_key", "person_key", "ExpectColumnValuesToBeInSet",
                       {"column": "lacks_person_key", "value_set": [False]}, "quarantined", "a person key"),
        RowExpectation("invalid_completion_date", "completion_date", "ExpectColumnValuesToNotBeNull",
                       {"column": "completion_date"}, "quarantined", "a completion date"),
        RowExpectation("completion_date_after_as_of", "completion_date", "ExpectColumnValuesToBeBetween",
                       {"column": "completion_date", "min_value": dt.date(1950, 1, 1), "max_value": AS_OF},
                       "quarantined", "completion date on or before as_of"),
        RowExpectation("invalid_hours", "hours", "ExpectColumnValuesToNotBeNull",
                       {"column": "hours"}, "quarantined", "hours must be a number"),
        RowExpectation("hours_out_of_range", "hours", "ExpectColumnValuesToBeBetween",
                       {"column": "hours", "min_value": 0, "strict_min": True, "max_value": 100},
                       "quarantined", "hours must be a number > 0 and <= 100"),
        RowExpectation("unknown_category", "category", "ExpectColumnValuesToBeInSet",
                       {"column": "category", "value_set": ["ethics", "general"]}, "warned", "a category in the vocabulary"),
        RowExpectation("invalid_license_state", "license_state", "ExpectColumnValuesToMatchRegex",
                       {"column": "license_state", "regex": r"^[A-Z]{2}$"}, "warned", "a two-letter state code"),
    ]


EXPECTED_FAILING_ROWS = {
    "missing_person_key": [1, 7],  # the null in row 4 is not unexpected for InSet
    "invalid_completion_date": [2],
    "completion_date_after_as_of": [3, 5, 8],  # the null in row 2 is NotBeNull's
    "invalid_hours": [4],
    "hours_out_of_range": [1, 3, 5],
    "unknown_category": [2, 6],
    "invalid_license_state": [1, 5],
}


def failing_rows(result) -> dict[str, list[int]]:
    return {o.expectation.check: o.failing_rows.tolist() for o in result.outcomes}


@pytest.fixture(scope="module")
def batched_result():
    return validate_rows("ce_credits", credits_frame(), credit_checks(), batch_rows=3)


def test_exact_failing_rows_across_batches(batched_result):
    assert failing_rows(batched_result) == EXPECTED_FAILING_ROWS
    assert len(batched_result.validation_results) == 4  # 3 + 3 + 3 + 1 rows
    for outcome in batched_result.outcomes:
        assert outcome.failing_rows.dtype == np.int64
        assert outcome.element_count == 10
        assert outcome.unexpected_count == len(outcome.failing_rows)
        assert outcome.success is (outcome.unexpected_count == 0)


def test_batch_size_does_not_change_the_outcome(batched_result):
    whole = validate_rows("ce_credits", credits_frame(), credit_checks())
    assert len(whole.validation_results) == 1
    assert failing_rows(whole) == failing_rows(batched_result)
    assert [o.examples for o in whole.outcomes] == [o.examples for o in batched_result.outcomes]


def test_outcomes_carry_the_declaration_and_json_ready_examples(batched_result):
    checks = credit_checks()
    assert [o.expectation for o in batched_result.outcomes] == checks
    examples = {o.expectation.check: o.examples for o in batched_result.outcomes}
    assert examples["completion_date_after_as_of"] == ["2025-07-01T00:00:00", "1949-12-31T00:00:00", "2026-01-01T00:00:00"]
    assert examples["hours_out_of_range"] == [0.0, 100.5, -2.0]
    assert examples["invalid_hours"] == [None]
    json.dumps(examples)
    # GX's own results carry the declaration in each expectation's meta.
    first = batched_result.validation_results[0]
    assert first["suite_name"] == "ce_credits"
    metas = [r["expectation_config"]["meta"] for r in first["results"]]
    assert {"check": "hours_out_of_range", "column": "hours", "action": "quarantined",
            "message": "hours must be a number > 0 and <= 100"} in metas
    assert first["meta"]["row_range"] == [0, 3]
    assert batched_result.validation_results[-1]["meta"]["row_range"] == [9, 10]


def test_empty_frame_succeeds_with_no_elements():
    result = validate_rows("ce_credits", credits_frame().clear(), credit_checks(), batch_rows=3)
    assert len(result.validation_results) == 1
    for outcome in result.outcomes:
        assert (outcome.success, outcome.element_count, outcome.unexpected_count, outcome.examples) == (True, 0, 0, [])
        assert outcome.failing_rows.dtype == np.int64 and outcome.failing_rows.size == 0


def counts(result) -> list[tuple]:
    return [(o.expectation.check, o.success, o.element_count, o.missing_count, o.unexpected_count, o.examples) for o in result.outcomes]


def test_results_of_parts_merge_into_the_result_of_the_whole(batched_result):
    frame = credits_frame()
    parts = [validate_rows("ce_credits", frame.slice(start, 4), credit_checks(), batch_rows=3) for start in (0, 4, 8)]
    merged = merge_suite_results("ce_credits", parts)
    assert counts(merged) == counts(batched_result)
    assert all(outcome.failing_rows is None for outcome in merged.outcomes)

    # one GX document for the whole, its counts summed from the parts' batches
    (document,) = merged.validation_results
    assert document["meta"]["row_range"] == [0, 10]
    by_check = {r["expectation_config"]["meta"]["check"]: r for r in document["results"]}
    after_as_of = by_check["completion_date_after_as_of"]
    assert after_as_of["success"] is False
    assert {k: after_as_of["result"][k] for k in ("element_count", "missing_count", "unexpected_count")} == {
        "element_count": 10, "missing_count": 1, "unexpected_count": 3,
    }
    assert after_as_of["result"]["unexpected_percent"] == pytest.approx(100 * 3 / 9)
    assert sorted(after_as_of["result"]["partial_unexpected_list"]) == ["1949-12-31T00:00:00", "2025-07-01T00:00:00", "2026-01-01T00:00:00"]
    assert "partial_unexpected_index_list" not in after_as_of["result"]
    assert document["statistics"]["evaluated_expectations"] == 7
    assert document["statistics"]["successful_expectations"] == 0
    assert document["success"] is False


def test_mostly_is_judged_again_over_merged_parts():
    frame = pl.DataFrame({"employee_id": [None, None] + [f"E{i}" for i in range(8)]})
    check = RowExpectation("missing_employee_id", "employee_id", "ExpectColumnValuesToNotBeNull",
                           {"column": "employee_id", "mostly": 0.8}, "warned", "")
    parts = [validate_rows("s", frame.slice(start, 5), [check]) for start in (0, 5)]
    assert [p.outcomes[0].success for p in parts] == [False, True]  # 60 % and 100 %
    merged = merge_suite_results("s", parts)
    assert merged.outcomes[0].success and merged.validation_results[0]["results"][0]["success"]  # 80 %


def test_a_kept_result_reads_back_as_it_was(batched_result):
    merged = merge_suite_results("ce_credits", [batched_result])
    kept = suite_result_from_json(suite_result_to_json(merged), credit_checks())
    assert counts(kept) == counts(merged) and kept.validation_results == merged.validation_results
    assert suite_result_from_json(suite_result_to_json(merged)).outcomes == []  # documents alone, for Data Docs
    with pytest.raises(ValueError, match="other expectations"):
        suite_result_from_json(suite_result_to_json(merged), credit_checks()[:-1])


def test_decimal_hours_are_range_checked_exactly():
    hours = [decimal.Decimal(v) if v else None for v in ["1.50", "0.00", "100.00", "100.01", None, "-0.01"]]
    checks = [RowExpectation("hours_out_of_range", "hours", "ExpectColumnValuesToBeBetween",
                             {"column": "hours", "min_value": 0, "strict_min": True, "max_value": 100}, "quarantined", "")]
    small = pl.DataFrame({"hours": pl.Series(hours, dtype=pl.Decimal(10, 2))})  # compared as float64
    # One value too long for a float keeps the column as decimal.Decimal objects.
    large = pl.DataFrame({"hours": pl.Series([*hours, decimal.Decimal("12345678901234.56")], dtype=pl.Decimal(38, 2))})
    assert validate_rows("s", small, checks, batch_rows=4).outcomes[0].failing_rows.tolist() == [1, 3, 5]
    assert validate_rows("s", large, checks, batch_rows=4).outcomes[0].failing_rows.tolist() == [1, 3, 5, 6]


def test_date_beyond_the_nanosecond_range_is_still_checked():
    dates = pl.DataFrame({"completion_date": [dt.date(2025, 1, 1), dt.date(3023, 1, 1), None, dt.date(2025, 7, 1)]})
    checks = credit_checks()[2:3]
    assert validate_rows("s", dates, checks, batch_rows=2).outcomes[0].failing_rows.tolist() == [1, 3]


def test_mostly_is_judged_over_the_whole_frame():
    # 1 null in 10 rows: 90 % present. The first batch alone (1 of 3) is below 80 %.
    frame = pl.DataFrame({"employee_id": [None] + [f"E{i}" for i in range(9)]})
    check = RowExpectation("missing_employee_id", "employee_id", "ExpectColumnValuesToNotBeNull",
                           {"column": "employee_id", "mostly": 0.8}, "warned", "")
    outcome = validate_rows("s", frame, [check], batch_rows=3).outcomes[0]
    assert (outcome.success, outcome.failing_rows.tolist()) == (True, [0])
    assert not validate_rows("s", frame.head(4), [check]).outcomes[0].success  # 75 %


def test_declaration_mistakes_raise():
    frame = credits_frame()
    with pytest.raises(ValueError, match="not a Great Expectations expectation"):
        validate_rows("s", frame, [RowExpectation("c", "hours", "ExpectHoursToBeFine", {"column": "hours"}, "warned", "")])
    twice = [credit_checks()[3], RowExpectation("other", "hours", "ExpectColumnValuesToNotBeNull", {"column": "hours"}, "warned", "")]
    with pytest.raises(ValueError, match="twice"):
        validate_rows("s", frame, twice)
    wrong_bound = RowExpectation("c", "category", "ExpectColumnValuesToBeBetween",
                                 {"column": "category", "min_value": 0}, "warned", "")
    with pytest.raises(RuntimeError, match="GX could not evaluate check 'c' on column 'category'"):
        validate_rows("s", frame, [wrong_bound])


def test_data_docs_are_written_only_where_asked(batched_result, tmp_path, monkeypatch):
    system_temporary = tmp_path / "system-tmp"
    system_temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temporary))  # where GX puts its default site
    write_data_docs([batched_result], tmp_path / "docs")
    assert (tmp_path / "docs" / "index.html").is_file() and list(system_temporary.iterdir()) == []


def test_data_docs_are_written_escaped_and_movable(batched_result, tmp_path):
    hostile = validate_rows(
        "roster",
        pl.DataFrame({"clinic": ["North", "<script>alert(1)</script>"]}),
        [RowExpectation("unknown_clinic", "clinic", "ExpectColumnValuesToBeInSet",
                        {"column": "clinic", "value_set": ["North"]}, "warned", "a clinic in the list")],
    )
    index = write_data_docs([batched_result, hostile], tmp_path / "docs")
    assert index == tmp_path / "docs" / "index.html"
    shutil.move(tmp_path / "docs", tmp_path / "moved")  # links are relative: the folder can go anywhere
    site = tmp_path / "moved"
    text = (site / "index.html").read_text(encoding="utf-8")
    assert "ce_credits" in text and "roster" in text

    # The script-free list on the index page reaches every page: one per suite, one per batch.
    links = re.findall(r'<li><a href="([^"]+)">', text)
    assert len(links) == 2 + 4 + 1
    assert all((site / link).is_file() for link in links)
    suite_page = (site / "expectations" / "ce_credits.html").read_text(encoding="utf-8")
    assert "hours_out_of_range" in suite_page and "hours must be a number &gt; 0 and &lt;= 100" in suite_page
    first_batch = next(site.glob("validations/ce_credits/**/rows-0-3.html")).read_text(encoding="utf-8")
    assert "values must belong to this set" in first_batch and "must never be null" in first_batch

    hostile_page = next(site.glob("validations/roster/**/*.html")).read_text(encoding="utf-8")
    assert "<script>alert(1)" not in hostile_page and "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_page
    assert str(tmp_path) not in "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))


def test_importing_the_runner_does_not_import_great_expectations():
    code = "import sys, pipelines.quality.gx_runner; print('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_a_data_docs_page_that_would_still_load_from_the_network_is_an_error_naming_it(tmp_path):
    page = tmp_path / "docs" / "validations" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text('<html><head><script src="https://cdn.example.org/new-library.js"></script></head><body></body></html>')
    with pytest.raises(RuntimeError, match=r"validations/page.html: Data Docs would load src=\"https://cdn.example.org/new-library.js\" from the network"):
        serve_assets_locally(tmp_path / "docs")
