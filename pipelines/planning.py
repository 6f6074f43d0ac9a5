"""Learning plans (SPEC "Learning plans"): per person with a gap, the catalog courses that close it at least cost.

A person's plan is a small integer program: one yes/no variable per candidate course, and per
planned license one constraint per unmet category minimum (category hours count before caps) and one
for the total (a capped delivery adds at most the hours its cap still leaves, a continuous variable
bounded by that room and by the chosen courses' hours of that delivery). It is solved exactly with
HiGHS through `scipy.optimize.milp`, lexicographically: least cost, then fewest hours, then the
tie-break (fewest courses, then the smallest sum of the courses' positions in course_id order).

People whose licenses have the same gap signature (rule, shortfalls, cap room, candidates already
completed) get the same plan, so each signature is solved once.

Plain functions, no Dagster and no DuckDB: `assets/plans.py` feeds them frames from the warehouse.
"""

from __future__ import annotations

import dataclasses
import decimal
import itertools
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp

HOUR_UNITS = 10_000  # hours and costs are exact decimals with 4 places: solved as whole ten-thousandths
TOTAL = "total"
CLOSES_GAP, NO_PLAN = "closes_gap", "no_plan"
# Below this many signatures a process pool costs more than it saves.
PARALLEL_FROM_SIGNATURES = 400


@dataclasses.dataclass(frozen=True)
class Course:
    course_id: str
    hours: decimal.Decimal
    cost: decimal.Decimal
    category: str
    delivery: str


@dataclasses.dataclass(frozen=True)
class LicenseGap:
    """What one planned license still needs; equal gaps get equal plans.

    `cap_room` names every capped delivery of the rule with the hours its cap still leaves, at most
    the total shortfall (more room than that cannot matter); it is empty when the total is met.
    `completed` holds the catalog courses the person already completed in this license's cycle.
    """

    rule: tuple[str, str]  # (license_state, license_type)
    total_shortfall: decimal.Decimal
    category_shortfalls: tuple[tuple[str, decimal.Decimal], ...]  # (category, hours), by category
    cap_room: tuple[tuple[str, decimal.Decimal], ...]  # (delivery, hours), by delivery
    completed: frozenset[str]

    @staticmethod
    def of(
        rule: tuple[str, str],
        total_shortfall: decimal.Decimal,
        category_shortfalls: Mapping[str, decimal.Decimal],
        cap_room: Mapping[str, decimal.Decimal],
        completed: Iterable[str],
    ) -> LicenseGap:
        room = tuple(sorted((d, min(h, total_shortfall)) for d, h in cap_room.items())) if total_shortfall > 0 else ()
        return LicenseGap(
            rule=rule,
            total_shortfall=total_shortfall,
            category_shortfalls=tuple(sorted((c, h) for c, h in category_shortfalls.items() if h > 0)),
            cap_room=room,
            completed=frozenset(completed),
        )


@dataclasses.dataclass(frozen=True)
class Plan:
    """The courses to take and, per planned license (in the order given), what no candidate can meet."""

    courses: tuple[str, ...]  # course ids, in course_id order
    counts_for: tuple[tuple[int, ...], ...]  # per course: the positions of the licenses it counts for
    unmeetable: tuple[tuple[str, ...], ...]  # per license: `total` first, then categories A-Z


@dataclasses.dataclass(frozen=True)
class Catalog:
    courses: dict[str, Course]
    candidates_by_rule: dict[tuple[str, str], tuple[str, ...]]  # courses whose accreditation and states the rule accepts


def _units(value: decimal.Decimal) -> int:
    return int(value * HOUR_UNITS)


def _adds_to(course: Course, gap: LicenseGap, needed: set[str]) -> bool:
    """Whether the course adds hours to one of `needed` (requirements of the license) under its rule."""
    if course.category in needed:
        return True
    if TOTAL not in needed:
        return False
    room = dict(gap.cap_room)
    return course.delivery not in room or room[course.delivery] > 0


