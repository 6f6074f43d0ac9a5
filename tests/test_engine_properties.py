"""Invariants of the compliance SQL on random rules and credits (hypothesis), in a real DuckDB file:
a version-1 entry against compliance rules 1-8 (docs/compliance.md) written out in Python, every further requirement only ever
taking compliance away, carried hours within their bounds, and hours_remaining covering every shortfall."""

import datetime as dt
import decimal

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import credit, evaluate, license_row, rows

D = decimal.Decimal
AS_OF = dt.date(2026, 11, 25)
DELIVERIES = ["live", "live_online", "self_study"]
CATEGORIES = ["general", "ethics", "cultural_competency"]
HOURS = st.decimals(min_value=D("0.1"), max_value=D("20"), places=1)
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def scenarios(draw):
    """A version-1 entry (total, category minimums, delivery caps), up to three people and their credits."""
    total = draw(st.integers(min_value=1, max_value=40))
    rule = {
        "license_state": "TX", "license_type": "LPC", "cycle_months": 24, "total_hours": total, "source": "property test",
        "min_hours_by_category": draw(st.dictionaries(st.sampled_from(CATEGORIES[1:]), st.integers(1, 8), max_size=2)),
        "max_hours_by_delivery": draw(st.dictionaries(st.sampled_from(DELIVERIES), st.integers(0, total), max_size=2)),
    }
    people = draw(st.integers(min_value=1, max_value=3))
    licenses = [
        license_row(f"{p:06d}", (AS_OF + dt.timedelta(days=draw(st.integers(-200, 700)))).isoformat()) for p in range(people)
    ]
    credits = [
        credit(
            f"C{draw(st.integers(0, 8))}",
            (AS_OF - dt.timedelta(days=draw(st.integers(0, 1500)))).isoformat(),
            draw(HOURS),
            employee_id=f"{draw(st.integers(0, people - 1)):06d}",
            category=draw(st.sampled_from(CATEGORIES)),
            delivery=draw(st.sampled_from(DELIVERIES)),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=25)))
    ]
    return rule, licenses, credits


def expected_v1(rule, license, credits):
    """Compliance rules 1-8 for one license, written out directly: (counted, hours_remaining, status)."""
    end = license["license_expiration_date"]
    month = end.month - rule["cycle_months"] % 12
    year = end.year - rule["cycle_months"] // 12 - (month <= 0)
    month = month + 12 if month <= 0 else month
    last_day = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    start = dt.date(year, month, min(end.day, last_day)) + dt.timedelta(days=1)
    mine = sorted(
        ((c, i) for i, c in enumerate(credits) if c["person_id"] == license["employee_id"]), key=lambda pair: pair[1]
    )
    seen_same_day, seen_in_cycle, eligible = set(), set(), []
    for c, i in mine:
        if not start <= c["completion_date"] <= end:
            continue
        key = (c["course_key"], c["completion_date"])
        if key in seen_same_day:
            continue
        seen_same_day.add(key)
        eligible.append((c, i))
    counted, by_category, used = D(0), {}, {}
    for c, i in sorted(eligible, key=lambda pair: (pair[0]["completion_date"], pair[0]["course_id"], pair[1])):
        if c["course_key"] in seen_in_cycle:
            continue
        seen_in_cycle.add(c["course_key"])
        by_category[c["category"]] = by_category.get(c["category"], D(0)) + c["hours"]
        cap = rule["max_hours_by_delivery"].get(c["delivery"])
        take = c["hours"] if cap is None else max(D(0), min(c["hours"], cap - used.get(c["delivery"], D(0))))
        used[c["delivery"]] = used.get(c["delivery"], D(0)) + take
        counted += take
    total_short = max(D(rule["total_hours"]) - counted, D(0))
    category_short = sum((max(D(h) - by_category.get(k, D(0)), D(0)) for k, h in rule["min_hours_by_category"].items()), D(0))
    met = total_short == 0 and category_short == 0
    days = (end - AS_OF).days
    status = "compliant" if met else "overdue" if days < 0 else "at_risk" if days <= 90 else "on_track"
    return counted, max(total_short, category_short), status


