"""Learning plans (docs/learning_plans.md): hand-derived plans on tiny deployments run through the real graph,
the catalog's bad rows, and a property test of the solver against brute force over every subset."""

import csv
import decimal
import itertools
import json

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, example, given, settings

from pipelines import planning
from pipelines.planning import TOTAL, Catalog, Course, LicenseGap, Minimum, solve_plan, solve_plan_milp
from tests.support import CATALOG_HEADER, board_row, catalog_row, make_deployment, materialize, query, roster_row, write_csv

D = decimal.Decimal
AS_OF = "2026-11-25"


def rule(state, license_type, total, minimums=None, caps=None, accreditations=None):
    entry = {
        "license_state": state, "license_type": license_type, "cycle_months": 24, "total_hours": total,
        "min_hours_by_category": minimums or {}, "max_hours_by_delivery": caps or {},
        "source": "test", "effective_date": "2020-01-01",
    }
    if accreditations:
        entry["accepted_accreditations"] = accreditations
    return entry


TX_LPC = rule("TX", "LPC", 24, {"ethics": 4}, {"self_study": 12})


def plan_of(tmp_path, roster, board, catalog, rules=(TX_LPC,)):
    config = make_deployment(tmp_path, roster=roster, board=board, rules=list(rules), catalog=catalog)
    result = materialize(config, AS_OF)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["learning_plans_close_gaps"]
    courses = {}
    for r in query(config, "select * from learning_plans"):
        courses.setdefault(r["employee_id"], []).append(r)
    statuses = {(r["employee_id"], r["license_state"], r["license_type"]): (r["plan"], r["reason"]) for r in query(config, "select * from learning_plan_status")}
    return courses, statuses


def ids(rows):
    return [r["course_id"] for r in rows]


def test_a_cheap_course_already_completed_in_the_cycle_is_not_proposed(tmp_path):
    # 17.5 + 1 (K-CHEAP) + 0.5 (K-TITLE by its case-folded title, no course id) + 4 ethics = 23 of 24: one hour short
    board = [
        board_row(course_id="C-1", hours="17.5"),
        board_row(course_id="K-CHEAP", hours="1"),
        board_row(course_id="", hours="0.5", **{"Course Title": "STRASSE boundaries REFRESHER"}),
        board_row(course_id="C-ETH", hours="4", **{"Subject Area": "Ethics"}),
    ]
    catalog = [
        catalog_row("K-CHEAP", hours="1", cost="5"),
        catalog_row("K-TITLE", hours="1", cost="8", course_title="Straße Boundaries Refresher"),
        catalog_row("K-MID", hours="1", cost="15"),
        catalog_row("K-BIG", hours="3", cost="20"),
    ]
    courses, statuses = plan_of(tmp_path, [roster_row("000001")], board, catalog)
    assert ids(courses["000001"]) == ["K-MID"]
    assert statuses[("000001", "TX", "LPC")] == ("closes_gap", None)


def test_a_later_run_solves_only_signatures_it_has_not_seen_and_a_changed_catalog_solves_all(tmp_path):
    def signatures_solved(result):
        return result.asset_materializations_for_node("learning_plans")[0].metadata["signatures_solved"].value

    def plans():
        return [(r["employee_id"], r["course_id"]) for r in query(config, "select * from learning_plans order by all")]

    roster = [roster_row("000001"), roster_row("000002"), roster_row("000003")]
    board = [board_row("7000001", hours="20"), board_row("7000002", hours="20"), board_row("7000003", hours="22")]
    catalog = [catalog_row("K-1", hours="2", cost="10"), catalog_row("K-ETH", hours="4", cost="30", category="ethics")]
    config = make_deployment(tmp_path, roster=roster, board=board, rules=[TX_LPC], catalog=catalog)
    first = materialize(config, AS_OF)
    assert signatures_solved(first) == 2  # 000001 and 000002 share their gap
    planned = plans()
    assert planned == [("000001", "K-ETH"), ("000002", "K-ETH"), ("000003", "K-ETH")]

    again = materialize(config, AS_OF)
    assert signatures_solved(again) == 0 and plans() == planned

    write_csv(tmp_path / "landing" / "catalog" / "catalog.csv", CATALOG_HEADER, [*catalog, catalog_row("K-ETH2", hours="4", cost="25", category="ethics")])
    changed = materialize(config, AS_OF)
    assert signatures_solved(changed) == 2
    assert plans() == [("000001", "K-ETH2"), ("000002", "K-ETH2"), ("000003", "K-ETH2")]


