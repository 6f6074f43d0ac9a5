"""What the pages show of the learning plans: each license's courses, each clinic's cost against its
training budget, and the catalog courses that close the most gaps across the organisation."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import polars as pl

from reports.publication import LICENSE_KEY, Publication

DELIVERY_WORDS = {"live": "live", "live_online": "live online", "self_study": "self-study"}
TOP_COURSES = 10


def money_text(amount: Decimal | None) -> str:
    """45 -> "45.00", 1234.5 -> "1,234.50"; more than two decimals are kept exact."""
    if amount is None:
        return ""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:,.2f}" if cents == amount else f"{amount.normalize():,f}"


def _hours(hours: Decimal) -> str:
    return format(hours.normalize(), "f")


@dataclasses.dataclass(slots=True)
class PlannedCourse:
    """A course of a license's plan, as its clinic page shows it (attributes: see dashboards.PersonRow)."""

    title: str
    course_id: str
    provider: str
    hours: str
    delivery: str
    cost: str
    complete_by: str
    also_for: str  # the person's other planned licenses it counts for, "; "-separated


@dataclasses.dataclass(slots=True)
class LicensePlan:
    courses: list[PlannedCourse]
    cost: str
    hours: str
    no_plan: str  # the requirements no catalog course can meet, in words; "" when the plan closes the gap
    person_courses: int  # the person's whole plan, shown when they have more than one planned license; else 0
    person_cost: str


def license_plans(publication: Publication) -> dict[tuple, LicensePlan]:
    """License key -> its plan: the courses that count for it, no_plan's reason, and the person's whole plan."""
    plans = publication.learning_plans
    by_person: dict[str, list[dict]] = {}
    for course in plans.iter_rows(named=True):
        by_person.setdefault(course["employee_id"], []).append(course)
    statuses = publication.learning_plan_status
    person_licenses = statuses.group_by("employee_id").len()
    planned_licenses = dict(person_licenses.iter_rows())
    shown = {}
    for status in statuses.iter_rows(named=True):
        key = tuple(status[k] for k in LICENSE_KEY)
        license_name = f"{status['license_state']} {status['license_type']}"
        person_courses = by_person.get(status["employee_id"], [])
        counting = [c for c in person_courses if license_name in c["licenses"].split(";")]
        courses = [
            PlannedCourse(
                title=c["course_title"] or c["course_id"],
                course_id=c["course_id"],
                provider=c["provider"] or "",
                hours=_hours(c["hours"]),
                delivery=DELIVERY_WORDS.get(c["delivery"], c["delivery"] or ""),
                cost=money_text(c["cost"]),
                complete_by=c["complete_by"].isoformat(),
                also_for="; ".join(n for n in c["licenses"].split(";") if n != license_name),
            )
            for c in counting
        ]
        shown[key] = LicensePlan(
            courses=courses,
            cost=money_text(sum((c["cost"] for c in counting), Decimal(0))),
            hours=_hours(sum((c["hours"] for c in counting), Decimal(0))),
            no_plan=(status["reason"] or "").replace("_", " ").replace(";", ", ") if status["plan"] == "no_plan" else "",
            person_courses=len(person_courses) if planned_licenses[status["employee_id"]] > 1 else 0,
            person_cost=money_text(sum((c["cost"] for c in person_courses), Decimal(0))),
        )
    return shown


def training_costs(publication: Publication) -> list[dict]:
    """Per clinic: people with a plan, courses, hours and cost of every plan, against the budget, most over first."""
    people = publication.compliance.group_by("clinic").agg(pl.col("employee_id").n_unique().alias("people"))
    costs = publication.learning_plans.group_by("clinic").agg(
        pl.col("employee_id").n_unique().alias("planned_people"),
        pl.len().alias("courses"),
        pl.col("hours").sum().alias("hours"),
        pl.col("cost").sum().alias("cost"),
    )
    per_clinician = publication.training_budget_per_clinician
    rows = []
    for row in people.join(costs, on="clinic", how="left").iter_rows(named=True):
        cost = row["cost"] or Decimal(0)
        budget = None if per_clinician is None else per_clinician * row["people"]
        rows.append(
            {
                "clinic": row["clinic"],
                "people": row["people"],
                "planned_people": row["planned_people"] or 0,
                "courses": row["courses"] or 0,
                "hours": _hours(row["hours"] or Decimal(0)),
                "cost": money_text(cost),
                "budget": money_text(budget),
                "over_budget": budget is not None and cost > budget,
                "left": money_text(abs(budget - cost)) if budget is not None else "",
                "sort": (-(cost - budget) if budget is not None else -cost, row["clinic"]),
            }
        )
    return sorted(rows, key=lambda r: r["sort"])


def top_courses(publication: Publication, limit: int = TOP_COURSES) -> list[dict]:
    """The planned courses that close the most license gaps across the organisation."""
    plans = publication.learning_plans
    if plans.height == 0:
        return []
    ranked = (
        plans.group_by("course_id")
        .agg(
            pl.col("course_title").first(),
            pl.col("provider").first(),
            pl.col("hours").first(),
            pl.col("delivery").first(),
            pl.col("cost").first(),
            pl.col("licenses").str.split(";").list.len().sum().alias("licenses"),
            pl.col("employee_id").n_unique().alias("people"),
        )
        .sort(["licenses", "people", "course_id"], descending=[True, True, False])
        .head(limit)
    )
    return [
        {
            **row,
            "course_title": row["course_title"] or row["course_id"],
            "hours": _hours(row["hours"]),
            "delivery": DELIVERY_WORDS.get(row["delivery"], row["delivery"] or ""),
            "cost": money_text(row["cost"]),
        }
        for row in ranked.iter_rows(named=True)
    ]
