"""Learning plans (docs/learning_plans.md): per person with a gap, the catalog courses that close it at least cost.

A person's plan is a small integer program: one yes/no variable per candidate course, and per
planned license one constraint per unmet minimum and one for the total (a capped delivery adds at most
the hours its cap still leaves, a continuous variable bounded by that room and by the chosen courses'
hours of that delivery). A minimum is a requirement other than the total (license_requirements.sql):
a category's minimum takes the hours of courses in that category before caps; a one-time
`once_<category>` the same, but only from courses the person never completed before (a one-time
requirement takes a course's first completion); `listed_providers` the hours of courses from listed
accreditations, those of a capped delivery up to the hours its cap still leaves (the share counts hours
counted toward the total, and a cap counts the earliest completions first: a plan counts on its
listed-provider courses of a capped delivery being completed before its other courses of that
delivery, which docs/learning_plans.md tells the reader). Plans are ranked by least
cost, then fewest hours, then the tie-break (fewest courses, then the smallest sum of the courses'
positions in the catalog's course_id order). It is solved exactly: by dynamic programming where that
can vouch for the single best plan, else by HiGHS through `scipy.optimize.milp` (see "Solving").

People whose licenses have the same gap signature (rule, shortfalls, cap room, candidates already
completed) get the same plan, so each signature is solved once; a plan depends on nothing else but
the catalog, so the plans of one run are kept (keyed by `signature_key` and `catalog_fingerprint`)
and a later run solves only the signatures it has not seen.

Plain functions, no Dagster and no DuckDB: `assets/plans.py` feeds them frames from the warehouse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import itertools
import json
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp

from pipelines.hashing import fingerprint_of

HOUR_UNITS = 10_000  # hours and costs are exact decimals with 4 places: solved as whole ten-thousandths
TOTAL = "total"
CLOSES_GAP, NO_PLAN = "closes_gap", "no_plan"
# Below this many signatures a process pool costs more than it saves.
PARALLEL_FROM_SIGNATURES = 400
# Part of every catalog fingerprint: bump it when the same signature and catalog would get another plan.
PLANNER_VERSION = 3


@dataclasses.dataclass(frozen=True)
class Course:
    course_id: str
    hours: decimal.Decimal
    cost: decimal.Decimal
    category: str
    delivery: str
    accreditation: str | None = None


@dataclasses.dataclass(frozen=True, order=True)
class Minimum:
    """A requirement other than the total that a license still misses: what it needs, and of which courses."""

    requirement: str  # its name, e.g. ethics, once_hiv_aids, listed_providers
    kind: str  # category | once | listed_providers
    category: str | None
    hours: decimal.Decimal


@dataclasses.dataclass(frozen=True)
class LicenseGap:
    """What one planned license still needs; equal gaps get equal plans.

    `cap_room` names every capped delivery of the rule with the hours its cap still leaves, at most
    the total shortfall (more room than that cannot matter); it is empty when the total is met.
    `completed` holds the catalog courses the person already completed in this license's cycle.
    The rest is kept only where a minimum reads it, so that more gaps are equal: `listed` (the
    listed-provider accreditations) and `listed_room` (every capped delivery with the hours its cap
    still leaves, at most the listed-provider shortfall) for listed_providers, and `ever_completed`
    (catalog courses the person completed on any date) for a one-time requirement.
    """

    rule: int  # the rules entry's rule_id
    total_shortfall: decimal.Decimal
    minimums: tuple[Minimum, ...]  # by requirement name
    cap_room: tuple[tuple[str, decimal.Decimal], ...]  # (delivery, hours), by delivery
    completed: frozenset[str]
    listed: frozenset[str] = frozenset()
    listed_room: tuple[tuple[str, decimal.Decimal], ...] = ()  # (delivery, hours), by delivery
    ever_completed: frozenset[str] = frozenset()

    @staticmethod
    def of(
        rule: int,
        total_shortfall: decimal.Decimal,
        minimums: Iterable[Minimum],
        cap_room: Mapping[str, decimal.Decimal],
        completed: Iterable[str],
        listed: Iterable[str] = (),
        ever_completed: Iterable[str] = (),
    ) -> LicenseGap:
        room = tuple(sorted((d, min(h, total_shortfall)) for d, h in cap_room.items())) if total_shortfall > 0 else ()
        minimums = tuple(sorted(m for m in minimums if m.hours > 0))
        kinds = {m.kind for m in minimums}
        listed_shortfall = next((m.hours for m in minimums if m.kind == "listed_providers"), decimal.Decimal(0))
        return LicenseGap(
            rule=rule,
            total_shortfall=total_shortfall,
            minimums=minimums,
            cap_room=room,
            completed=frozenset(completed),
            listed=frozenset(listed) if "listed_providers" in kinds else frozenset(),
            listed_room=tuple(sorted((d, min(h, listed_shortfall)) for d, h in cap_room.items())) if "listed_providers" in kinds else (),
            ever_completed=frozenset(ever_completed) if "once" in kinds else frozenset(),
        )

    def minimum(self, requirement: str) -> Minimum | None:
        return next((m for m in self.minimums if m.requirement == requirement), None)

    @property
    def capped(self) -> frozenset[str]:
        """The deliveries the rule caps, where a listed_providers minimum reads them."""
        return frozenset(d for d, _ in self.listed_room)


@dataclasses.dataclass(frozen=True)
class Plan:
    """The courses to take and, per planned license (in the order given), what no candidate can meet."""

    courses: tuple[str, ...]  # course ids, in course_id order
    counts_for: tuple[tuple[int, ...], ...]  # per course: the positions of the licenses it counts for
    unmeetable: tuple[tuple[str, ...], ...]  # per license: `total` first, then categories A-Z


@dataclasses.dataclass(frozen=True)
class Catalog:
    courses: dict[str, Course]
    candidates_by_rule: dict[int, tuple[str, ...]]  # by rule_id: courses whose accreditation, hours and states it accepts


def _units(value: decimal.Decimal) -> int:
    return int(value * HOUR_UNITS)


def is_listed(course: Course, gap: LicenseGap) -> bool:
    return (course.accreditation or "").upper() in gap.listed


def adds_to_minimum(course: Course, gap: LicenseGap, minimum: Minimum) -> bool:
    """Whether the course, completed in the license's cycle, adds its hours to the minimum (a listed-provider
    course of a capped delivery: up to the hours its cap still leaves, see `minimum_reach`)."""
    if minimum.kind == "listed_providers":
        return is_listed(course, gap) and dict(gap.listed_room).get(course.delivery, 1) > 0
    if minimum.kind == "once" and course.course_id in gap.ever_completed:
        return False
    return course.category == minimum.category


def _capped_sum(courses: Iterable[Course], room: Mapping[str, decimal.Decimal]) -> decimal.Decimal:
    """The courses' hours, each capped delivery's at most its room."""
    by_delivery: dict[str, decimal.Decimal] = {}
    for course in courses:
        by_delivery[course.delivery] = by_delivery.get(course.delivery, decimal.Decimal(0)) + course.hours
    return sum((min(h, room[d]) if d in room else h for d, h in by_delivery.items()), decimal.Decimal(0))


def minimum_reach(gap: LicenseGap, minimum: Minimum, courses: list[Course]) -> decimal.Decimal:
    """The hours the courses add to the minimum."""
    adding = [c for c in courses if adds_to_minimum(c, gap, minimum)]
    return _capped_sum(adding, dict(gap.listed_room)) if minimum.kind == "listed_providers" else sum((c.hours for c in adding), decimal.Decimal(0))


def _adds_to(course: Course, gap: LicenseGap, needed: set[str]) -> bool:
    """Whether the course adds hours to one of `needed` (requirements of the license) under its rule."""
    if any(adds_to_minimum(course, gap, m) for m in gap.minimums if m.requirement in needed):
        return True
    if TOTAL not in needed:
        return False
    room = dict(gap.cap_room)
    return course.delivery not in room or room[course.delivery] > 0


def unmeetable_requirements(gap: LicenseGap, candidates: list[Course]) -> tuple[str, ...]:
    """What even every candidate together cannot meet (every requirement grows with each course taken,
    so requirements that all candidates meet one by one are met by all candidates at once)."""
    unmeetable = [TOTAL] if gap.total_shortfall > 0 and _capped_sum(candidates, dict(gap.cap_room)) < gap.total_shortfall else []
    for minimum in gap.minimums:
        if minimum_reach(gap, minimum, candidates) < minimum.hours:
            unmeetable.append(minimum.requirement)
    return tuple(unmeetable)


# ------------------------------------------------------------------------------------------------
# Solving. Per signature the program has few requirement rows (per license: its unmet minimums, the
# hours of its uncapped deliveries, the hours of each capped delivery and, for a listed-provider share,
# the listed hours of each capped delivery) over hours on a coarse grid,
# so it is solved exactly by dynamic programming over the rows' progress, in whole ten-thousandths
# (Python ints / int64, nothing rounded). HiGHS (`scipy.optimize.milp`) solves the same program where
# the DP cannot vouch for its plan: a full tie, or a state space too large.
#
# Order. Plans are ordered by (cost, hours, key), key = the sum of the courses' tie-break keys:
# B + the course's position in the catalog's course_id order, B = n(n-1)/2 + 1 for n catalog courses,
# so fewer courses always come first (a difference of position sums is below B), then the smaller
# position sum. The DP minimises the single integer cost' * W1 + hours' * W2 + key, W2 = sum of all
# keys + 1 and W1 = (sum of all hours' + 1) * W2 (cost' and hours' divided by their gcd): the lower
# terms of two subsets differ by less than the weight above them. Used only when it fits in int64.
#
# 1. Licenses alone. Signatures of one shape (the same rules and completed courses, so the same
#    candidates) differ only in their thresholds. One dense DP table, saturating each row at the
#    group's largest threshold, holds per progress state the least weight of any subset reaching it
#    (and how many subsets do, up to 2); each signature's plan is the least state meeting its
#    thresholds, walked back. Every license of the organisation is planned this way first.
# 2. Several licenses. A license's own single best plan that also closes the person's other licenses
#    is the person's single best plan (any plan closing them all closes that license). Otherwise the
#    person's program is pruned (below) and solved by a sparse DP that keeps only states that can
#    still lead to a plan of weight <= tau: a state's weight plus, per requirement, the least weight
#    the remaining courses need to close what it misses. tau rises from the heaviest of the licenses'
#    own plans (no plan is lighter) towards a known plan's weight; every least plan survives the bound.
#
# Pruning (a signature alone). Course a dominates b when a adds at least as much as b to every row and
# (cost, hours, key)(a) < (cost, hours, key)(b) (keys are distinct: a strict total order). In any
# optimal plan S containing b, every dominator a of b is in S as well: else S - b + a still meets every
# requirement (each requirement grows with the rows' sums) and is strictly better. So b can be in no
# optimal plan (i) when b's dominators alone meet every closable requirement (a strictly better plan),
# or (ii) when b plus its dominators already order after a known plan (costs, hours and keys are >= 0,
# so supersets never come first). The optimal plans of the pruned problem are exactly the whole one's.
#
# Same plan on every path. With one optimal state reached by exactly one subset, that subset is the
# plan every exact solver returns. Otherwise (plans equal on cost, hours, course count and position sum,
# which is rare) HiGHS picks one, deterministically for the same input.
# ------------------------------------------------------------------------------------------------

TABLE_CELL_LIMIT = 16_000_000  # states x courses above which a group's shared table is not built (128 MB)
SPARSE_STATE_LIMIT = 200_000  # live states above which a signature's bounded DP hands over to HiGHS
TAU_SHARES = (4, 2, 1)  # the bounded DP tries tau = lower + (upper - lower) / share, in turn
_INF = np.iinfo(np.int64).max // 4


@dataclasses.dataclass(frozen=True)
class _Setup:
    """Per license of a signature: its candidates, what no candidate can meet, what it needs and can close."""

    candidates: list[list[Course]]
    unmeetable: tuple[tuple[str, ...], ...]
    needed: list[set[str]]
    closable: list[set[str]]

    @staticmethod
    def of(gaps: tuple[LicenseGap, ...], catalog: Catalog) -> _Setup:
        candidates = [
            [catalog.courses[c] for c in catalog.candidates_by_rule.get(gap.rule, ()) if c not in gap.completed] for gap in gaps
        ]
        unmeetable = tuple(unmeetable_requirements(gap, cands) for gap, cands in zip(gaps, candidates, strict=True))
        needed = [({TOTAL} if gap.total_shortfall > 0 else set()) | {m.requirement for m in gap.minimums} for gap in gaps]
        closable = [n - set(u) for n, u in zip(needed, unmeetable, strict=True)]
        return _Setup(candidates, unmeetable, needed, closable)


@dataclasses.dataclass
class _Layout:
    """The requirement rows of signatures of one shape. Row r is (license position, kind, name): kind
    `minimum` (course hours that add to the minimum of that name; for listed_providers, of uncapped
    deliveries only), `uncapped` (hours of deliveries the rule does not cap), `capped` (hours of that
    capped delivery, of which the total takes at most the cap's room) or `listed_capped` (listed-provider
    hours of that capped delivery, of which the listed_providers minimum takes at most the cap's room)."""

    rows: list[tuple[int, str, str]]
    capped: list[frozenset[str]]  # per license: the deliveries its rule caps
    minimum_of: dict[tuple[int, str], Minimum]  # (license position, name) -> the minimum a `minimum` row stands for

    def __post_init__(self) -> None:
        def rows_of(license_position: int, row_kind: str) -> np.ndarray:
            return np.array([c for c, (j, kind, _) in enumerate(self.rows) if j == license_position and kind == row_kind], dtype=np.int64)

        self.minimum_rows = np.array([r for r, (_, kind, _) in enumerate(self.rows) if kind == "minimum"], dtype=np.int64)
        self.totals = [(r, rows_of(i, "capped")) for r, (i, kind, _) in enumerate(self.rows) if kind == "uncapped"]
        self.listed = []  # (a listed_providers row's position among the minimum rows, its license's listed_capped rows)
        for k, r in enumerate(self.minimum_rows.tolist()):
            i, _, name = self.rows[r]
            if self.minimum_of[i, name].kind == "listed_providers" and len(capped := rows_of(i, "listed_capped")):
                self.listed.append((k, capped))

    @staticmethod
    def of(signatures: list[tuple[LicenseGap, ...]], setups: list[_Setup]) -> _Layout:
        rows, capped, minimum_of = [], [], {}
        for i in range(len(signatures[0])):
            members = [(gaps[i], setup.closable[i]) for gaps, setup in zip(signatures, setups, strict=True)]
            minimum_of |= {(i, m.requirement): m for gap, closable in members for m in gap.minimums if m.requirement in closable}
            names = {name for (j, name) in minimum_of if j == i}
            rows += [(i, "minimum", name) for name in sorted(names)]
            with_total = [gap for gap, closable in members if TOTAL in closable]
            capped.append(frozenset(d for gap in with_total for d, _ in gap.cap_room))
            if with_total:
                rows.append((i, "uncapped", ""))
                rows += [(i, "capped", d) for d in sorted({d for gap in with_total for d, room in gap.cap_room if room > 0})]
            with_listed = [gap for gap, closable in members if "listed_providers" in closable]
            rows += [(i, "listed_capped", d) for d in sorted({d for gap in with_listed for d, room in gap.listed_room if room > 0})]
        return _Layout(rows, capped, minimum_of)

    def contributions(self, gaps: tuple[LicenseGap, ...], candidates: list[list[Course]], courses: list[Course]) -> np.ndarray:
        """(courses, rows): the hours each course adds to each row, 0 where the license does not take it.
        Signatures of one shape share what a minimum takes (rule and completed courses, hence listed,
        capped and ever_completed), so any member's gaps serve."""
        matrix = np.zeros((len(courses), len(self.rows)), dtype=np.int64)
        taken = [{c.course_id for c in cands} for cands in candidates]
        for k, course in enumerate(courses):
            for r, (i, kind, name) in enumerate(self.rows):
                if course.course_id in taken[i] and (
                    (
                        kind == "minimum"
                        and adds_to_minimum(course, gaps[i], minimum := self.minimum_of[i, name])
                        and (minimum.kind != "listed_providers" or course.delivery not in gaps[i].capped)
                    )
                    or (kind == "uncapped" and course.delivery not in self.capped[i])
                    or (kind == "capped" and course.delivery == name)
                    or (kind == "listed_capped" and course.delivery == name and is_listed(course, gaps[i]))
                ):
                    matrix[k, r] = _units(course.hours)
        return matrix

    def thresholds(self, gaps: tuple[LicenseGap, ...], closable: list[set[str]]) -> np.ndarray:
        """Per row, in units: the minimum or total shortfall to meet (0 when not closable), or the cap's
        room."""
        values = []
        for i, kind, name in self.rows:
            if kind == "minimum":
                minimum = gaps[i].minimum(name)
                hours = minimum.hours if minimum is not None and name in closable[i] else 0
            elif kind == "listed_capped":
                hours = dict(gaps[i].listed_room).get(name, 0) if "listed_providers" in closable[i] else 0
            elif TOTAL not in closable[i]:
                hours = 0
            else:
                hours = gaps[i].total_shortfall if kind == "uncapped" else dict(gaps[i].cap_room).get(name, 0)
            values.append(_units(hours))
        return np.array(values, dtype=np.int64)

    def deficits(self, sums: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Per line of `sums` (the rows' sums of some set of courses), per requirement (the minimum rows,
        then each license's total): the hours still missing, <= 0 when met."""
        missing = [thresholds[self.minimum_rows] - sums[:, self.minimum_rows]]
        for k, capped in self.listed:
            missing[0][:, k] -= np.minimum(sums[:, capped], thresholds[capped]).sum(axis=1)
        for uncapped, capped in self.totals:
            added = sums[:, uncapped] + np.minimum(sums[:, capped], thresholds[capped]).sum(axis=1)
            missing.append((thresholds[uncapped] - added)[:, None])
        return np.concatenate(missing, axis=1)

    def meets(self, sums: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Per line of `sums`: whether it meets every requirement."""
        return (self.deficits(sums, thresholds) <= 0).all(axis=1)


def _grid(matrix: np.ndarray) -> int:
    """The hours step every course's row contributions are whole multiples of (1 when there are none)."""
    return int(np.gcd.reduce(matrix[matrix > 0])) or 1


def _in_own_steps(values: np.ndarray) -> np.ndarray:
    """The values divided by their gcd: the same order, smaller numbers."""
    return values // (int(np.gcd.reduce(values)) or 1)


def _single_least(values: np.ndarray, counts: np.ndarray, done: np.ndarray) -> int | None:
    """The position of the least value among the `done` states, when one state holds it and one subset
    reaches that state; None on a tie."""
    best = values[done].min()
    at = np.flatnonzero(done & (values == best))
    return int(at[0]) if len(at) == 1 and counts[at[0]] == 1 else None


def _tie_keys(catalog: Catalog) -> dict[str, int]:
    """Every catalog course's tie-break key: B + its position in course_id order, B = n(n-1)/2 + 1."""
    ids = sorted(catalog.courses)
    base = len(ids) * (len(ids) - 1) // 2 + 1
    return {course_id: base + position for position, course_id in enumerate(ids)}


def _counts_for(plan_courses, gaps, setup: _Setup, catalog: Catalog) -> tuple[tuple[int, ...], ...]:
    candidate_ids = [{c.course_id for c in cands} for cands in setup.candidates]
    return tuple(
        tuple(i for i, gap in enumerate(gaps) if c in candidate_ids[i] and _adds_to(catalog.courses[c], gap, setup.needed[i]))
        for c in plan_courses
    )


def _lexicographic_milp(objectives: list[np.ndarray], a: np.ndarray, lower: np.ndarray, upper: np.ndarray, integrality: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Minimise each objective in turn, holding the earlier ones at their optimum (all integer-valued)."""
    rows, lows, highs = [a], [lower], [upper]
    solution = None
    for objective in objectives:
        constraints = LinearConstraint(np.vstack(rows), np.concatenate(lows), np.concatenate(highs))
        # HiGHS's presolve (scipy 1.17.1) was seen to return a $131 plan as optimal with gap 0 where a
        # $130 plan met every row (bench signature, NY LMFT); without presolve it finds $130. Without presolve
        # it was seen in turn to call a tie-break stage infeasible that the previous stage's plan satisfies
        # (a property test's organisation): such a stage is solved again with presolve.
        for presolve in (False, True):
            result = milp(
                objective, constraints=constraints, integrality=integrality, bounds=bounds, options={"mip_rel_gap": 0, "presolve": presolve}
            )
            if result.status == 0 or solution is None:
                break
        if result.status != 0:
            raise RuntimeError(f"the plan's integer program did not solve: {result.message}")
        solution = result.x
        optimum = round(float(objective @ solution))
        rows.append(objective[None, :])
        lows.append(np.array([-np.inf]))
        highs.append(np.array([optimum + 0.5]))
    return solution


def _solve_by_milp(layout: _Layout, matrix: np.ndarray, thresholds: np.ndarray, cost: np.ndarray, hours: np.ndarray, key: np.ndarray) -> list[int]:
    """The program for HiGHS: a 0/1 variable per course and, per capped or listed_capped row, a
    continuous variable for the hours its total or listed_providers minimum takes from it (at most the
    cap's room and the chosen courses' hours of that row). Rows are in grid units; the objectives (cost,
    hours, key) are solved in turn, cost and hours as one (cost' * (sum of hours' + 1) + hours') when that
    stays exact in floating point."""
    n = len(cost)
    grid = _grid(matrix)
    takes = {uncapped: rows for uncapped, rows in layout.totals} | {int(layout.minimum_rows[k]): rows for k, rows in layout.listed}
    continuous = [r for rows in takes.values() for r in rows]
    width = n + len(continuous)
    a_rows, lower, upper = [], [], []
    for requirement in [*layout.minimum_rows.tolist(), *(uncapped for uncapped, _ in layout.totals)]:
        row = np.zeros(width)
        row[:n] = matrix[:, requirement] / grid
        for r in takes.get(requirement, ()):
            v = n + continuous.index(r)
            row[v] = 1
            link = np.zeros(width)  # a capped row adds no more than the chosen courses of that row hold
            link[v], link[:n] = 1, -matrix[:, r] / grid
            a_rows.append(link), lower.append(-np.inf), upper.append(0)
        a_rows.append(row), lower.append(thresholds[requirement] / grid), upper.append(np.inf)
    cost_, hours_ = _in_own_steps(cost), _in_own_steps(hours)
    combined = cost_ * (int(hours_.sum()) + 1) + hours_
    stages = [combined] if int(combined.sum()) < 2**50 else [cost_, hours_]
    pad = np.zeros(len(continuous))
    solution = _lexicographic_milp(
        [np.concatenate([objective.astype(float), pad]) for objective in (*stages, key)],
        np.array(a_rows).reshape(-1, width),
        np.array(lower, dtype=float),
        np.array(upper, dtype=float),
        integrality=np.concatenate([np.ones(n), np.zeros(len(continuous))]),
        bounds=Bounds(np.zeros(width), np.concatenate([np.ones(n), [thresholds[r] / grid for r in continuous]])),
    )
    return [k for k in range(n) if solution[k] > 0.5]


def _prune(layout: _Layout, matrix: np.ndarray, thresholds: np.ndarray, cost: np.ndarray, hours: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Which courses can be in an optimal plan of one signature (see the dominance argument above), and
    the known plan the bound came from."""
    n = len(cost)
    order = np.lexsort((key, hours, cost))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    v = matrix
    dominates = (v[:, None, :] >= v[None, :, :]).all(axis=2) & (rank[:, None] < rank[None, :])  # [a, b]: a dominates b
    dominators = dominates.T.astype(np.int64)  # [b, a]
    keep = ~layout.meets(dominators @ v, thresholds)  # (i)
    # (ii) a known plan: the courses in (cost, hours, key) order until every row is met, then drop the ones not needed
    taken, sums = [], np.zeros(v.shape[1], dtype=np.int64)
    for i in order:
        taken.append(int(i))
        sums += v[i]
        if layout.meets(sums[None, :], thresholds)[0]:
            break
    else:  # cannot happen: all the courses together meet every closable requirement
        raise AssertionError("the courses that add to a requirement do not meet it together")
    for i in sorted(taken, key=lambda j: -rank[j]):
        if layout.meets((sums - v[i])[None, :], thresholds)[0]:
            sums -= v[i]
            taken.remove(i)
    bound = (int(cost[taken].sum()), int(hours[taken].sum()), int(key[taken].sum()))
    with_b = dominators + np.eye(n, dtype=np.int64)
    c, h, k = with_b @ cost, with_b @ hours, with_b @ key
    worse = (c > bound[0]) | ((c == bound[0]) & ((h > bound[1]) | ((h == bound[1]) & (k > bound[2]))))
    return keep & ~worse, taken


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


@dataclasses.dataclass
class _Axes:
    """The DP's state: per axis a sum of course hours in grid steps (the gcd of all course hours),
    saturating at its top; rows with the same column over the courses (e.g. two licenses' totals fed by
    the same courses) share one axis, saturating at the larger top, since every row's test reads the
    same sum."""

    grid: int
    axis_of: np.ndarray  # per row: its axis
    tops: np.ndarray  # per axis
    steps: np.ndarray  # (courses, axes): what each course adds

    @staticmethod
    def of(matrix: np.ndarray, top_thresholds: np.ndarray) -> _Axes:
        grid = _grid(matrix)
        _, first_row, axis_of = np.unique(matrix.T, axis=0, return_index=True, return_inverse=True)
        axis_of = axis_of.ravel()
        tops = np.zeros(len(first_row), dtype=np.int64)
        np.maximum.at(tops, axis_of, -(-top_thresholds // grid))
        return _Axes(grid, axis_of, tops, np.minimum(matrix[:, first_row] // grid, tops))

    def states(self) -> float:
        return float(np.prod(self.tops + 1, dtype=np.float64))

    def sums(self, coords: np.ndarray) -> np.ndarray:
        """(states, rows): each row's sum of the states (a saturated axis reads its top)."""
        return coords[:, self.axis_of] * self.grid

    def walk_back(self, state: tuple[int, ...], value: int, weight: np.ndarray, value_before) -> list[int] | None:
        """The courses of the single subset of least `value` reaching `state`: at each course from the
        last, either that value was there before it, or it came from a state the course moves to this
        one. `value_before(j, state)` reads the DP before course j."""
        chosen = []
        for j in range(len(weight) - 1, -1, -1):
            if value_before(j, state) == value:
                continue
            ranges = []
            for s, t, top in zip(state, self.steps[j].tolist(), self.tops.tolist(), strict=True):
                ranges.append(range(max(top - t, 0), top + 1) if s == top and t > 0 else ([s - t] if s - t >= 0 else []))
            target = value - int(weight[j])
            for source in itertools.product(*ranges):
                if value_before(j, source) == target:
                    state, value = source, target
                    break
            else:
                return None
            chosen.append(j)
        return sorted(chosen)


class _Table:
    """A dense DP over every progress state: the least weight of a subset of the courses reaching it, how
    many subsets do (up to 2), and the table before each course (to walk a plan back). Shared by the
    signatures of a group, each asking for its own thresholds."""

    def __init__(self, axes: _Axes, weight: np.ndarray) -> None:
        self.axes, self.weight = axes, weight
        self.shape = tuple(int(t) + 1 for t in axes.tops)
        values = np.full(self.shape, _INF, dtype=np.int64)
        counts = np.zeros(self.shape, dtype=np.int8)
        values.flat[0], counts.flat[0] = 0, 1
        self.history = []
        for j in range(len(weight)):
            moved_v, moved_c = values + int(weight[j]), counts
            for axis, top in enumerate(axes.tops):
                moved_v, moved_c = _push(moved_v, moved_c, axis, int(axes.steps[j, axis]), int(top))
            moved_v = np.where(moved_c > 0, moved_v, _INF)
            self.history.append(values)
            better = moved_v < values
            same = (moved_v == values) & (moved_c > 0)
            counts = np.where(better, moved_c, np.where(same, np.minimum(counts + moved_c, 2), counts)).astype(np.int8)
            values = np.where(better, moved_v, values)
        # A query's least state can have no state above it (>= on every axis, so meeting whatever it
        # meets) that is lighter: only such states are kept, equally light ones too, so ties still count.
        above = values
        for axis in range(values.ndim):
            above = np.flip(np.minimum.accumulate(np.flip(above, axis), axis=axis), axis)
        strictly_above = np.full(self.shape, _INF, dtype=np.int64)
        for axis in range(values.ndim):
            inner = [slice(None)] * values.ndim
            outer = [slice(None)] * values.ndim
            inner[axis], outer[axis] = slice(0, -1), slice(1, None)
            strictly_above[tuple(inner)] = np.minimum(strictly_above[tuple(inner)], above[tuple(outer)])
        self.index = np.flatnonzero((values < _INF) & (values <= strictly_above))
        self.values, self.counts = values.ravel()[self.index], counts.ravel()[self.index]
        self.sums = axes.sums(np.stack(np.unravel_index(self.index, self.shape), axis=1))

    @staticmethod
    def build(matrix: np.ndarray, weight: np.ndarray, top_thresholds: np.ndarray) -> _Table | None:
        """The table over the courses of `matrix`, or None when it would exceed TABLE_CELL_LIMIT."""
        axes = _Axes.of(matrix, top_thresholds)
        return _Table(axes, weight) if axes.states() * len(weight) <= TABLE_CELL_LIMIT else None

    def plan(self, layout: _Layout, thresholds: np.ndarray) -> list[int] | None:
        """The courses (indices) of the single least subset meeting `thresholds`, or None on a tie."""
        done = layout.meets(self.sums, thresholds)
        at = _single_least(self.values, self.counts, done) if done.any() else None
        if at is None:
            return None
        state = tuple(int(i) for i in np.unravel_index(self.index[at], self.shape))
        return self.axes.walk_back(state, int(self.values[at]), self.weight, lambda j, state: int(self.history[j][state]))


def _cover_bounds(steps: np.ndarray, tops: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """bound[j, q, d]: the least weight of courses j.. adding at least d steps to requirement q alone
    (`steps` (courses, requirements) rounded up, so it is a lower bound of the true need); d runs to
    the largest top, each q is read up to its own."""
    n, width = steps.shape
    bound = np.full((n + 1, width, int(tops.max(initial=0)) + 1), _INF, dtype=np.int64)
    bound[n, :, 0] = 0
    requirement, need = np.arange(width)[:, None], np.arange(bound.shape[2])[None, :]
    for j in range(n - 1, -1, -1):
        rest = bound[j + 1][requirement, np.maximum(need - steps[j][:, None], 0)]
        bound[j] = np.minimum(bound[j + 1], np.where(rest < _INF, rest + weight[j], _INF))
    return bound


def _solve_bounded(layout: _Layout, matrix: np.ndarray, thresholds: np.ndarray, weight: np.ndarray, lower: int, upper: int) -> list[int] | None:
    """One signature's single least plan by a sparse DP that keeps only the states that can still lead
    to a plan of weight <= tau: the state's weight plus, per requirement, the least weight the remaining
    courses need to close what it still misses (`_cover_bounds`). tau grows from `lower` (no plan is
    lighter) to `upper` (the weight of a known plan) until a plan is found; every plan of least weight
    survives the bound, so the answer is exact. None on a tie or beyond SPARSE_STATE_LIMIT states."""
    # heaviest courses first: decided while few states are alive, they leave far fewer states behind
    # within the bound (about 1.4x faster on the bench's two-license signatures than course_id order)
    sequence = np.argsort(-weight, kind="stable")
    matrix, weight = matrix[sequence], weight[sequence]
    axes = _Axes.of(matrix, thresholds)
    radix = np.cumprod(np.concatenate([[1], axes.tops[:-1] + 1]))
    missing = layout.deficits(np.zeros((1, matrix.shape[1]), dtype=np.int64), thresholds)[0]
    adds = -(-(missing[None, :] - layout.deficits(matrix, thresholds)) // axes.grid)
    tops = np.maximum(missing // axes.grid, 0)
    bounds = _cover_bounds(adds, tops, weight)
    requirements = np.arange(len(tops))[None, :]

    def need(coords: np.ndarray) -> np.ndarray:  # (states, requirements): what each still misses, in steps
        return np.maximum(layout.deficits(axes.sums(coords), thresholds) // axes.grid, 0)

    def search(tau: int) -> tuple[bool, list[int] | None]:
        coords = np.zeros((1, len(axes.tops)), dtype=np.int64)
        keys, values, counts, needs = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64), need(coords)
        history = []
        for j in range(len(weight)):
            history.append((keys, values))
            moved = np.minimum(coords + axes.steps[j], axes.tops)
            coords, needs, keys = np.concatenate([coords, moved]), np.concatenate([needs, need(moved)]), np.concatenate([keys, moved @ radix])
            values = np.concatenate([values, values + int(weight[j])])
            counts = np.concatenate([counts, counts])
            least_to_come = bounds[j + 1][requirements, needs].max(axis=1)
            alive = values + least_to_come <= tau
            keys, coords, values, counts, needs = keys[alive], coords[alive], values[alive], counts[alive], needs[alive]
            if not len(values):
                return False, None
            order = np.lexsort((values, keys))
            keys, coords, values, counts, needs = keys[order], coords[order], values[order], counts[order], needs[order]
            first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
            least = values[first]
            tied = np.where(values == np.repeat(least, np.diff(np.append(first, len(values)))), counts, 0)
            keys, coords, values, needs = keys[first], coords[first], least, needs[first]
            counts = np.minimum(np.add.reduceat(tied, first), 2)
            if len(values) > SPARSE_STATE_LIMIT:
                return True, None
        done = layout.meets(axes.sums(coords), thresholds)
        if not done.any():
            return False, None
        at = _single_least(values, counts, done)
        if at is None:
            return True, None

        def value_before(j: int, state: tuple[int, ...]) -> int:
            keys, values = history[j]
            wanted = int(np.dot(state, radix))
            i = int(np.searchsorted(keys, wanted))
            return int(values[i]) if i < len(keys) and keys[i] == wanted else _INF

        found = axes.walk_back(tuple(int(c) for c in coords[at]), int(values[at]), weight, value_before)
        return True, None if found is None else sorted(int(sequence[k]) for k in found)

    lower = max(lower, int(bounds[0][np.arange(len(tops)), tops].max(initial=0)))
    for share in TAU_SHARES:
        found, plan = search(lower + (upper - lower) // share)
        if found:
            return plan
    raise AssertionError("no plan within the weight of a known plan")


def _weights(cost: np.ndarray, hours: np.ndarray, key: np.ndarray) -> np.ndarray | None:
    """One integer per course ordering subsets by (cost, hours, key), or None when it would overflow."""
    cost, hours = _in_own_steps(cost), _in_own_steps(hours)
    w2 = int(key.sum()) + 1
    w1 = (int(hours.sum()) + 1) * w2
    if (int(cost.sum()) + 1) * w1 >= _INF // 2:
        return None
    return cost * w1 + hours * w2 + key


def _solve_group(
    signatures: list[tuple[LicenseGap, ...]], catalog: Catalog, singles: Mapping[LicenseGap, tuple[str, ...]] | None = None, dp: bool = True
) -> list[tuple[Plan, bool]]:
    """Plans for signatures of one shape (the same rules and completed courses), each with whether it
    is vouched the single optimum.

    `singles` holds licenses' own single best plans: one that also closes the person's other licenses
    is the person's single best plan too (every plan that closes all the licenses closes that one), and
    otherwise they bound the search. Several signatures left share one DP table; one alone gets the
    bounded search over its pruned courses; HiGHS solves where neither has a single answer (and, `dp`
    False, alone over every course that adds to a requirement: the tests' reference)."""
    setups = [_Setup.of(gaps, catalog) for gaps in signatures]
    layout = _Layout.of(signatures, setups)
    candidates = setups[0].candidates
    ids = sorted({c.course_id for cands in candidates for c in cands})
    courses = [catalog.courses[c] for c in ids]
    matrix = layout.contributions(signatures[0], candidates, courses)
    thresholds = [layout.thresholds(gaps, setup.closable) for gaps, setup in zip(signatures, setups, strict=True)]
    keys = _tie_keys(catalog)
    cost = np.array([_units(c.cost) for c in courses], dtype=np.int64)
    hours = np.array([_units(c.hours) for c in courses], dtype=np.int64)
    key = np.array([keys[c] for c in ids], dtype=np.int64)
    usable = np.flatnonzero(matrix.any(axis=1))
    ranked = _weights(cost[usable], hours[usable], key[usable]) if dp and usable.size else None
    ordered = ranked is not None  # else (no DP, or its weights would overflow) HiGHS solves
    weight = np.zeros(len(courses), dtype=np.int64)
    if ordered:
        weight[usable] = ranked
    position = {course_id: k for k, course_id in enumerate(ids)}
    own_singles = [[[position[c] for c in singles[gap]] for gap in gaps if gap in singles] if singles else [] for gaps in signatures]

    chosen: list[list[int] | None] = [None] * len(signatures)
    vouched = [False] * len(signatures)
    for m, own in enumerate(thresholds):
        closing = [plan for plan in own_singles[m] if layout.meets(matrix[plan].sum(axis=0, keepdims=True), own)[0]]
        if not own.any() or closing:
            chosen[m], vouched[m] = (closing[0] if own.any() else []), True
    open_members = [m for m, c in enumerate(chosen) if c is None]

    if ordered and len(open_members) > 1:
        table = _Table.build(matrix[usable], weight[usable], np.max([thresholds[m] for m in open_members], axis=0))
        for m in open_members:
            if table is None:  # too large a shared table: each alone, bounded
                (plan, vouched[m]), = _solve_group([signatures[m]], catalog, singles)
                chosen[m] = [position[c] for c in plan.courses]
            elif (found := table.plan(layout, thresholds[m])) is not None:
                chosen[m], vouched[m] = [int(usable[k]) for k in found], True
    elif ordered and open_members:
        m = open_members[0]
        keep, known = _prune(layout, matrix[usable], thresholds[m], cost[usable], hours[usable], key[usable])
        union = sorted({k for plan in own_singles[m] for k in plan})
        upper = min(int(weight[usable[known]].sum()), int(weight[union].sum()) if union else _INF)
        lower = max((int(weight[plan].sum()) for plan in own_singles[m]), default=0)
        usable = usable[keep]  # HiGHS, if it is needed, solves the pruned program
        found = _solve_bounded(layout, matrix[usable], thresholds[m], weight[usable], lower, upper)
        if found is not None:
            chosen[m], vouched[m] = [int(usable[k]) for k in found], True
    for m in open_members:
        if chosen[m] is None:
            found = _solve_by_milp(layout, matrix[usable], thresholds[m], cost[usable], hours[usable], key[usable])
            chosen[m] = [int(usable[k]) for k in found]

    solved = []
    for gaps, setup, indices, sure in zip(signatures, setups, chosen, vouched, strict=True):
        plan_courses = tuple(ids[k] for k in sorted(indices))
        solved.append((Plan(plan_courses, _counts_for(plan_courses, gaps, setup, catalog), setup.unmeetable), sure))
    return solved


def solve_plan(gaps: tuple[LicenseGap, ...], catalog: Catalog) -> Plan:
    """The least-cost set of candidate courses that meets every requirement some candidates can meet."""
    return _solve_group([gaps], catalog)[0][0]


def solve_plan_milp(gaps: tuple[LicenseGap, ...], catalog: Catalog) -> Plan:
    """The same program solved by HiGHS alone, without pruning: the reference the tests hold the DP to."""
    return _solve_group([gaps], catalog, dp=False)[0][0]


def _solve_groups(groups, catalog: Catalog, singles) -> list[list[tuple[Plan, bool]]]:
    return [_solve_group(group, catalog, singles) for group in groups]


def _solve_shapes(signatures, catalog: Catalog, pool: ProcessPoolExecutor | None, workers: int, singles=None) -> list[tuple[Plan, bool]]:
    """`_solve_group` per shape, the shapes spread over the pool's workers (or solved here, no pool)."""
    shapes: dict[tuple, list[int]] = {}
    for index, gaps in enumerate(signatures):
        # one shape: the same candidates, and the same courses adding to each minimum
        shapes.setdefault(tuple((gap.rule, gap.completed, gap.ever_completed, gap.listed, gap.capped) for gap in gaps), []).append(index)
    groups = sorted(shapes.values(), key=len, reverse=True)
    batches = [groups[i::workers] for i in range(workers)] if pool is not None else [groups]
    work = [[[signatures[i] for i in group] for group in batch] for batch in batches]
    if pool is None:
        solved = [_solve_groups(work[0], catalog, singles)]
    else:
        solved = list(pool.map(_solve_groups, work, [catalog] * len(work), [singles] * len(work)))
    plans: list[tuple[Plan, bool]] = [None] * len(signatures)  # type: ignore[list-item]
    for batch, batch_plans in zip(batches, solved, strict=True):
        for group, group_plans in zip(batch, batch_plans, strict=True):
            for index, plan in zip(group, group_plans, strict=True):
                plans[index] = plan
    return plans


def solve_signatures(signatures: list[tuple[LicenseGap, ...]], catalog: Catalog, workers: int | None = None) -> list[Plan]:
    """One plan per signature. First every license alone (signatures of one license, and each license
    of the others), sharing a DP table per shape; then the signatures of several licenses, which their
    licenses' own plans often close and otherwise bound. Many signatures are spread over the cores."""
    licenses = list(dict.fromkeys((gap,) for gaps in signatures for gap in gaps))
    several = [gaps for gaps in signatures if len(gaps) > 1]
    workers = workers or min(os.cpu_count() or 1, 8)
    parallel = workers > 1 and len(licenses) + len(several) >= PARALLEL_FROM_SIGNATURES
    with ProcessPoolExecutor(max_workers=workers) if parallel else contextlib.nullcontext() as pool:
        alone = dict(zip((gaps[0] for gaps in licenses), _solve_shapes(licenses, catalog, pool, workers), strict=True))
        singles = {gap: plan.courses for gap, (plan, sure) in alone.items() if sure}
        together = dict(zip(several, _solve_shapes(several, catalog, pool, workers, singles), strict=True))
    return [alone[gaps[0]][0] if len(gaps) == 1 else together[gaps][0] for gaps in signatures]


def catalog_fingerprint(catalog: Catalog) -> str:
    """Changes whenever the catalog (or the planner) could change a plan."""
    described = {
        "planner_version": PLANNER_VERSION,
        "courses": [
            [c.course_id, str(c.hours), str(c.cost), c.category, c.delivery, c.accreditation] for _, c in sorted(catalog.courses.items())
        ],
        "candidates_by_rule": sorted([rule, *ids] for rule, ids in catalog.candidates_by_rule.items()),
    }
    return fingerprint_of(described)


def signature_key(signature: tuple[LicenseGap, ...]) -> str:
    """The signature as text: equal text, equal signature."""
    return json.dumps(
        [
            [gap.rule, str(gap.total_shortfall), [[m.requirement, m.kind, m.category, str(m.hours)] for m in gap.minimums],
             [[d, str(h)] for d, h in gap.cap_room], sorted(gap.completed), sorted(gap.listed), [[d, str(h)] for d, h in gap.listed_room],
             sorted(gap.ever_completed)]
            for gap in signature
        ]
    )


def plan_to_json(plan: Plan) -> str:
    return json.dumps(dataclasses.asdict(plan))


def plan_from_json(text: str) -> Plan:
    kept = json.loads(text)
    return Plan(
        courses=tuple(kept["courses"]),
        counts_for=tuple(tuple(positions) for positions in kept["counts_for"]),
        unmeetable=tuple(tuple(requirements) for requirements in kept["unmeetable"]),
    )


PLAN_SCHEMA = {"employee_id": pl.String, "course_id": pl.String, "licenses": pl.String, "complete_by": pl.Date}
STATUS_SCHEMA = {"license_id": pl.Int64, "plan": pl.String, "reason": pl.String}


@dataclasses.dataclass(frozen=True)
class PlannedOrganisation:
    courses: pl.DataFrame  # PLAN_SCHEMA: one row per person and planned course
    statuses: pl.DataFrame  # STATUS_SCHEMA: one row per planned license
    people: int
    plans: dict[str, Plan]  # by signature_key: every signature of the run, each planned once
    signatures_solved: int  # the signatures solved now; the others' plans were known


def _gap(row: dict) -> LicenseGap:
    return LicenseGap.of(
        rule=row["rule_id"],
        total_shortfall=row["total_shortfall"],
        minimums=[Minimum(s["requirement"], s["kind"], s["category"], s["hours"]) for s in row["minimum_shortfalls"] or ()],
        cap_room={s["delivery"]: s["hours"] for s in row["cap_room"] or ()},
        completed=row["completed_course_ids"] or (),
        listed=row["listed_accreditations"] or (),
        ever_completed=row["ever_completed_course_ids"] or (),
    )


def catalog_of(courses: pl.DataFrame, rule_candidates: pl.DataFrame) -> Catalog:
    """The catalog from its courses (course_id, hours, cost, category, delivery, accreditation) and, per rules
    entry (rule_id), its candidates."""
    by_rule: dict[int, list[str]] = {}
    for rule_id, course_id in rule_candidates.select("rule_id", "course_id").iter_rows():
        by_rule.setdefault(rule_id, []).append(course_id)
    return Catalog(
        courses={
            r["course_id"]: Course(r["course_id"], r["hours"], r["cost"], r["category"], r["delivery"], r["accreditation"])
            for r in courses.iter_rows(named=True)
        },
        candidates_by_rule={rule: tuple(sorted(ids)) for rule, ids in by_rule.items()},
    )


def plan_organisation(
    licenses: pl.DataFrame, catalog: Catalog, known_plans: Mapping[str, Plan] | None = None, workers: int | None = None
) -> PlannedOrganisation:
    """Plans for every person of `licenses` (the planned licenses, ordered by person and license key);
    `known_plans` (by signature_key, for this catalog) are taken as they are instead of solved again."""
    known_plans = known_plans or {}
    people: dict[str, list[dict]] = {}
    for row in licenses.iter_rows(named=True):
        people.setdefault(row["employee_id"], []).append(row)
    signatures: dict[str, tuple[LicenseGap, ...]] = {}
    person_signature = {}
    for employee_id, rows in people.items():
        signature = tuple(_gap(r) for r in rows)
        person_signature[employee_id] = key = signature_key(signature)
        signatures.setdefault(key, signature)
    unknown = [key for key in signatures if key not in known_plans]
    solved = dict(zip(unknown, solve_signatures([signatures[key] for key in unknown], catalog, workers), strict=True))
    plans = {key: known_plans.get(key) or solved[key] for key in signatures}

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
        plans=plans,
        signatures_solved=len(unknown),
    )
