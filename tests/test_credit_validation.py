"""The credit suites: each provider file version validated once, the run's context checked every run,
and the outcome the same as validating everything at once."""

import duckdb

from tests.support import BOARD_HEADER, board_row, lms_row, make_deployment, materialize, query, roster_row, write_csv

AS_OF = "2026-06-30"


def credit_materialization(result):
    return result.asset_materializations_for_node("ce_credits")[0]


def credit_check(result):
    return next(c for c in result.get_asset_check_evaluations() if c.check_name == "ce_credit_rows_valid")


def exceptions(config) -> list[tuple]:
    return [
        (r["source_file"], r["source_row"], r["check"], r["value"], r["action"])
        for r in query(config, "select * from ce_credit_exceptions order by source_file, source_row, \"check\"")
    ]


def test_each_file_version_is_validated_once_and_the_context_every_run(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001")],
        board=[
            board_row(course_id="A"),
            board_row(course_id="A"),  # row 3 repeats row 2: warned
            board_row(course_id="B", hours="0"),  # quarantined: hours out of range
            board_row(course_id="C", completion_date="2026-07-01"),  # quarantined only while as_of is before it
            board_row(license_number="9999999", course_id="D"),  # matches no one: warned
        ],
    )
    first = materialize(config, AS_OF)
    assert credit_materialization(first).metadata["file_versions_validated"].value == 1
    board = "providers/stateboard/board.csv"
    expected = [
        (board, 3, "duplicate_row", "Course A", "warned"),
        (board, 4, "hours_out_of_range", "0", "quarantined"),
        (board, 5, "completion_date_after_as_of", "2026-07-01", "quarantined"),
        (board, 6, "unmatched_clinician", "TX 9999999", "warned"),
    ]
    assert exceptions(config) == expected
    check = credit_check(first)
    assert check.metadata["rows_validated"].value == 5
    assert {name: v.value for name, v in check.metadata.items() if name.startswith("failing_rows/")} == {
        "failing_rows/duplicate_row": 1,
        "failing_rows/hours_out_of_range": 1,
        "failing_rows/completion_date_after_as_of": 1,
        "failing_rows/unmatched_clinician": 1,
    }

    # the next day the same file is not validated again, and the context checks see the new as-of date
    later = materialize(config, "2026-07-01")
    assert credit_materialization(later).metadata["file_versions_validated"].value == 0
    assert exceptions(config) == [e for e in expected if e[2] != "completion_date_after_as_of"]
    assert credit_check(later).metadata["rows_validated"].value == 5

    # a new file is the only one validated; the roster now names the unmatched credit's clinician
    write_csv(tmp_path / "landing" / "providers" / "stateboard" / "more.csv", BOARD_HEADER, [board_row(course_id="E", hours="")])
    write_csv(
        tmp_path / "landing" / "roster" / "roster.csv",
        list(roster_row()),
        [roster_row("000001"), roster_row("000002", license_number="9999999")],
    )
    with_new_file = materialize(config, "2026-07-01")
    assert credit_materialization(with_new_file).metadata["file_versions_validated"].value == 1
    assert exceptions(config) == [
        (board, 3, "duplicate_row", "Course A", "warned"),
        (board, 4, "hours_out_of_range", "0", "quarantined"),
        ("providers/stateboard/more.csv", 2, "invalid_hours", None, "quarantined"),
    ]
    assert credit_check(with_new_file).metadata["rows_validated"].value == 6


def test_a_quarantined_row_lists_no_warnings_whichever_suite_quarantines_it(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001")],
        board=[
            # warned by the file suite (unknown category), quarantined by the context suite (after as_of)
            board_row(course_id="A", completion_date="2026-08-01", **{"Subject Area": "Astrology"}),
            # warned by the context suite (no one matches), quarantined by the file suite (no hours)
            board_row(license_number="9999999", course_id="B", hours=""),
        ],
    )
    materialize(config, AS_OF)
    assert [(e[1], e[2]) for e in exceptions(config)] == [(2, "completion_date_after_as_of"), (3, "invalid_hours")]
    assert query(config, "select count(*) as n from ce_credits")[0]["n"] == 0


def test_a_changed_suite_validates_every_version_again(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A")])
    materialize(config, AS_OF)
    # what an older declaration of the suite left behind
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("update ce_credit_file_validations set suite_fingerprint = 'older'")
    con.execute("update ce_credit_file_findings set suite_fingerprint = 'older'")
    con.close()
    rerun = materialize(config, AS_OF)
    assert credit_materialization(rerun).metadata["file_versions_validated"].value == 1
    assert query(config, "select distinct suite_fingerprint <> 'older' as current from ce_credit_file_validations") == [{"current": True}]


def test_without_any_provider_file_both_suites_validate_no_rows(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")])
    result = materialize(config, AS_OF)
    assert result.success
    assert credit_check(result).passed and credit_check(result).metadata["rows_validated"].value == 0
    assert exceptions(config) == []


def test_a_row_is_quarantined_for_what_is_wrong_with_it_alone(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001")],
        board=[board_row(course_id="A", completion_date="0001-01-01"), board_row(course_id="B", completion_date="1949-12-31")],
        lms=[lms_row(course_code="L-MIN", credits="50", **{"Credit Unit": "minutes"})],
    )
    materialize(config, AS_OF)
    assert [(e[0], e[1], e[2], e[3]) for e in exceptions(config)] == [
        ("providers/lms/lms.csv", 2, "unknown_credit_unit", "minutes"),
        ("providers/stateboard/board.csv", 2, "implausible_completion_date", "0001-01-01"),
        ("providers/stateboard/board.csv", 3, "implausible_completion_date", "1949-12-31"),
    ]


def test_hours_are_judged_in_range_as_the_file_wrote_them_before_they_are_kept_to_four_places(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001")],
        board=[
            board_row(course_id="A", hours="100.00004"),  # over 100, though it keeps as 100.0000
            board_row(course_id="B", hours="0.00004"),  # more than 0, but it keeps no hour
            board_row(course_id="C", hours="100"),
            board_row(course_id="D", hours="1.23456"),
        ],
    )
    materialize(config, AS_OF)
    assert [(e[1], e[2]) for e in exceptions(config)] == [(2, "hours_out_of_range"), (3, "hours_out_of_range")]
    assert sorted(r["course_id"] for r in query(config, "select course_id from ce_credits")) == ["C", "D"]
