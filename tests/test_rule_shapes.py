"""The rule shapes of real boards and the compliance officer's adjustments (compliance rules
9-16, docs/compliance.md), one hand-derived scenario per rule, run on the engine's SQL models directly."""

from decimal import Decimal as D

import duckdb
import pytest

from pipelines.warehouse import read_sql
from tests.support import (
    BASE_CONFIG,
    adjustment,
    board_row,
    credit,
    evaluate,
    license_row,
    make_deployment,
    materialize,
    query,
    roster_row,
    rows,
    write_csv,
)

AS_OF = "2026-11-25"
TX_LPC = {
    "license_state": "TX", "license_type": "LPC", "cycle_months": 24, "total_hours": 24,
    "min_hours_by_category": {"ethics": 4}, "source": "test (invented)", "effective_date": "2020-01-01",
}


def entry(**fields) -> dict:
    return {**TX_LPC, **fields}


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "engine.duckdb"))
    yield connection
    connection.close()


def compliance(con) -> dict:
    return {(r["employee_id"], r["license_type"]): r for r in rows(con, "select * from clinician_compliance")}


def progress(con, employee_id="000001") -> dict:
    found = rows(con, "select * from requirement_progress where employee_id = ? order by requirement_order", [employee_id])
    return {r["requirement"]: (r["required_hours"], r["counted_hours"], r["met"]) for r in found}


def ledger(con, employee_id="000001") -> dict:
    found = rows(con, "select * from credit_ledger where employee_id = ?", [employee_id])
    return {r["course_id"]: (r["decision"], r["reason"], r["counted_hours"], r["counts_toward"]) for r in found}


def test_the_entry_in_force_on_cycle_end_applies_and_none_in_force_is_not_evaluated(con):
    rules = [
        entry(total_hours=24, effective_date="2020-01-01"),
        entry(total_hours=30, effective_date="2026-06-01"),
        entry(license_type="LMFT", effective_date="2030-01-01"),
    ]
    evaluate(con, rules, [
        license_row("000001", "2026-05-31"),
        license_row("000002", "2026-06-01"),
        license_row("000003", "2027-04-30", license_type="LMFT"),
    ], as_of=AS_OF)
    found = compliance(con)
    assert (found["000001", "LPC"]["rule_effective_date"].isoformat(), found["000001", "LPC"]["required_hours"]) == ("2020-01-01", 24)
    assert (found["000002", "LPC"]["rule_effective_date"].isoformat(), found["000002", "LPC"]["required_hours"]) == ("2026-06-01", 30)
    assert found["000003", "LMFT"]["status"] == "not_evaluated"
    assert found["000003", "LMFT"]["status_reason"] == "no rule in force for the cycle ending 2027-04-30"


def test_a_fraction_cap_is_of_the_required_total_rounded_down_to_the_hundredth_and_the_lower_cap_wins(con):
    rules = [entry(total_hours=25, min_hours_by_category={}, max_hours_by_delivery={"self_study": 20, "live_online": 5},
                   max_fraction_by_delivery={"self_study": "1/3", "live_online": 0.5})]
    evaluate(con, rules, [license_row()], [
        credit("S1", "2026-01-05", 5, delivery="self_study"),
        credit("S2", "2026-02-05", 5, delivery="self_study"),
        credit("W1", "2026-03-05", 6, delivery="live_online"),
    ], as_of=AS_OF)
    decisions = ledger(con)
    assert decisions["S1"][:3] == ("counted", None, 5)
    assert decisions["S2"][:3] == ("partially_counted", "over_cap_self_study", D("3.33"))  # 1/3 x 25 = 8.33
    assert decisions["W1"][:3] == ("partially_counted", "over_cap_live_online", 5)  # min(5, 12.5)
    assert compliance(con)["000001", "LPC"]["counted_hours"] == D("13.33")


def test_first_renewals_take_the_smaller_total_or_hours_per_whole_month_licensed(con):
    rules = [
        entry(first_renewal={"total_hours": 12}),
        entry(license_type="LMFT", total_hours=30, cycle_months=24, first_renewal={"hours_per_month": 1.5}),
        entry(license_type="LCSW", total_hours=20, cycle_months=24, first_renewal={"hours_per_month": 1.5}),
    ]
    evaluate(con, rules, [
        license_row("000001", "2027-04-30", license_issue_date="2025-09-01"),  # inside the cycle
        license_row("000002", "2027-04-30", license_issue_date="2024-09-01"),  # before it: full
        license_row("000003", "2026-12-31", license_type="LMFT", license_issue_date="2025-06-10"),
        license_row("000004", "2026-12-31", license_type="LCSW", license_issue_date="2025-06-10"),
    ], as_of=AS_OF)
    found = compliance(con)
    assert found["000001", "LPC"]["required_hours"] == 12
    assert found["000002", "LPC"]["required_hours"] == 24
    assert found["000003", "LMFT"]["required_hours"] == 27  # 18 whole months to 2027-01-01 x 1.5
    assert found["000004", "LCSW"]["required_hours"] == 20  # never more than the total otherwise