def test_a_self_study_cap_already_used_up_forces_a_live_course(tmp_path):
    # 12 self-study (the cap) + 4 ethics + 4 general live = 20: four hours short, and self-study adds nothing
    board = [
        board_row(course_id="C-SS", hours="12", **{"Delivery Method": "Self-Study"}),
        board_row(course_id="C-ETH", hours="4", **{"Subject Area": "Ethics"}),
        board_row(course_id="C-GEN", hours="4"),
    ]
    catalog = [
        catalog_row("K-SS", hours="4", cost="10", delivery="self_study"),
        catalog_row("K-WEB", hours="4", cost="45", delivery="live_online"),
        catalog_row("K-LIVE", hours="4", cost="50"),
    ]
    courses, statuses = plan_of(tmp_path, [roster_row("000001")], board, catalog)
    assert ids(courses["000001"]) == ["K-WEB"]
    assert courses["000001"][0]["cost"] == D("45")


def test_a_license_whose_board_accepts_no_catalog_ethics_course_gets_no_plan_for_ethics_and_the_rest_closed(tmp_path):
    oh = rule("OH", "LPCC", 10, {"ethics": 3}, accreditations=["OH_BOARD"])
    catalog = [
        catalog_row("K-ETH", hours="3", cost="10", category="ethics"),  # NBCC: not accepted in Ohio
        catalog_row("K-OH", hours="10", cost="40", accreditation="OH_BOARD"),
        catalog_row("K-NONE", hours="10", cost="1", accreditation=""),  # no accreditation: not accepted either
    ]
    roster = [roster_row("000001", license_state="OH", license_type="LPCC")]
    courses, statuses = plan_of(tmp_path, roster, [], catalog, rules=[oh])
    assert ids(courses["000001"]) == ["K-OH"]
    assert statuses[("000001", "OH", "LPCC")] == ("no_plan", "ethics")


def test_one_course_serves_both_licenses_of_a_person_and_is_due_by_the_earlier_cycle_end(tmp_path):
    tx_lcsw = rule("TX", "LCSW", 30, {"ethics": 6})
    roster = [
        roster_row("000001", license_expiration_date="2027-04-30"),
        roster_row("000001", license_type="LCSW", license_number="5000001", license_expiration_date="2027-02-28"),
    ]
    board = [board_row(course_id="C-1", hours="30")]  # both totals met; ethics 4 (LPC) and 6 (LCSW) missing
    catalog = [
        catalog_row("K-ETH2", hours="2", cost="10", category="ethics"),
        catalog_row("K-ETH4", hours="4", cost="25", category="ethics"),
        catalog_row("K-ETH6", hours="6", cost="30", category="ethics"),
    ]
    courses, statuses = plan_of(tmp_path, roster, board, catalog, rules=[TX_LPC, tx_lcsw])
    [course] = courses["000001"]
    assert (course["course_id"], course["licenses"], str(course["complete_by"])) == ("K-ETH6", "TX LCSW;TX LPC", "2027-02-28")
    assert statuses == {("000001", "TX", "LCSW"): ("closes_gap", None), ("000001", "TX", "LPC"): ("closes_gap", None)}


def test_a_state_specific_course_is_offered_only_to_that_states_licenses(tmp_path):
    rules = [rule("TX", "LPC", 10, {"law": 2}), rule("CA", "LPCC", 10, {"law": 2})]
    roster = [roster_row("000001"), roster_row("000002", license_state="CA", license_type="LPCC", license_number="LPCC 2")]
    board = [board_row("7000001", "C-1", hours="10"), board_row("LPCC 2", "C-1", hours="10", **{"License State": "CA"})]
    catalog = [
        catalog_row("K-TXLAW", hours="2", cost="5", category="law", states="TX"),
        catalog_row("K-LAW", hours="2", cost="25", category="law", states="ca; TX"),
    ]
    courses, _ = plan_of(tmp_path, roster, board, catalog, rules=rules)
    assert ids(courses["000001"]) == ["K-TXLAW"]
    assert ids(courses["000002"]) == ["K-LAW"]