def _total_reach(gap: LicenseGap, courses: list[Course]) -> decimal.Decimal:
    """Total hours the courses can add to the license: uncapped hours plus what each cap still leaves."""
    room = dict(gap.cap_room)
    by_delivery: dict[str, decimal.Decimal] = {}
    for course in courses:
        by_delivery[course.delivery] = by_delivery.get(course.delivery, decimal.Decimal(0)) + course.hours
    return sum((min(h, room[d]) if d in room else h for d, h in by_delivery.items()), decimal.Decimal(0))


def unmeetable_requirements(gap: LicenseGap, candidates: list[Course]) -> tuple[str, ...]:
    """What even every candidate together cannot meet (every requirement grows with each course taken,
    so requirements that all candidates meet one by one are met by all candidates at once)."""
    unmeetable = [TOTAL] if gap.total_shortfall > 0 and _total_reach(gap, candidates) < gap.total_shortfall else []
    for category, hours in gap.category_shortfalls:
        if sum((c.hours for c in candidates if c.category == category), decimal.Decimal(0)) < hours:
            unmeetable.append(category)
    return tuple(unmeetable)


def _lexicographic_milp(objectives: list[np.ndarray], a: np.ndarray, lower: np.ndarray, upper: np.ndarray, integrality: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Minimise each objective in turn, holding the earlier ones at their optimum (all integer-valued)."""
    rows, lows, highs = [a], [lower], [upper]
    solution = None
    for objective in objectives:
        result = milp(
            objective,
            constraints=LinearConstraint(np.vstack(rows), np.concatenate(lows), np.concatenate(highs)),
            integrality=integrality,
            bounds=bounds,
            # HiGHS's presolve (scipy 1.17.1) was seen to return a $131 plan as optimal with gap 0 where a
            # $130 plan met every row (bench signature, NY LMFT); without presolve it finds $130.
            options={"mip_rel_gap": 0, "presolve": False},
        )
        if result.status != 0:
            raise RuntimeError(f"the plan's integer program did not solve: {result.message}")
        solution = result.x
        optimum = round(float(objective @ solution))
        rows.append(objective[None, :])
        lows.append(np.array([-np.inf]))
        highs.append(np.array([optimum + 0.5]))
    return solution


def solve_plan_milp(gaps: tuple[LicenseGap, ...], catalog: Catalog) -> Plan:
    """The straightforward formulation: the whole program, three HiGHS solves (see `solve_plan`).

    `solve_plan` falls back to it, unchanged, whenever its exact shortcut cannot vouch that the plan is
    the only optimum (so HiGHS's own pick among equal plans stays what it always was)."""
    candidates, unmeetable, needed, closable, useful = _setup(gaps, catalog)
    position = {course_id: i for i, course_id in enumerate(useful)}
    plan_courses: tuple[str, ...] = ()
    if useful:
        n = len(useful)
        cap_variables = [(i, d) for i, gap in enumerate(gaps) if TOTAL in closable[i] for d, room in gap.cap_room if room > 0]
        width = n + len(cap_variables)
        a_rows, lower, upper = [], [], []
        for i, gap in enumerate(gaps):
            mine = [c for c in candidates[i] if c.course_id in position]
            for category, hours in gap.category_shortfalls:
                if category in closable[i]:
                    row = np.zeros(width)
                    for c in mine:
                        if c.category == category:
                            row[position[c.course_id]] = _units(c.hours)
                    a_rows.append(row), lower.append(_units(hours)), upper.append(np.inf)
            if TOTAL in closable[i]:
                room = dict(gap.cap_room)
                row = np.zeros(width)
                for c in mine:
                    if c.delivery not in room:
                        row[position[c.course_id]] = _units(c.hours)
                for v, (license_index, delivery) in enumerate(cap_variables):
                    if license_index != i:
                        continue
                    row[n + v] = 1
                    # a capped delivery adds no more than the chosen courses of that delivery hold
                    link = np.zeros(width)
                    link[n + v] = 1
                    for c in mine:
                        if c.delivery == delivery:
                            link[position[c.course_id]] = -_units(c.hours)
                    a_rows.append(link), lower.append(-np.inf), upper.append(0)
                a_rows.append(row), lower.append(_units(gap.total_shortfall)), upper.append(np.inf)
        room_bounds = [_units(dict(gaps[i].cap_room)[d]) for i, d in cap_variables]
        courses = [catalog.courses[c] for c in useful]
        pad = np.zeros(len(cap_variables))
        objectives = [
            np.concatenate([[_units(c.cost) for c in courses], pad]),
            np.concatenate([[_units(c.hours) for c in courses], pad]),
            np.concatenate([[n + 1 + rank for rank in range(n)], pad]),  # fewest courses, then earliest course_ids
        ]
        solution = _lexicographic_milp(
            objectives,
            np.vstack(a_rows),
            np.array(lower, dtype=float),
            np.array(upper, dtype=float),
            integrality=np.concatenate([np.ones(n), np.zeros(len(cap_variables))]),
            bounds=Bounds(np.zeros(width), np.concatenate([np.ones(n), room_bounds])),
        )
        plan_courses = tuple(c for c, x in zip(useful, solution[:n], strict=True) if x > 0.5)
    candidate_ids = [{c.course_id for c in cands} for cands in candidates]
    counts_for = tuple(
        tuple(i for i, gap in enumerate(gaps) if c in candidate_ids[i] and _adds_to(catalog.courses[c], gap, needed[i]))
        for c in plan_courses
    )
    return Plan(courses=plan_courses, counts_for=counts_for, unmeetable=unmeetable)


# ------------------------------------------------------------------------------------------------
# The fast exact path. The program above has few requirement rows (a license's categories, its total
# and its capped deliveries) and hours on a coarse grid, so `solve_plan` first solves it by dynamic
# programming over the requirements' progress, and only uses HiGHS where that cannot vouch for the
# same plan. Everything is in whole ten-thousandths (Python ints / int64), nothing is rounded.
#
# Objective. The lexicographic (cost, hours, key) order, key = the third stage's sum of n + 1 + rank,
# is the order of the single integer cost' * W1 + hours' * W2 + key with W2 = sum of all keys + 1 and
# W1 = (sum of all hours' + 1) * W2 (cost' and hours' divided by their gcd): the lower terms of any
# two subsets differ by less than the weight above them. Used only when it fits in int64.
#
# Pruning (dominance). Course a dominates b when a adds at least as much as b to every requirement
# row (category hours, uncapped hours, each capped delivery's hours, per license) and
# (cost, hours, key)(a) < (cost, hours, key)(b) lexicographically (keys are distinct, so this is a
# strict total order). In any optimal plan S containing b, every dominator a of b is in S as well:
# else S - b + a still meets every requirement (each requirement grows with the rows' sums) and is
# strictly better. So b can be in no optimal plan (i) when b's dominators alone meet every closable
# requirement (they are then a strictly better plan: a proper subset, and every course has a key > 0),
# or (ii) when b plus its dominators already cost more, lexicographically, than a known plan (costs,
# hours and keys are >= 0, so supersets never get cheaper). The optimal plans of the pruned problem
# are therefore exactly those of the whole one.
#
# Same plan, not just the same optimum. The DP counts the optimal plans (up to 2). With exactly one,
# it is the plan every exact solver returns, the old three HiGHS solves included. With two or more
# (a full tie on cost, hours and key), or when the state space or the weights are too large, the
# straightforward formulation is solved instead, as before, so HiGHS picks as it always did.
# ------------------------------------------------------------------------------------------------

DP_STATE_LIMIT = 4_000_000  # states x courses above which the DP hands over to HiGHS
_INF = np.iinfo(np.int64).max // 4


@dataclasses.dataclass
class _Rows:
    """The program's requirement rows: per course its contribution to each row, and the thresholds."""

    matrix: np.ndarray  # (courses, rows) int64
    minimums: list[tuple[int, int]]  # (row, units): a category minimum
    totals: list[tuple[int, list[tuple[int, int]], int]]  # (uncapped row, [(capped row, room)], units)


def _setup(gaps: tuple[LicenseGap, ...], catalog: Catalog):
    """Per license: its candidates, what no candidate can meet, what it needs and can close; and the
    courses that add to something closable (both solvers start here)."""
    candidates = [
        [catalog.courses[c] for c in catalog.candidates_by_rule.get(gap.rule, ()) if c not in gap.completed] for gap in gaps
    ]
    unmeetable = tuple(unmeetable_requirements(gap, cands) for gap, cands in zip(gaps, candidates, strict=True))
    needed = [
        ({TOTAL} if gap.total_shortfall > 0 else set()) | {c for c, _ in gap.category_shortfalls}
        for gap in gaps
    ]
    closable = [n - set(u) for n, u in zip(needed, unmeetable, strict=True)]
    useful = sorted(
        {c.course_id for gap, cands, wanted in zip(gaps, candidates, closable, strict=True) for c in cands if _adds_to(c, gap, wanted)}
    )
    return candidates, unmeetable, needed, closable, useful


def _counts_for(plan_courses, gaps, candidates, needed, catalog) -> tuple[tuple[int, ...], ...]:
    candidate_ids = [{c.course_id for c in cands} for cands in candidates]
    return tuple(
        tuple(i for i, gap in enumerate(gaps) if c in candidate_ids[i] and _adds_to(catalog.courses[c], gap, needed[i]))
        for c in plan_courses
    )


def _rows(gaps, candidates, closable, useful) -> _Rows:
    """The same rows as `solve_plan_milp` builds, one column per requirement row instead of per course."""
    position = {course_id: i for i, course_id in enumerate(useful)}
    columns, minimums, totals = [], [], []

    def column(courses, keep) -> int:
        col = np.zeros(len(useful), dtype=np.int64)
        for c in courses:
            if keep(c):
                col[position[c.course_id]] = _units(c.hours)
        columns.append(col)
        return len(columns) - 1

    for i, gap in enumerate(gaps):
        mine = [c for c in candidates[i] if c.course_id in position]
        for category, hours in gap.category_shortfalls:
            if category in closable[i]:
                minimums.append((column(mine, lambda c, category=category: c.category == category), _units(hours)))
        if TOTAL in closable[i]:
            room = dict(gap.cap_room)
            uncapped = column(mine, lambda c, room=room: c.delivery not in room)
            capped = [
                (column(mine, lambda c, d=d: c.delivery == d), _units(r)) for d, r in gap.cap_room if r > 0
            ]
            totals.append((uncapped, capped, _units(gap.total_shortfall)))
    matrix = np.stack(columns, axis=1) if columns else np.zeros((len(useful), 0), dtype=np.int64)
    return _Rows(matrix, minimums, totals)


def _meets(sums: np.ndarray, rows: _Rows) -> np.ndarray:
    """Per line of `sums` (the rows' sums of some set of courses, in units): whether it meets every row."""
    ok = np.ones(sums.shape[0], dtype=bool)
    for row, units in rows.minimums:
        ok &= sums[:, row] >= units
    for uncapped, capped, units in rows.totals:
        added = sums[:, uncapped].copy()
        for row, room in capped:
            added += np.minimum(sums[:, row], room)
        ok &= added >= units
    return ok


def _prune(rows: _Rows, cost: np.ndarray, hours: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Which courses can be in an optimal plan (see the dominance argument above)."""
    n = len(cost)
    order = np.lexsort((key, hours, cost))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    v = rows.matrix
    dominates = (v[:, None, :] >= v[None, :, :]).all(axis=2) & (rank[:, None] < rank[None, :])  # [a, b]: a dominates b
    dominators = dominates.T.astype(np.int64)  # [b, a]
    keep = ~_meets(dominators @ v, rows)  # (i)
    # (ii) a known plan: the courses in (cost, hours, key) order until every row is met, then drop the ones not needed
    taken, sums = [], np.zeros(v.shape[1], dtype=np.int64)
    for i in order:
        taken.append(int(i))
        sums += v[i]
        if _meets(sums[None, :], rows)[0]:
            break
    else:
        return keep  # cannot happen (every closable requirement is met by all useful courses); no bound then
    for i in sorted(taken, key=lambda j: -rank[j]):
        if _meets((sums - v[i])[None, :], rows)[0]:
            sums -= v[i]
            taken.remove(i)
    bound = (int(cost[taken].sum()), int(hours[taken].sum()), int(key[taken].sum()))
    with_b = dominators + np.eye(n, dtype=np.int64)
    c, h, k = with_b @ cost, with_b @ hours, with_b @ key
    worse = (c > bound[0]) | ((c == bound[0]) & ((h > bound[1]) | ((h == bound[1]) & (k > bound[2]))))
    return keep & ~worse


def _push(values: np.ndarray, counts: np.ndarray, axis: int, step: int, top: int):
    """Moves every state `step` up along `axis`, states beyond `top` landing on `top` (min, counting ties)."""
    if step == 0:
        return values, counts
    out_v = np.full_like(values, _INF)
    out_c = np.zeros_like(counts)
    size = top + 1
    lo = max(top - step, 0)
    src = [slice(None)] * values.ndim
    dst = [slice(None)] * values.ndim
    if top - step > 0:
        src[axis], dst[axis] = slice(0, top - step), slice(step, top)
        out_v[tuple(dst)] = values[tuple(src)]
        out_c[tuple(dst)] = counts[tuple(src)]
    src[axis] = slice(lo, size)
    block_v, block_c = values[tuple(src)], counts[tuple(src)]
    best = block_v.min(axis=axis, keepdims=True)
    ties = np.where(block_v == best, block_c, 0).sum(axis=axis, keepdims=True)
    dst[axis] = slice(top, size)
    out_v[tuple(dst)] = best
    out_c[tuple(dst)] = np.minimum(ties, 2)
    return out_v, out_c


def _solve_by_dp(rows: _Rows, cost: np.ndarray, hours: np.ndarray, key: np.ndarray) -> list[int] | None:
    """The unique optimal plan (course indices), or None when there is a tie or the DP is too large."""
    kept = np.flatnonzero(_prune(rows, cost, hours, key))
    v = rows.matrix[kept]
    nonzero = v[v > 0]
    if nonzero.size == 0:
        return None
    grid = int(np.gcd.reduce(nonzero))
    row_tops = np.zeros(v.shape[1], dtype=np.int64)
    for row, units in rows.minimums:
        row_tops[row] = -(-units // grid)
    for uncapped, capped, units in rows.totals:
        row_tops[uncapped] = -(-units // grid)
        for row, room in capped:
            row_tops[row] = -(-room // grid)
    # rows with the same column over the kept courses (e.g. two licenses' totals from the same courses)
    # share one DP axis, saturating at the larger of their tops: every row's test reads the same sum
    _, first_row, axis_of = np.unique(v.T, axis=0, return_index=True, return_inverse=True)
    axis_of = axis_of.ravel()
    width = len(first_row)
    tops = np.zeros(width, dtype=np.int64)
    np.maximum.at(tops, axis_of, row_tops)
    steps = np.minimum(v[:, first_row] // grid, tops)
    shape = tuple(int(t) + 1 for t in tops)
    states = int(np.prod(shape, dtype=np.float64))
    if states * max(len(kept), 1) > DP_STATE_LIMIT:
        return None
    c_scale = int(np.gcd.reduce(cost)) or 1
    h_scale = int(np.gcd.reduce(hours)) or 1
    w2 = int(key.sum()) + 1
    w1 = (int(hours.sum()) // h_scale + 1) * w2
    if (int(cost.sum()) // c_scale + 1) * w1 >= _INF // 2:
        return None
    weight = (cost // c_scale) * w1 + (hours // h_scale) * w2 + key
    values = np.full(shape, _INF, dtype=np.int64)
    counts = np.zeros(shape, dtype=np.int8)
    values.flat[0], counts.flat[0] = 0, 1
    history = []
    for j, i in enumerate(kept):
        moved_v, moved_c = values + int(weight[i]), counts
        for axis in range(width):
            moved_v, moved_c = _push(moved_v, moved_c, axis, int(steps[j, axis]), int(tops[axis]))
        moved_v = np.where(moved_c > 0, moved_v, _INF)
        history.append(values)
        better = moved_v < values
        same = (moved_v == values) & (moved_c > 0)
        counts = np.where(better, moved_c, np.where(same, np.minimum(counts + moved_c, 2), counts)).astype(np.int8)
        values = np.where(better, moved_v, values)
    coords = np.indices(shape).reshape(width, -1).T[:, axis_of] * grid
    done = _meets(coords, rows) & (values.ravel() < _INF)
    if not done.any():
        return None
    best = values.ravel()[done].min()
    at = np.flatnonzero(done & (values.ravel() == best))
    if len(at) != 1 or counts.flat[at[0]] != 1:
        return None
    # walk back: at each course, either the value was already there without it, or it came from a source state
    state = np.array(np.unravel_index(at[0], shape))
    value, chosen = int(best), []
    for j in range(len(kept) - 1, -1, -1):
        before = history[j]
        if int(before[tuple(state)]) == value:
            continue
        ranges = []
        for axis in range(width):
            s, t, top = int(state[axis]), int(steps[j, axis]), int(tops[axis])
            ranges.append(range(max(top - t, 0), top + 1) if s == top and t > 0 else ([s - t] if s - t >= 0 else []))
        target = value - int(weight[kept[j]])
        for source in itertools.product(*ranges):
            if int(before[source]) == target:
                state, value = np.array(source), target
                break
        else:
            return None
        chosen.append(int(kept[j]))
    return sorted(chosen)


def solve_plan(gaps: tuple[LicenseGap, ...], catalog: Catalog) -> Plan:
    """The least-cost set of candidate courses that meets every requirement some candidates can meet.

    Exactly `solve_plan_milp`'s plan: the DP above when it finds the single optimum, else that."""
    candidates, unmeetable, needed, closable, useful = _setup(gaps, catalog)
    if not useful:
        return Plan(courses=(), counts_for=(), unmeetable=unmeetable)
    rows = _rows(gaps, candidates, closable, useful)
    courses = [catalog.courses[c] for c in useful]
    cost = np.array([_units(c.cost) for c in courses], dtype=np.int64)
    hours = np.array([_units(c.hours) for c in courses], dtype=np.int64)
    key = np.arange(len(useful), dtype=np.int64) + len(useful) + 1
    chosen = _solve_by_dp(rows, cost, hours, key)
    if chosen is None:
        return solve_plan_milp(gaps, catalog)
    plan_courses = tuple(useful[i] for i in chosen)
    return Plan(courses=plan_courses, counts_for=_counts_for(plan_courses, gaps, candidates, needed, catalog), unmeetable=unmeetable)


def _solve_all(signatures: list[tuple[LicenseGap, ...]], catalog: Catalog) -> list[Plan]:
    return [solve_plan(signature, catalog) for signature in signatures]


def solve_signatures(signatures: list[tuple[LicenseGap, ...]], catalog: Catalog, workers: int | None = None) -> list[Plan]:
    """One plan per signature; many signatures are spread over the machine's cores."""
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers < 2 or len(signatures) < PARALLEL_FROM_SIGNATURES:
        return _solve_all(signatures, catalog)
    chunks = [signatures[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        solved = list(pool.map(_solve_all, chunks, [catalog] * workers))
    plans: list[Plan] = [None] * len(signatures)  # type: ignore[list-item]
    for offset, chunk in enumerate(solved):
        plans[offset::workers] = chunk
    return plans


PLAN_SCHEMA = {"employee_id": pl.String, "course_id": pl.String, "licenses": pl.String, "complete_by": pl.Date}
STATUS_SCHEMA = {"license_id": pl.Int64, "plan": pl.String, "reason": pl.String}


@dataclasses.dataclass(frozen=True)
class PlannedOrganisation:
    courses: pl.DataFrame  # PLAN_SCHEMA: one row per person and planned course
    statuses: pl.DataFrame  # STATUS_SCHEMA: one row per planned license
    people: int
    signatures: int  # distinct gap signatures, i.e. integer programs solved


def _gap(row: dict) -> LicenseGap:
    return LicenseGap.of(
        rule=(row["license_state"], row["license_type"]),
        total_shortfall=row["total_shortfall"],
        category_shortfalls={s["category"]: s["hours"] for s in row["category_shortfalls"] or ()},
        cap_room={s["delivery"]: s["hours"] for s in row["cap_room"] or ()},
        completed=row["completed_course_ids"] or (),
    )


def catalog_of(courses: pl.DataFrame, rule_candidates: pl.DataFrame) -> Catalog:
    """The catalog from its courses (course_id, hours, cost, category, delivery) and, per rule, its candidates."""
    by_rule: dict[tuple[str, str], list[str]] = {}
    for state, license_type, course_id in rule_candidates.select("license_state", "license_type", "course_id").iter_rows():
        by_rule.setdefault((state, license_type), []).append(course_id)
    return Catalog(
        courses={
            r["course_id"]: Course(r["course_id"], r["hours"], r["cost"], r["category"], r["delivery"])
            for r in courses.iter_rows(named=True)
        },
        candidates_by_rule={rule: tuple(sorted(ids)) for rule, ids in by_rule.items()},
    )


def plan_organisation(licenses: pl.DataFrame, catalog: Catalog, workers: int | None = None) -> PlannedOrganisation:
    """Plans for every person of `licenses` (the planned licenses, ordered by person and license key)."""
    people: dict[str, list[dict]] = {}
    for row in licenses.iter_rows(named=True):
        people.setdefault(row["employee_id"], []).append(row)
    signature_index: dict[tuple[LicenseGap, ...], int] = {}
    person_signature = {}
    for employee_id, rows in people.items():
        signature = tuple(_gap(r) for r in rows)
        person_signature[employee_id] = signature_index.setdefault(signature, len(signature_index))
    plans = solve_signatures(list(signature_index), catalog, workers)

    plan_rows, status_rows = [], []
    for employee_id, rows in people.items():
        plan = plans[person_signature[employee_id]]
        for course_id, license_positions in zip(plan.courses, plan.counts_for, strict=True):
            counted = [rows[i] for i in license_positions]
            plan_rows.append(
                (
                    employee_id,
                    course_id,
                    ";".join(f"{r['license_state']} {r['license_type']}" for r in counted),
                    min(r["cycle_end"] for r in counted),
                )
            )
        for row, unmeetable in zip(rows, plan.unmeetable, strict=True):
            status_rows.append((row["license_id"], NO_PLAN if unmeetable else CLOSES_GAP, ";".join(unmeetable) or None))
    return PlannedOrganisation(
        courses=pl.DataFrame(plan_rows, schema=PLAN_SCHEMA, orient="row"),
        statuses=pl.DataFrame(status_rows, schema=STATUS_SCHEMA, orient="row"),
        people=len(people),
        signatures=len(signature_index),
    )