def outcomes(con):
    return {r["employee_id"]: r for r in rows(con, "select * from clinician_compliance")}


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_a_version_1_entry_gives_what_spec_rules_1_to_8_give(tmp_path, scenario):
    rule, licenses, credits = scenario
    with duckdb.connect(str(tmp_path / "v1.duckdb")) as con:
        found = outcomes(evaluate(con, [rule], licenses, credits, as_of=AS_OF))
        for license in licenses:
            row = found[license["employee_id"]]
            assert (row["counted_hours"], row["hours_remaining"], row["status"]) == expected_v1(rule, license, credits)
            assert row["carried_hours"] == 0 and row["deadline"] == license["license_expiration_date"]
        bad = con.execute(
            "select count(*) from credit_ledger where counted_hours < 0 or counted_hours > hours "
            "or (decision = 'excluded' and counted_hours <> 0) or (decision = 'counted' and counted_hours <> hours)"
        ).fetchone()[0]
        assert bad == 0


MORE_REQUIREMENTS = st.sampled_from([
    {"once_by_category": {"ethics": 3}},
    {"min_hours_by_category": {"cultural_competency": 2}},
    {"min_share_from": {"accreditations": ["APA"], "fraction": "1/4"}},
    {"max_fraction_by_delivery": {"self_study": "1/3"}},
    {"min_credit_hours": {"*": 1}},
    {"conditional": [{"role": "supervisor", "min_hours_by_category": {"supervision": 2}}]},
    {"every_nth_cycle": [{"every": 2, "anchor": "2020-01-31", "min_hours_by_category": {"law": 1}}]},
])


def with_more(rule: dict, more: dict) -> dict:
    """The entry with `more` added: a field it already has keeps its own items beside the new ones, and
    the larger of two minimums for the same category (a further requirement never lowers one)."""
    merged = dict(rule)
    for field, value in more.items():
        if isinstance(value, dict) and field in rule:
            value = {key: max(hours, rule[field].get(key, hours)) for key, hours in {**rule[field], **value}.items()}
        merged[field] = value
    return merged


@PROPERTY_SETTINGS
@given(scenario=scenarios(), more=MORE_REQUIREMENTS)
def test_a_further_requirement_never_makes_a_license_compliant(tmp_path, scenario, more):
    rule, licenses, credits = scenario
    licenses = [dict(license, roles=["supervisor"]) for license in licenses]
    with duckdb.connect(str(tmp_path / "before.duckdb")) as con:
        before = outcomes(evaluate(con, [rule], licenses, credits, as_of=AS_OF))
    with duckdb.connect(str(tmp_path / "after.duckdb")) as con:
        after = outcomes(evaluate(con, [with_more(rule, more)], licenses, credits, as_of=AS_OF))
    for employee_id, row in after.items():
        if row["status"] == "compliant":
            assert before[employee_id]["status"] == "compliant"
        assert row["hours_remaining"] >= before[employee_id]["hours_remaining"]


@PROPERTY_SETTINGS
@given(scenario=scenarios(), max_hours=st.integers(min_value=0, max_value=15), once=st.booleans())
def test_carried_hours_stay_within_max_hours_and_the_previous_excess_and_hours_remaining_covers_every_shortfall(
    tmp_path, scenario, max_hours, once
):
    rule, licenses, credits = scenario
    rule = {**rule, "carry_over": {"max_hours": max_hours}, **({"once_by_category": {"ethics": 2}} if once else {})}
    with duckdb.connect(str(tmp_path / "carry.duckdb")) as con:
        evaluate(con, [rule], licenses, credits, as_of=AS_OF)
        for carry in rows(con, "select * from license_carry_over"):
            assert 0 <= carry["carried_hours"] <= min(D(max_hours), carry["excess_hours"])
            ledger_carried = con.execute(
                "select coalesce(sum(counted_hours), 0) from credit_decisions where license_id = ? and reason = 'carried_over'",
                [carry["license_id"]],
            ).fetchone()[0]
            assert ledger_carried == carry["carried_hours"]
        for row in rows(con, "select * from clinician_compliance"):
            shortfalls = rows(con, "select shortfall_hours from requirement_progress where license_id = ?", [row["license_id"]])
            assert all(row["hours_remaining"] >= s["shortfall_hours"] for s in shortfalls)
            assert (row["status"] == "compliant") == (row["unmet_requirements"] is None)