def test_a_one_time_topic_counts_first_completions_on_any_date_and_shares_its_category_shortfall(con):
    rules = [entry(min_hours_by_category={"hiv_aids": 3}, once_by_category={"hiv_aids": 7}, accepted_accreditations=["NBCC"])]
    evaluate(con, rules, [license_row()], [
        credit("H-2012", "2012-03-01", 4, category="hiv_aids"),
        credit("H-NEW", "2026-02-01", 2, category="hiv_aids"),
        credit("H-2012", "2026-03-01", 3, category="hiv_aids"),  # a repeat of 2012: no first completion
        credit("H-APA", "2026-04-01", 5, category="hiv_aids", accreditation="APA"),  # not accepted
        credit("G", "2026-05-01", 10),
    ], as_of=AS_OF)
    decisions = ledger(con)
    assert decisions["H-NEW"] == ("counted", None, 2, "total;hiv_aids;once_hiv_aids")
    assert decisions["H-APA"][:2] == ("excluded", "provider_not_accepted")
    found = rows(con, "select * from credit_ledger where course_id = 'H-2012' order by completion_date")
    assert [(r["decision"], r["reason"], r["counts_toward"]) for r in found] == [
        ("excluded", "outside_cycle", "once_hiv_aids"),
        ("counted", None, "total;hiv_aids"),
    ]
    assert progress(con) == {"total": (24, 15, False), "hiv_aids": (3, 5, True), "once_hiv_aids": (7, 6, False)}
    row = compliance(con)["000001", "LPC"]
    assert (row["unmet_requirements"], row["hours_remaining"]) == ("total;once_hiv_aids", 9)


def test_due_minimums_apply_every_nth_cycle_and_role_requirements_to_licenses_listing_the_role(con):
    rules = [entry(
        every_nth_cycle=[{"every": 3, "anchor": "2025-03-31", "min_hours_by_category": {"law": 2, "ethics": 6}}],
        conditional=[
            {"role": "supervisor", "min_hours_by_category": {"supervision": 6}, "total_hours": 40},
            {"role": "telehealth", "total_hours": 30},
        ],
    )]
    evaluate(con, rules, [
        license_row("000001", "2031-03-31"),  # m = 72, floor(72 / 24) = 3: due
        license_row("000002", "2027-03-31", roles=["supervisor"]),  # m = 24: not due
        license_row("000003", "2027-03-31", roles=["supervisor", "telehealth"]),
    ], as_of=AS_OF)
    assert progress(con, "000001") == {"total": (24, 0, False), "ethics": (6, 0, False), "law": (2, 0, False)}
    assert progress(con, "000002") == {"total": (40, 0, False), "ethics": (4, 0, False), "supervision": (6, 0, False)}
    assert progress(con, "000003")["total"] == (30, 0, False)  # the smallest applying total


def test_carry_over_takes_the_previous_cycles_excess_in_completion_order_up_to_max_hours(con):
    rules = [entry(total_hours=20, min_hours_by_category={}, carry_over={"max_hours": 6})]
    # cycle 2025-05-01..2027-04-30; previous 2023-05-01..2025-04-30 under the same entry
    evaluate(con, rules, [license_row()], [
        credit("P1", "2023-06-01", 12),
        credit("P2", "2024-01-01", 10),  # 12 + 10 = 22: 2 past 20
        credit("P3", "2024-06-01", 8),  # 30: 8 more past 20; carried up to 6 in all
        credit("C1", "2026-01-01", 10),
    ], as_of=AS_OF)
    decisions = ledger(con)
    assert decisions["P1"][:3] == ("excluded", "outside_cycle", 0)
    assert decisions["P2"] == ("partially_counted", "carried_over", 2, "total")
    assert decisions["P3"] == ("partially_counted", "carried_over", 4, "total")
    row = compliance(con)["000001", "LPC"]
    assert (row["counted_hours"], row["carried_hours"], row["hours_remaining"]) == (16, 6, 4)


def test_a_credit_shorter_than_its_accreditations_minimum_is_excluded_after_provider_not_accepted(con):
    rules = [entry(min_credit_hours={"APA": 1, "*": 0.5}, accepted_accreditations=["NBCC", "APA"])]
    evaluate(con, rules, [license_row()], [
        credit("A", "2026-01-01", D("0.75"), accreditation="APA"),
        credit("B", "2026-01-02", D("0.75"), accreditation="NBCC"),
        credit("C", "2026-01-03", D("0.25"), accreditation="NBCC"),
        credit("D", "2026-01-04", D("0.25"), accreditation="ASWB"),
    ], as_of=AS_OF)
    assert {k: v[:2] for k, v in ledger(con).items()} == {
        "A": ("excluded", "below_minimum_hours"),
        "B": ("counted", None),
        "C": ("excluded", "below_minimum_hours"),
        "D": ("excluded", "provider_not_accepted"),
    }