def test_bad_catalog_rows_are_quarantined_with_row_and_column_and_reconcile(tmp_path):
    catalog = [
        catalog_row("K-1"),
        catalog_row("", hours="1"),
        catalog_row("K-2", hours=""),
        catalog_row("K-3", cost=""),
        catalog_row("K-4", cost="-5"),
        catalog_row("K-1", cost="1"),  # a repeated course_id: the first row is kept
        catalog_row("K-5", category="Astrology", delivery="Podcast", states="Texas"),
    ]
    config = make_deployment(tmp_path, roster=[roster_row("000001")], rules=[TX_LPC], catalog=catalog)
    assert materialize(config, AS_OF).success
    exceptions = {(r["source_row"], r["check"], r["column"], r["action"]) for r in query(config, "select * from course_catalog_exceptions")}
    assert exceptions == {
        (3, "missing_course_id", "course_id", "quarantined"),
        (4, "invalid_hours", "hours", "quarantined"),
        (5, "invalid_cost", "cost", "quarantined"),
        (6, "negative_cost", "cost", "quarantined"),
        (7, "duplicate_course_id", "course_id", "quarantined"),
        (8, "unknown_category", "category", "warned"),
        (8, "unknown_delivery", "delivery", "warned"),
        (8, "invalid_states", "states", "warned"),
    }
    kept = {r["course_id"]: r for r in query(config, "select * from course_catalog")}
    assert sorted(kept) == ["K-1", "K-5"] and kept["K-1"]["cost"] == D("10")
    assert (kept["K-5"]["category"], kept["K-5"]["delivery"]) == ("general", "self_study")
    [catalog_file] = query(config, "select * from input_files where input_kind = 'course_catalog'")
    assert (catalog_file["rows_read"], catalog_file["rows_accepted"], catalog_file["rows_quarantined"]) == (7, 2, 5)


def test_a_configured_catalog_without_a_file_means_no_plans_not_a_failed_run(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], rules=[TX_LPC], catalog=[])
    (tmp_path / "landing" / "catalog" / "catalog.csv").unlink()
    result = materialize(config, AS_OF, through_publish=True)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert not checks["course_catalog_files_readable"] and checks["learning_plans_close_gaps"]
    assert query(config, "select * from learning_plans") == []
    assert query(config, "select has_catalog from learning_plan_info") == [{"has_catalog": False}]


def test_plan_extracts_are_neutralised_in_the_manifest_and_byte_identical_on_rerun(tmp_path):
    catalog = [catalog_row("K-1", hours="24", cost="99.5", category="general", course_title='=HYPERLINK("x")'), catalog_row("K-ETH", hours="4", category="ethics")]
    config = make_deployment(tmp_path, roster=[roster_row("000001", first_name="-Ana")], rules=[TX_LPC], catalog=catalog)
    site = tmp_path / "out" / "latest"
    assert materialize(config, AS_OF, through_publish=True).success
    first = {name: (site / name).read_bytes() for name in ("learning_plans.csv", "learning_plan_status.csv")}
    assert materialize(config, AS_OF, through_publish=True).success
    assert first == {name: (site / name).read_bytes() for name in first}
    with (site / "learning_plans.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["course_id"], r["course_title"], r["first_name"], r["cost"], r["hours"]) for r in rows] == [
        ("K-1", "'=HYPERLINK(\"x\")", "'-Ana", "99.5", "24"),
        ("K-ETH", "Catalog course K-ETH", "'-Ana", "10", "4"),
    ]
    assert (site / "learning_plan_status.csv").read_text(encoding="utf-8-sig").splitlines() == [
        "employee_id,license_state,license_type,license_number,plan,reason",
        "000001,TX,LPC,7000001,closes_gap,",
    ]
    outputs = {o["file"] for o in json.loads((site / "manifest.json").read_text())["outputs"]}
    assert {"learning_plans.csv", "learning_plan_status.csv"} <= outputs


