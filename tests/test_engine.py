"""The basic compliance rules (docs/compliance.md, rules 1-8), one hand-derived scenario per rule and its
edges. Most run the engine's SQL models directly on hand-made tables in a real DuckDB file; the few that
depend on reading and matching the files (units, person keys, vocabulary, unreadable fields) materialise
the real graph (ingest, quality, compliance) with Dagster.
"""

from decimal import Decimal

import duckdb
import pytest

from tests.support import board_row, credit, evaluate, license_row, lms_row, make_deployment, materialize, query, roster_row, rows

TX_LPC = {
    "license_state": "TX", "license_type": "LPC", "cycle_months": 24, "total_hours": 24,
    "min_hours_by_category": {"ethics": 4}, "max_hours_by_delivery": {"self_study": 12},
    "source": "test", "effective_date": "2020-01-01",
}
IL_LCSW = {
    "license_state": "IL", "license_type": "LCSW", "cycle_months": 24, "total_hours": 30,
    "min_hours_by_category": {"ethics": 3, "cultural_competency": 1},
    "accepted_accreditations": ["ASWB_ACE", "IL_DFPR"], "first_renewal": "exempt",
    "source": "test", "effective_date": "2020-01-01",
}
RULES = [TX_LPC, IL_LCSW]
IL = {"license_state": "IL", "license_type": "LCSW"}


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "engine.duckdb"))
    yield connection
    connection.close()


def run(tmp_path, as_of, roster, board=(), lms=(), rules=RULES):
    """The whole graph on files: for the rules that depend on reading and matching them."""
    config = make_deployment(tmp_path, roster=roster, board=board, lms=lms, rules=list(rules))
    assert materialize(config, as_of).success
    return config


def ledger(found):
    return {(r["license_state"], r["course_id"], r["source_row"]): (r["decision"], r["reason"], r["counted_hours"]) for r in found}


def compliance(found):
    return {(r["employee_id"], r["license_state"]): r for r in found}


def progress(found):
    return {(r["license_state"], r["requirement"]): r for r in found}


def engine_ledger(con):
    return ledger(rows(con, "select * from credit_ledger"))


def engine_compliance(con):
    return compliance(rows(con, "select * from clinician_compliance"))


def engine_progress(con):
    return progress(rows(con, "select * from requirement_progress"))


def test_cycle_start_and_end_days_are_inclusive(con):
    # expiration 2027-04-30, 24 months: the cycle is [2025-05-01, 2027-04-30]
    evaluate(con, RULES, [license_row(expires="2027-04-30")], [
        credit("BEFORE", "2025-04-30", 1), credit("FIRST", "2025-05-01", 1), credit("LAST", "2027-04-30", 1), credit("AFTER", "2027-05-01", 1),
    ], as_of="2027-05-15")
    row = engine_compliance(con)[("000001", "TX")]
    assert (str(row["cycle_start"]), str(row["cycle_end"])) == ("2025-05-01", "2027-04-30")
    assert row["days_remaining"] == -15
    decisions = engine_ledger(con)
    assert decisions[("TX", "BEFORE", 2)][:2] == ("excluded", "outside_cycle")
    assert decisions[("TX", "FIRST", 3)][:2] == ("counted", None)
    assert decisions[("TX", "LAST", 4)][:2] == ("counted", None)
    assert decisions[("TX", "AFTER", 5)][:2] == ("excluded", "outside_cycle")
    assert row["status"] == "overdue"


def test_leap_day_expiration_starts_the_cycle_on_the_first_of_march(con):
    evaluate(con, RULES, [license_row(expires="2028-02-29")], [credit("FEB28", "2026-02-28", 1), credit("MAR01", "2026-03-01", 1)], as_of="2027-01-01")
    assert str(engine_compliance(con)[("000001", "TX")]["cycle_start"]) == "2026-03-01"
    decisions = engine_ledger(con)
    assert decisions[("TX", "FEB28", 2)][1] == "outside_cycle"
    assert decisions[("TX", "MAR01", 3)][0] == "counted"


def test_a_self_study_cap_splits_across_courses_earliest_first_ties_by_course_id(con):
    study = {"delivery": "self_study"}
    evaluate(con, RULES, [license_row()], [
        credit("S-B", "2026-03-01", 6, **study),
        credit("S-A", "2026-03-01", 8, **study),  # same day: S-A first
        credit("S-C", "2026-04-01", 3, **study),
        credit("LIVE", "2026-05-01", 5),
    ])
    decisions = engine_ledger(con)
    assert decisions[("TX", "S-A", 3)] == ("counted", None, Decimal("8"))
    assert decisions[("TX", "S-B", 2)] == ("partially_counted", "over_cap_self_study", Decimal("4"))
    assert decisions[("TX", "S-C", 4)] == ("excluded", "over_cap_self_study", Decimal("0"))
    assert decisions[("TX", "LIVE", 5)] == ("counted", None, Decimal("5"))
    assert engine_compliance(con)[("000001", "TX")]["counted_hours"] == Decimal("17")