def test_the_listed_provider_share_counts_hours_after_caps_and_leaves_carried_hours_aside(con):
    rules = [entry(total_hours=20, min_hours_by_category={}, max_hours_by_delivery={"self_study": 4},
                   min_share_from={"accreditations": ["NBCC"], "fraction": "1/2"})]
    evaluate(con, rules, [license_row()], [
        credit("N1", "2026-01-01", 6, delivery="self_study"),  # 4 of 6 counted, 4 listed
        credit("N2", "2026-02-01", 4),
        credit("O1", "2026-03-01", 12, accreditation="APA"),
    ], as_of=AS_OF)
    assert progress(con)["listed_providers"] == (10, 8, False)
    assert ledger(con)["N1"][3] == "total;listed_providers"
    row = compliance(con)["000001", "LPC"]
    assert (row["unmet_requirements"], row["hours_remaining"]) == ("listed_providers", 2)


# ------------------------------------------------------------------------------------------------
# Adjustments (rule 14)
# ------------------------------------------------------------------------------------------------


def test_an_extension_moves_the_deadline_and_takes_credits_up_to_it(con):
    evaluate(con, [entry(min_hours_by_category={})], [license_row("000001", "2026-10-31")], [
        credit("IN", "2025-06-01", 20), credit("LATE", "2026-11-20", 4),
    ], [adjustment("extension", "TX-EXT-1", until="2026-12-15"), adjustment("extension", "TX-EXT-2", until="2027-01-15")], as_of=AS_OF)
    row = compliance(con)["000001", "LPC"]
    assert (row["deadline"].isoformat(), row["days_remaining"], row["status"], row["counted_hours"]) == ("2027-01-15", 51, "compliant", 24)
    assert "extension TX-EXT-1 until 2026-12-15" in row["status_reason"] and "extension TX-EXT-2 until 2027-01-15" in row["status_reason"]


def test_a_learning_plan_is_due_by_the_cycle_end_not_the_extended_deadline(con):
    # learning_plans.csv's complete_by is the earliest cycle_end of the licenses a course counts for
    evaluate(con, [entry(min_hours_by_category={})], [license_row("000001", "2026-10-31")], [credit("IN", "2025-06-01", 10)], [
        adjustment("extension", "TX-EXT-1", until="2027-01-15"),
    ], as_of=AS_OF)
    assert compliance(con)["000001", "LPC"]["deadline"].isoformat() == "2027-01-15"
    con.execute("create table course_catalog as select 'K-1' as course_id, 'k-1' as title_key")
    [planned] = rows(con, read_sql("planned_licenses"))
    assert planned["cycle_end"].isoformat() == "2026-10-31"


def test_a_waiver_meets_its_requirement_and_an_exemption_makes_the_license_exempt(con):
    evaluate(con, [entry()], [license_row("000001"), license_row("000002")], [credit("G", "2026-01-01", 24)], [
        adjustment("waiver", "BRD-W-7", requirement="ethics"),
        adjustment("exemption", "BRD-X-3", employee_id="000002"),
    ], as_of=AS_OF)
    found = rows(con, "select requirement, met, waived_by, shortfall_hours from requirement_progress where employee_id = '000001'")
    assert {r["requirement"]: (r["met"], r["waived_by"], r["shortfall_hours"]) for r in found} == {
        "total": (True, None, 0), "ethics": (True, "BRD-W-7", 0),
    }
    found = compliance(con)
    assert found["000001", "LPC"]["status"] == "compliant"
    assert found["000002", "LPC"]["status"] == "exempt"
    assert "exemption BRD-X-3" in found["000002", "LPC"]["status_reason"]


def test_prior_completions_add_up_and_a_certified_carry_over_replaces_the_computed_one_up_to_max_hours(con):
    rules = [entry(total_hours=20, min_hours_by_category={}, once_by_category={"hiv_aids": 7}, carry_over={"max_hours": 10})]
    evaluate(con, rules, [license_row("000001"), license_row("000002")], [
        credit("P1", "2024-01-01", 30), credit("P1", "2024-01-01", 30, employee_id="000002"),
    ], [
        adjustment("prior_completion", "CERT-1", requirement="once_hiv_aids", hours=3),
        adjustment("prior_completion", "CERT-2", requirement="once_hiv_aids", hours=4),
        adjustment("carry_over", "OH-BANK-12", hours=6),
        adjustment("carry_over", "OH-BANK-13", employee_id="000002", hours=15),
    ], as_of=AS_OF)
    assert progress(con)["once_hiv_aids"] == (7, 7, True)
    found = compliance(con)
    assert (found["000001", "LPC"]["carried_hours"], found["000002", "LPC"]["carried_hours"]) == (6, 10)
    assert ledger(con)["P1"][:2] == ("excluded", "outside_cycle")  # the certificate is the evidence, not the ledger