def test_plans_close_one_time_and_listed_provider_requirements_under_fraction_caps(tmp_path):
    shaped = {
        **rule("TX", "LPC", 20, caps={}), "max_fraction_by_delivery": {"self_study": "1/4"},
        "once_by_category": {"hiv_aids": 3}, "min_share_from": {"accreditations": ["NBCC"], "fraction": "1/2"},
        "min_credit_hours": {"*": 1},
    }
    courses, statuses = plan_of(
        tmp_path,
        [roster_row("000001", license_expiration_date="2027-04-30")],
        [
            board_row(course_id="K-HIV-OLD", completion_date="2012-05-01", hours="2", Accreditation="NBCC", **{"Subject Area": "hiv_aids"}),
            board_row(course_id="G", completion_date="2026-01-10", hours="10", Accreditation="APA"),
        ],
        [
            catalog_row("K-SS", hours="8", cost="10", delivery="self_study"),  # a quarter of 20 = 5 h; listed, but capped
            catalog_row("K-L", hours="10", cost="100"),
            catalog_row("K-A", hours="10", cost="20", accreditation="APA"),
            catalog_row("K-HIV-NEW", hours="1", cost="30", category="hiv_aids", accreditation="APA"),
            catalog_row("K-HIV-OLD", hours="2", cost="5", category="hiv_aids"),  # completed in 2012: no first completion
            catalog_row("K-SHORT", hours="0.5", cost="1"),  # shorter than the entry's shortest credit
        ],
        rules=(shaped,),
    )
    assert ids(courses["000001"]) == ["K-HIV-NEW", "K-L"]
    assert statuses["000001", "TX", "LPC"] == ("closes_gap", None)


def test_a_course_completed_after_an_overdue_cycle_for_a_one_time_requirement_is_not_planned_again(tmp_path):
    # overdue since 2026-10-31; K-A, completed late on 2026-11-20, meets once_hiv_aids: taken again inside the cycle
    # it would be the first completion and take the requirement from the real one, so the $5 course closes the gap
    entry = {**rule("TX", "LPC", 10), "once_by_category": {"hiv_aids": 2}}
    board = [
        board_row(course_id="C-1", hours="8", completion_date="2025-06-01"),
        board_row(course_id="K-A", hours="2", completion_date="2026-11-20", **{"Subject Area": "hiv_aids"}),
    ]
    catalog = [catalog_row("K-A", hours="2", cost="1"), catalog_row("K-B", hours="2", cost="5")]
    courses, statuses = plan_of(tmp_path, [roster_row("000001", license_expiration_date="2026-10-31")], board, catalog, rules=(entry,))
    assert ids(courses["000001"]) == ["K-B"]
    assert statuses["000001", "TX", "LPC"] == ("closes_gap", None)


TX_LISTED_QUARTER = {**rule("TX", "LPC", 20, caps={"self_study": 5}), "min_share_from": {"accreditations": ["NBCC"], "fraction": "1/4"}}
APA_LIVE_15 = [board_row(course_id="G", hours="15", Accreditation="APA")]  # 5 h short of the total and of the listed 1/4


def test_a_listed_provider_course_of_a_capped_delivery_counts_toward_the_share_within_the_room_its_cap_leaves(tmp_path):
    # the only listed-provider course is self-study: 8 h, of which the cap's 5 h of room count, toward the total and the share
    catalog = [catalog_row("K-SSN", hours="8", cost="10", delivery="self_study"), catalog_row("K-A", hours="5", cost="5", accreditation="APA")]
    courses, statuses = plan_of(tmp_path, [roster_row("000001")], APA_LIVE_15, catalog, rules=(TX_LISTED_QUARTER,))
    assert ids(courses["000001"]) == ["K-SSN"]
    assert statuses["000001", "TX", "LPC"] == ("closes_gap", None)