def test_category_minimums_count_eligible_hours_before_caps(con):
    evaluate(con, RULES, [license_row()], [
        credit("G", "2026-01-01", 12, delivery="self_study"), credit("E", "2026-02-01", 5, delivery="self_study", category="ethics"),
    ])
    found = engine_progress(con)
    assert found[("TX", "ethics")]["counted_hours"] == Decimal("5")  # 5 h of ethics although none of them fit under the cap
    assert found[("TX", "ethics")]["met"] is True
    assert found[("TX", "total")]["counted_hours"] == Decimal("12")


def test_a_credit_counts_for_each_license_under_its_own_cycle_and_rule(con):
    evaluate(con, RULES, [
        license_row("000003", license_number="0070003", expires="2026-09-30"),
        license_row("000003", license_number="149.012345", expires="2027-11-30", license_issue_date="2012-04-01", **IL),
    ], [
        credit("K-1", "2025-01-15", 20, employee_id="000003"),
        credit("K-2", "2026-10-15", 4, employee_id="000003", accreditation="ASWB_ACE", category="ethics"),
    ])
    decisions = engine_ledger(con)
    assert decisions[("TX", "K-1", 2)][0] == "counted"
    assert decisions[("IL", "K-1", 2)][1] == "outside_cycle"
    assert decisions[("TX", "K-2", 3)][1] == "outside_cycle"
    assert decisions[("IL", "K-2", 3)][0] == "counted"
    assert engine_compliance(con)[("000003", "TX")]["status"] == "overdue"


def test_tenths_of_hours_add_up_exactly_to_meet_a_one_hour_minimum(con):
    rule = dict(TX_LPC, total_hours=1, min_hours_by_category={"ethics": 1}, max_hours_by_delivery={})
    evaluate(con, [rule], [license_row()], [credit(f"E{n}", "2026-01-10", hours, category="ethics") for n, hours in enumerate(["0.7", "0.1", "0.2"])])
    assert engine_progress(con)[("TX", "ethics")]["counted_hours"] == Decimal("1")
    row = engine_compliance(con)[("000001", "TX")]
    assert (row["status"], row["hours_remaining"]) == ("compliant", Decimal("0"))


def test_ceu_credit_is_ten_contact_hours_and_matches_by_employee_id_and_email(tmp_path):
    config = run(
        tmp_path,
        "2026-11-25",
        [roster_row("000001", email="Ana.Ruiz@Example.org")],
        lms=[
            lms_row("000001", "L-1", credits="1.5", **{"Credit Unit": "CEU"}),
            lms_row("", "L-2", credits="2", Email="ana.ruiz@EXAMPLE.org"),
        ],
    )
    decisions = ledger(query(config, "select * from credit_ledger"))
    assert decisions[("TX", "L-1", 2)] == ("counted", None, Decimal("15"))
    assert decisions[("TX", "L-2", 3)] == ("counted", None, Decimal("2"))


def test_an_unmatched_credit_counts_for_no_one_and_is_warned(tmp_path):
    config = run(tmp_path, "2026-11-25", [roster_row("000001")], board=[board_row("9999999", course_id="X-1")])
    assert query(config, "select * from credit_ledger") == []
    warned = query(config, "select * from data_quality_exceptions where \"check\" = 'unmatched_clinician'")
    assert [(w["source_row"], w["action"], w["value"]) for w in warned] == [(2, "warned", "TX 9999999")]


def test_a_license_number_two_people_list_is_warned_and_its_credits_go_to_the_smaller_employee_id(tmp_path):
    roster = [roster_row("000001"), roster_row("000002", license_number="7000001"), roster_row("000003")]
    config = run(tmp_path, "2026-11-25", roster, board=[board_row("7000001", course_id="S-1")])
    warned = query(config, "select * from data_quality_exceptions where \"check\" = 'shared_license_number' order by source_row")
    assert [(w["source_row"], w["action"], w["value"]) for w in warned] == [(2, "warned", "7000001"), (3, "warned", "7000001")]
    assert [r["employee_id"] for r in query(config, "select employee_id from credit_ledger")] == ["000001"]


def test_a_clinic_spelt_two_ways_is_warned_on_each_of_its_rows(tmp_path):
    roster = [
        roster_row("000001", clinic="North Clinic"), roster_row("000002", clinic="north clinic "), roster_row("000003", clinic="NORTH  CLINIC"),
        roster_row("000004", clinic="Straße Clinic"), roster_row("000005", clinic="STRASSE CLINIC"), roster_row("000006", clinic="South"),
    ]
    config = run(tmp_path, "2026-11-25", roster)
    warned = query(config, "select * from data_quality_exceptions where \"check\" = 'clinic_spelt_differently' order by source_row")
    assert [(w["source_row"], w["value"]) for w in warned] == [
        (2, "North Clinic"), (3, "north clinic"), (4, "NORTH  CLINIC"), (5, "Straße Clinic"), (6, "STRASSE CLINIC"),
    ]
    assert {w["action"] for w in warned} == {"warned"}