def test_adjustments_that_cannot_apply_are_kept_and_say_why(con):
    evaluate(con, [entry()], [license_row("000001", "2027-04-30")], [], [
        adjustment("waiver", "A-1", requirement="ethics", cycle_end="2025-04-30"),
        adjustment("waiver", "A-2", requirement="law"),
        adjustment("carry_over", "A-3", hours=5),
        adjustment("exemption", "A-4", employee_id="000099"),
        adjustment("prior_completion", "A-5", requirement="ethics", hours=2),
    ], as_of=AS_OF)
    found = {r["reference"]: (r["applied"], r["why_not"]) for r in rows(con, "select * from license_adjustments")}
    assert found == {
        "A-1": (False, "for the cycle ending 2025-04-30, not the current one ending 2027-04-30"),
        "A-2": (False, "the license's rules entry has no requirement law"),
        "A-3": (False, "the license's rules entry has no carry_over"),
        "A-4": (False, "no roster license matches"),
        "A-5": (False, "a prior completion counts toward a one-time (once_<category>) requirement, not ethics"),
    }
    row = compliance(con)["000001", "LPC"]
    assert row["status"] == "on_track" and "A-" not in row["status_reason"]


# ------------------------------------------------------------------------------------------------
# The adjustments file through the real graph: its suite, its quarantine and its reconciliation
# ------------------------------------------------------------------------------------------------

ADJUSTMENTS_HEADER = ["employee_id", "license_state", "license_type", "kind", "requirement", "hours", "until", "cycle_end", "reference", "note"]


def test_an_adjustments_file_is_validated_quarantined_and_reconciled_like_any_input(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001", license_expiration_date="2026-10-31")],
        board=[board_row(course_id="G", completion_date="2025-06-01", hours="24"), board_row(course_id="E", completion_date="2025-07-01", hours="4", **{"Subject Area": "Ethics"})],
        config=BASE_CONFIG + "adjustments: {path: adjustments/*.csv}\n",
    )
    write_csv(tmp_path / "landing" / "adjustments" / "decisions.csv", ADJUSTMENTS_HEADER, [
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "extension", "until": "2027-01-31", "reference": "EXT-1"},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "extenshun", "until": "2027-01-31", "reference": "EXT-2"},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "waiver", "requirement": "ethics", "reference": ""},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "prior_completion", "requirement": "once_ethics", "reference": "PC-1"},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "extension", "until": "2026-09-30", "reference": "EXT-3"},
        {"employee_id": "000077", "license_state": "TX", "license_type": "LPC", "kind": "extension", "until": "2027-01-31", "reference": "X-9"},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "waiver", "requirement": "law", "reference": "W-4"},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "", "requirement": "total", "reference": "R-1"},
        # a cycle named in another date format is not the current cycle: never applied to it
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "waiver", "requirement": "ethics", "cycle_end": "2024/10/31", "reference": "W-5"},
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "waiver", "requirement": "ethics", "cycle_end": "2024-10-31", "reference": "W-6"},
    ])  # fmt: skip
    assert materialize(config, "2026-11-25").success
    exceptions = query(config, "select * from data_quality_exceptions where source_file like 'adjustments/%' order by source_row, \"check\"")
    assert [(r["source_row"], r["check"], r["action"], r["column"], r["value"]) for r in exceptions] == [
        (3, "unknown_adjustment_kind", "quarantined", "kind", "extenshun"),
        (4, "missing_reference", "quarantined", "reference", None),
        (5, "invalid_adjustment_hours", "quarantined", "hours", None),
        (6, "invalid_until", "quarantined", "until", "2026-09-30"),
        (7, "unmatched_license", "warned", "employee_id", "000077"),
        (8, "adjustment_not_applied", "warned", "requirement", "law"),
        (9, "missing_adjustment_kind", "quarantined", "kind", None),
        (10, "invalid_cycle_end", "quarantined", "cycle_end", "2024/10/31"),
        (11, "adjustment_not_applied", "warned", "cycle_end", "2024-10-31"),
    ]
    [file] = query(config, "select rows_read, rows_accepted, rows_quarantined from input_files where source_file = 'adjustments/decisions.csv'")
    assert (file["rows_read"], file["rows_accepted"], file["rows_quarantined"]) == (10, 4, 6)
    [row] = query(config, "select status, deadline, status_reason from clinician_compliance")
    assert (row["status"], str(row["deadline"])) == ("compliant", "2027-01-31")
    assert "extension EXT-1 until 2027-01-31" in row["status_reason"]