def test_a_plan_counts_its_listed_provider_courses_first_under_a_cap_and_the_engine_agrees(tmp_path):
    # self-study room 5: the listed K-SSN fills it, and the ethics course (before caps) adds to ethics alone, so $11
    # closes everything; counted in course_id order instead, K-ETH-SS would take 2 h of the room and the share fall short
    entry = {**TX_LISTED_QUARTER, "min_hours_by_category": {"ethics": 2}}
    catalog = [
        catalog_row("K-SSN", hours="5", cost="10", delivery="self_study"),
        catalog_row("K-ETH-SS", hours="2", cost="1", delivery="self_study", category="ethics", accreditation="APA"),
        catalog_row("K-LN", hours="5", cost="50"),
        catalog_row("K-ETH-L", hours="2", cost="20", category="ethics", accreditation="APA"),
    ]
    courses, statuses = plan_of(tmp_path, [roster_row("000001")], APA_LIVE_15, catalog, rules=(entry,))
    assert ids(courses["000001"]) == ["K-ETH-SS", "K-SSN"]
    assert sum(r["cost"] for r in courses["000001"]) == D("11")
    assert statuses["000001", "TX", "LPC"] == ("closes_gap", None)


# ------------------------------------------------------------------------------------------------
# The solver against brute force: random small catalogs, one or two licenses
# ------------------------------------------------------------------------------------------------

CATEGORIES = ("general", "ethics", "law")
DELIVERIES = ("live", "live_online", "self_study")
RULES = {1: ("self_study",), 2: ("self_study", "live_online")}  # capped deliveries per rules entry (rule_id)
ACCREDITATIONS = ("NBCC", "APA", None)
LISTED = ("NBCC",)
halves = st.integers(min_value=0, max_value=16).map(lambda n: D(n) / 2)


@st.composite
def planning_problems(draw, most_courses, hours, costs, total_shortfalls):
    """One or two licenses of two rules over a small random catalog, some candidates already completed (in
    the cycle, or ever: what a one-time requirement cannot take again); minimums of every kind."""
    courses = {}
    for i in range(draw(st.integers(min_value=0, max_value=most_courses))):
        course_id = f"K{i}"
        courses[course_id] = Course(
            course_id,
            hours=draw(hours),
            cost=draw(costs),
            category=draw(st.sampled_from(CATEGORIES)),
            delivery=draw(st.sampled_from(DELIVERIES)),
            accreditation=draw(st.sampled_from(ACCREDITATIONS)),
        )
    candidates = {r: tuple(sorted(c for c in courses if draw(st.booleans()) or draw(st.booleans()))) for r in RULES}
    gaps = []
    for rule_key in draw(st.sampled_from([[1], [2], [2, 1]])):
        minimums = [Minimum(c, "category", c, draw(halves)) for c in ("ethics", "law") if draw(st.booleans())]
        if draw(st.booleans()):
            minimums.append(Minimum("once_ethics", "once", "ethics", draw(halves)))
        if draw(st.booleans()):
            minimums.append(Minimum("listed_providers", "listed_providers", None, draw(halves)))
        gaps.append(
            LicenseGap.of(
                rule=rule_key,
                total_shortfall=draw(total_shortfalls),
                minimums=minimums,
                cap_room={d: draw(halves) for d in RULES[rule_key]},
                completed=[c for c in candidates[rule_key] if draw(st.integers(0, 4)) == 0],
                listed=LISTED,
                ever_completed=[c for c in courses if draw(st.integers(0, 3)) == 0],
            )
        )
    return tuple(gaps), Catalog(courses=courses, candidates_by_rule=candidates)


def problems():
    return planning_problems(
        most_courses=8,
        hours=st.integers(min_value=1, max_value=12).map(lambda n: D(n) / 2),
        costs=st.integers(min_value=0, max_value=60).map(D),
        total_shortfalls=halves,
    )


def within_caps(courses: list[Course], room: dict) -> D:
    """The courses' hours, each capped delivery's at most what its cap still leaves."""
    by_delivery = {}
    for c in courses:
        by_delivery[c.delivery] = by_delivery.get(c.delivery, D(0)) + c.hours
    return sum((min(h, room[d]) if d in room else h for d, h in by_delivery.items()), D(0))


