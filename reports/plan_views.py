"""What the pages show of the learning plans: each license's courses, each clinic's cost against its
training budget, and the catalog courses that close the most gaps across the organisation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
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
    details: str  # "3 h live online · 45.00 · by 2027-01-31": one text rather than four, each escaped on 160k lines
    # (for a license already overdue: "overdue since 2026-10-31: as soon as possible")
    also_for: str  # the person's other planned licenses it counts for, "; "-separated


@dataclasses.dataclass(slots=True)
class LicensePlan:
    courses: list[PlannedCourse]
    cost: str
    hours: str
    no_plan: str  # the requirements no catalog course can meet, in words; "" when the plan closes the gap
    person_courses: int  # the person's whole plan, shown when they have more than one planned license; else 0
    person_cost: str


def complete_by_words(complete_by: pl.Expr, as_of: dt.date) -> pl.Expr:
    """"by 2027-01-31", or, when that date has passed, "overdue since 2026-10-31: as soon as possible"."""
    date = complete_by.dt.to_string("%Y-%m-%d")
    return pl.when(complete_by < as_of).then(pl.format("overdue since {}: as soon as possible", date)).otherwise(pl.lit("by ") + date)


def _texts(values: pl.Series, text: Callable[[Decimal], str]) -> pl.Series:
    """`text` of each value, called once per distinct value: plans repeat a few catalog prices and hours."""
    distinct = values.unique()
    return values.replace_strict(distinct, [text(value) for value in distinct], return_dtype=pl.String)


def license_plans(publication: Publication) -> dict[tuple, LicensePlan]:
    """License key -> its plan: the courses that count for it, no_plan's reason, and the person's whole plan."""
    plans = publication.learning_plans
    # One row per planned course and license name ("STATE TYPE") it counts for, in plan order.
    counting = (
        plans.with_columns(
            title=pl.when(pl.col("course_title").fill_null("") == "")
            .then(pl.col("course_id"))
            .otherwise(pl.col("course_title")),
            provider=pl.col("provider").fill_null(""),
            details=pl.format(
                "{} h {} · {} {} · {}",
                _texts(plans["hours"], _hours),
                pl.col("delivery").replace(DELIVERY_WORDS).fill_null(""),
                _texts(plans["cost"], money_text),
                pl.lit(publication.currency),
                complete_by_words(pl.col("complete_by"), publication.as_of_date),
            ),
            license_name=pl.col("licenses").str.split(";"),
        )
        .explode("license_name")
    )
    courses: dict[tuple[str, str], list[PlannedCourse]] = {}
    for employee_id, license_name, licenses, *shown in counting.select(
        "employee_id", "license_name", "licenses", "title", "course_id", "provider", "details"
    ).iter_rows():
        also_for = "; ".join(n for n in licenses.split(";") if n != license_name)
        courses.setdefault((employee_id, license_name), []).append(PlannedCourse(*shown, also_for=also_for))
    license_totals = counting.group_by("employee_id", "license_name").agg(pl.col("cost").sum(), pl.col("hours").sum())
    person_totals = plans.group_by("employee_id").agg(person_courses=pl.len(), person_cost=pl.col("cost").sum())
    statuses = (
        publication.learning_plan_status.with_columns(
            license_name=pl.concat_str("license_state", pl.lit(" "), "license_type"),
            planned_licenses=pl.len().over("employee_id"),
        )
        .join(license_totals, on=["employee_id", "license_name"], how="left")
        .join(person_totals, on="employee_id", how="left")
        .with_columns(pl.col("cost", "hours", "person_cost").fill_null(0), pl.col("person_courses").fill_null(0))
    )
    statuses = statuses.with_columns(
        cost=_texts(statuses["cost"], money_text),
        hours=_texts(statuses["hours"], _hours),
        person_cost=_texts(statuses["person_cost"], money_text),
    )
    shown = {}
    for status in statuses.iter_rows(named=True):
        key = tuple(status[k] for k in LICENSE_KEY)
        shown[key] = LicensePlan(
            courses=courses.get((status["employee_id"], status["license_name"]), []),
            cost=status["cost"],
            hours=status["hours"],
            no_plan=(status["reason"] or "").replace("_", " ").replace(";", ", ") if status["plan"] == "no_plan" else "",
            person_courses=status["person_courses"] if status["planned_licenses"] > 1 else 0,
            person_cost=status["person_cost"],
        )
    return shown


def training_costs(publication: Publication, left_out: set[str]) -> list[dict]:
    """Per clinic: people with a plan, courses, hours and cost of every plan, against the budget, most over first;
    not the clinics `left_out` (where nothing can be evaluated, a budget left over would mean nothing)."""
    people = publication.compliance.filter(~pl.col("clinic").is_in(sorted(left_out))).group_by("clinic").agg(pl.col("employee_id").n_unique().alias("people"))
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