def test_a_license_without_a_rule_or_an_expiration_is_not_evaluated_with_its_reason(tmp_path):
    config = run(
        tmp_path,
        "2026-11-25",
        [
            roster_row("000001", license_state="FL", license_type="LMHC"),
            roster_row("000002", license_expiration_date="31/12/2027"),
        ],
    )
    found = compliance(query(config, "select * from clinician_compliance"))
    assert found[("000001", "FL")]["status"] == "not_evaluated"
    assert "no rule for FL LMHC" in found[("000001", "FL")]["status_reason"]
    assert found[("000002", "TX")]["status"] == "not_evaluated"
    assert "license_expiration_date" in found[("000002", "TX")]["status_reason"]


def test_duplicates_keep_the_first_by_file_then_row_and_repeats_in_the_cycle_are_excluded(con):
    untitled = {"course_key": "grief work"}  # no course id: the case-folded title is the course
    evaluate(con, RULES, [license_row()], [
        credit("D", "2026-02-01", 3), credit("D", "2026-02-01", 3), credit("D", "2026-06-01", 3),
        credit(None, "2026-07-01", 2, course_title="Grief Work", **untitled),
        credit(None, "2026-08-01", 2, course_title="GRIEF WORK", **untitled),
    ])
    decisions = engine_ledger(con)
    assert decisions[("TX", "D", 2)][0] == "counted"
    assert decisions[("TX", "D", 3)][1] == "duplicate"
    assert decisions[("TX", "D", 4)][1] == "repeat_course"
    assert decisions[("TX", None, 5)][0] == "counted"
    assert decisions[("TX", None, 6)][1] == "repeat_course"


def test_a_title_without_a_course_id_is_case_folded_as_unicode_folds_it_not_lower_cased(tmp_path):
    # lower() keeps `straße` and `strasse` apart; case folding makes the two rows one course on one date
    untitled = [board_row(course_id="", **{"Course Title": title}) for title in ("Straße Ethics", "STRASSE ETHICS", "ﬁeld Work")]
    config = run(tmp_path, "2026-11-25", [roster_row("000001")], board=[*untitled, board_row(course_id="", **{"Course Title": "FIELD WORK"})])
    decisions = ledger(query(config, "select * from credit_ledger"))
    assert [decisions[("TX", None, row)][:2] for row in (2, 3, 4, 5)] == [
        ("counted", None), ("excluded", "duplicate"), ("counted", None), ("excluded", "duplicate")
    ]


def test_accreditation_is_checked_where_the_rule_lists_accepted_ones(tmp_path):
    il = {"License State": "IL"}
    config = run(
        tmp_path,
        "2026-11-25",
        [roster_row("000001", license_state="IL", license_type="LCSW", license_number="149.1", license_expiration_date="2027-11-30")],
        board=[
            board_row("149.1", course_id="OK", Accreditation="aswb_ace", **il),
            board_row("149.1", course_id="NBCC", Accreditation="NBCC", **il),
            board_row("149.1", course_id="NONE", Accreditation="", **il),
        ],
    )
    decisions = ledger(query(config, "select * from credit_ledger"))
    assert decisions[("IL", "OK", 2)][0] == "counted"
    assert decisions[("IL", "NBCC", 3)][1] == "provider_not_accepted"
    assert decisions[("IL", "NONE", 4)][1] == "provider_not_accepted"


def test_first_renewal_exemption_applies_only_when_the_license_was_issued_inside_the_cycle(con):
    evaluate(con, RULES, [
        license_row("000001", license_number="149.1", expires="2027-11-30", license_issue_date="2026-01-15", **IL),
        license_row("000002", license_number="149.2", expires="2027-11-30", license_issue_date="2025-11-30", **IL),
    ])
    found = engine_compliance(con)
    assert found[("000001", "IL")]["status"] == "exempt"
    assert found[("000002", "IL")]["status"] == "on_track"


def test_people_whose_employment_ended_are_not_evaluated(con):
    evaluate(con, RULES, [
        license_row("000001", employment_status="terminated", termination_date="2026-11-25"),
        license_row("000002", employment_status="terminated", termination_date="2026-12-31"),
        license_row("000003", employment_status="leave"),
    ])
    assert sorted(e for e, _ in engine_compliance(con)) == ["000002", "000003"]


@pytest.mark.parametrize(
    ("expiration", "status", "days"),
    [("2027-02-23", "at_risk", 90), ("2027-02-24", "on_track", 91), ("2026-11-25", "at_risk", 0), ("2026-11-24", "overdue", -1)],
)
def test_status_boundaries_around_at_risk_days(con, expiration, status, days):
    evaluate(con, RULES, [license_row(expires=expiration)])
    row = engine_compliance(con)[("000001", "TX")]
    assert (row["status"], row["days_remaining"]) == (status, days)


def test_hours_remaining_is_the_larger_of_the_total_and_the_summed_category_shortfalls(con):
    rule = dict(TX_LPC, min_hours_by_category={"ethics": 4, "cultural_competency": 2})
    evaluate(con, [rule], [license_row()], [credit("G", "2026-01-10", 22)])
    row = engine_compliance(con)[("000001", "TX")]
    assert row["hours_remaining"] == Decimal("6")
    assert row["unmet_requirements"] == "total;cultural_competency;ethics"