def meets(gap: LicenseGap, taken: list[Course], requirements) -> bool:
    """The planning rules written out directly: a category before caps; a one-time topic only from a course
    never completed before; the total with each cap bounding its delivery's hours; listed providers from
    the listed courses counted toward the total, those of a capped delivery counted first."""
    for requirement in requirements:
        if requirement == TOTAL:
            added = within_caps(taken, dict(gap.cap_room))
            needed = gap.total_shortfall
        elif (minimum := gap.minimum(requirement)).kind == "listed_providers":
            added = within_caps([c for c in taken if c.accreditation in LISTED], {d: dict(gap.listed_room)[d] for d in RULES[gap.rule]})
            needed = minimum.hours
        else:
            fresh = [c for c in taken if not (minimum.kind == "once" and c.course_id in gap.ever_completed)]
            added = sum((c.hours for c in fresh if c.category == minimum.category), D(0))
            needed = minimum.hours
        if added < needed:
            return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_the_plan_closes_every_closable_requirement_at_the_brute_force_least_cost_then_fewest_hours(problem):
    gaps, catalog = problem
    candidates = [[catalog.courses[c] for c in catalog.candidates_by_rule[g.rule] if c not in g.completed] for g in gaps]
    needed = [([TOTAL] if g.total_shortfall > 0 else []) + [m.requirement for m in g.minimums] for g in gaps]
    requirements = [[r for r in n if meets(g, cands, [r])] for g, cands, n in zip(gaps, candidates, needed, strict=True)]
    plan = solve_plan(gaps, catalog)
    assert plan.unmeetable == tuple(tuple(r for r in n if r not in reqs) for n, reqs in zip(needed, requirements, strict=True))

    def closes(chosen: set[str]) -> bool:
        return all(
            meets(g, [c for c in cands if c.course_id in chosen], reqs)
            for g, cands, reqs in zip(gaps, candidates, requirements, strict=True)
        )

    assert closes(set(plan.courses))
    best = min(
        (sum((catalog.courses[c].cost for c in s), D(0)), sum((catalog.courses[c].hours for c in s), D(0)))
        for n in range(len(catalog.courses) + 1)
        for s in itertools.combinations(sorted(catalog.courses), n)
        if closes(set(s))
    )
    assert (sum((catalog.courses[c].cost for c in plan.courses), D(0)), sum((catalog.courses[c].hours for c in plan.courses), D(0))) == best


# ------------------------------------------------------------------------------------------------
# The fast paths (shared DP tables, the bounded search, licenses' own plans; HiGHS only on ties or large
# cases) against brute force and against HiGHS alone, on random cases, some built to tie (few prices
# and hours), planned together so that signatures share tables and licenses' own plans
# ------------------------------------------------------------------------------------------------


def tying_problems():
    """Few prices and hours, so that plans tie; some shortfalls off the half-hour grid."""
    return planning_problems(
        most_courses=9,
        hours=st.sampled_from([D(1), D(2), D("1.5"), D(3)]),
        costs=st.sampled_from([D(0), D(10), D(20), D("10.5")]),
        total_shortfalls=st.integers(min_value=0, max_value=14).map(lambda n: D(n) / 2 + D("0.3") * (n % 3 == 1)),
    )


@st.composite
def organisations(draw):
    """One catalog and many signatures on it: some of one shape (sharing a table), pairs whose licenses
    are also planned alone."""
    gaps, catalog = draw(st.one_of(problems(), tying_problems()))
    signatures = {gaps}
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        more, _ = draw(st.one_of(problems(), tying_problems()))
        signatures.add(tuple(g for g in more if set(g.completed) <= set(catalog.candidates_by_rule[g.rule])))
    return [s for s in signatures if s], catalog


def order(plan, catalog) -> tuple:
    """What plans are ranked by: cost, hours, then the tie-break (course count, then position sum)."""
    positions = {c: i for i, c in enumerate(sorted(catalog.courses))}
    return (
        sum((catalog.courses[c].cost for c in plan.courses), D(0)),
        sum((catalog.courses[c].hours for c in plan.courses), D(0)),
        len(plan.courses),
        sum(positions[c] for c in plan.courses),
    )


def _course(course_id, hours, cost, delivery):
    return Course(course_id=course_id, hours=D(hours), cost=D(cost), category="general", delivery=delivery, accreditation="NBCC")


# Found by the property below: HiGHS without presolve called the hours tie-break stage infeasible although
# the cost stage's plan satisfied it.
_TIE_BREAK_CALLED_INFEASIBLE = (
    [(LicenseGap(rule=2, total_shortfall=D("5.3"), minimums=(), cap_room=(("live_online", D(2)), ("self_study", D("4.5"))),
                 completed=frozenset({"K0", "K4"}), listed=frozenset(), listed_room=(), ever_completed=frozenset()),)],
    Catalog(
        courses={c.course_id: c for c in (
            _course("K0", "1", "0", "live"), _course("K1", "1", "0", "live"), _course("K2", "1", "0", "live_online"),
            _course("K3", "3", "10", "self_study"), _course("K4", "1", "0", "live"), _course("K5", "1", "10", "live"),
            _course("K6", "1.5", "10.5", "self_study"), _course("K7", "2", "10.5", "live"), _course("K8", "2", "10", "live_online"),
        )},
        candidates_by_rule={1: ("K1", "K5", "K6", "K7", "K8"), 2: ("K0", "K2", "K3", "K4", "K5", "K6", "K7", "K8")},
    ),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
@example(_TIE_BREAK_CALLED_INFEASIBLE)
def test_planning_an_organisation_gives_every_signature_a_plan_ranked_as_highs_alone_ranks_its_best(organisation):
    signatures, catalog = organisation
    plans = planning.solve_signatures(signatures, catalog, workers=1)
    for gaps, plan in zip(signatures, plans, strict=True):
        reference = solve_plan_milp(gaps, catalog)
        assert plan.unmeetable == reference.unmeetable
        assert order(plan, catalog) == order(reference, catalog)
        assert plan == solve_plan(gaps, catalog)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(problems(), tying_problems()))
def test_a_plan_that_is_the_single_best_by_cost_hours_and_tie_break_is_the_one_returned(problem):
    """Brute force over every subset of candidates: where one plan alone is least by (cost, hours, course
    count, position sum), every path returns exactly it."""
    gaps, catalog = problem
    candidates = [[catalog.courses[c] for c in catalog.candidates_by_rule[g.rule] if c not in g.completed] for g in gaps]
    needed = [([TOTAL] if g.total_shortfall > 0 else []) + [m.requirement for m in g.minimums] for g in gaps]
    requirements = [[r for r in n if meets(g, cands, [r])] for g, cands, n in zip(gaps, candidates, needed, strict=True)]
    pool = sorted({c.course_id for cands in candidates for c in cands})
    ranked = sorted(
        (order(planning.Plan(s, (), ()), catalog), s)
        for n in range(len(pool) + 1)
        for s in itertools.combinations(pool, n)
        if all(
            meets(g, [c for c in cands if c.course_id in s], reqs)
            for g, cands, reqs in zip(gaps, candidates, requirements, strict=True)
        )
    )
    if len(ranked) == 1 or ranked[0][0] != ranked[1][0]:
        assert solve_plan(gaps, catalog).courses == ranked[0][1]
        assert solve_plan_milp(gaps, catalog).courses == ranked[0][1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_with_no_room_for_tables_or_searches_highs_ranks_the_same_plans_first(organisation):
    """The size limits set to nothing: every signature falls through to HiGHS on its pruned program."""
    signatures, catalog = organisation
    with pytest.MonkeyPatch.context() as limits:
        limits.setattr(planning, "TABLE_CELL_LIMIT", 0)
        limits.setattr(planning, "SPARSE_STATE_LIMIT", 0)
        plans = planning.solve_signatures(signatures, catalog, workers=1)
    for gaps, plan in zip(signatures, plans, strict=True):
        fast = solve_plan(gaps, catalog)
        assert (plan.unmeetable, order(plan, catalog)) == (fast.unmeetable, order(fast, catalog))

