"""Builders for small, hand-written deployments (config, rules, landing files) and a way to run them.

Tests state only the rows that matter to them; everything else takes a plain default here.
"""

from __future__ import annotations

import csv
import datetime as dt
import pathlib
import textwrap
from collections.abc import Iterable, Sequence

import dagster as dg
import duckdb
import yaml

from pipelines.definitions import all_assets
from pipelines.resources import ComplianceDeployment

ROSTER_HEADER = [
    "employee_id", "first_name", "last_name", "email", "clinic", "job_title", "employment_status",
    "termination_date", "license_type", "license_state", "license_number", "license_issue_date",
    "license_expiration_date",
]
BOARD_HEADER = [
    "License Number", "License State", "First Name", "Last Name", "Course Title", "Course ID", "Provider Name",
    "Accreditation", "Completion Date", "Hours", "Subject Area", "Delivery Method",
]
CATALOG_HEADER = ["course_id", "course_title", "provider", "accreditation", "hours", "category", "delivery", "cost", "states"]
CATALOG_CONFIG = """
course_catalog:
  path: catalog/*
training_budget: {per_clinician: 400}
"""
LMS_HEADER = ["Employee ID", "Email", "Course Title", "Course Code", "Completed On", "Credits", "Credit Unit", "Category", "Format"]

DEFAULT_RULES = [
    {
        "license_state": "TX", "license_type": "LPC", "cycle_months": 24, "total_hours": 24,
        "min_hours_by_category": {"ethics": 4}, "max_hours_by_delivery": {"self_study": 12},
        "source": "test rule (invented)", "effective_date": "2020-01-01",
    },
]
BASE_CONFIG = """
landing_dir: landing
rules_catalog: rules.yaml
output_dir: out
warehouse: warehouse.duckdb
roster:
  path: roster/*.csv
providers:
  - name: stateboard
    path: providers/stateboard/*
    layout: board_report
    categories: {General: general, Ethics: ethics, Cultural: cultural_competency}
    delivery: {Live: live, Self-Study: self_study, Webinar: live_online}
  - name: lms
    path: providers/lms/*
    layout: lms_export
    categories: {General: general, Ethics: ethics}
    delivery: {Live: live, Live Webinar: live_online, Self-paced: self_study}
"""


def roster_row(employee_id: str = "000001", **fields: str) -> dict[str, str]:
    row = {
        "employee_id": employee_id, "first_name": "Ana", "last_name": "Ruiz", "email": f"e{employee_id}@example.org",
        "clinic": "North Clinic", "job_title": "Counselor", "employment_status": "active", "termination_date": "",
        "license_type": "LPC", "license_state": "TX", "license_number": f"7{employee_id}",
        "license_issue_date": "2015-01-01", "license_expiration_date": "2027-04-30",
    }
    row.update(fields)
    return row


def board_row(license_number: str = "7000001", course_id: str = "C-1", completion_date: str = "2026-01-10", hours: str = "1", **fields: str) -> dict[str, str]:
    row = {
        "License Number": license_number, "License State": "TX", "First Name": "Ana", "Last Name": "Ruiz",
        "Course Title": f"Course {course_id}", "Course ID": course_id, "Provider Name": "Lone Star CE",
        "Accreditation": "NBCC", "Completion Date": completion_date, "Hours": hours, "Subject Area": "General",
        "Delivery Method": "Live",
    }
    row.update(fields)
    return row


def lms_row(employee_id: str = "000001", course_code: str = "L-1", completed_on: str = "01/10/2026", credits: str = "1", **fields: str) -> dict[str, str]:
    row = {
        "Employee ID": employee_id, "Email": "", "Course Title": f"Module {course_code}", "Course Code": course_code,
        "Completed On": completed_on, "Credits": credits, "Credit Unit": "hours", "Category": "General", "Format": "Live",
    }
    row.update(fields)
    return row


def catalog_row(course_id: str = "K-1", hours: str = "1", cost: str = "10", **fields: str) -> dict[str, str]:
    row = {
        "course_id": course_id, "course_title": f"Catalog course {course_id}", "provider": "PESI", "accreditation": "NBCC",
        "hours": hours, "category": "general", "delivery": "live", "cost": cost, "states": "",
    }
    row.update(fields)
    return row


def write_csv(path: pathlib.Path, header: Sequence[str], rows: Iterable[dict[str, str]], encoding: str = "utf-8") -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(header))
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_deployment(
    root: pathlib.Path,
    roster: Iterable[dict[str, str]] = (),
    board: Iterable[dict[str, str]] = (),
    lms: Iterable[dict[str, str]] = (),
    rules: list[dict] | None = None,
    config: str = BASE_CONFIG,
    catalog: Iterable[dict[str, str]] | None = None,
) -> pathlib.Path:
    """Write a deployment folder under `root`; return its configuration file. With `catalog`, the
    configuration gains CATALOG_CONFIG and the rows go to landing/catalog/catalog.csv."""
    root.mkdir(parents=True, exist_ok=True)
    if catalog is not None:
        config = textwrap.dedent(config) + textwrap.dedent(CATALOG_CONFIG)
        write_csv(root / "landing" / "catalog" / "catalog.csv", CATALOG_HEADER, catalog)
    (root / "config.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    (root / "rules.yaml").write_text(yaml.safe_dump(rules if rules is not None else DEFAULT_RULES, sort_keys=False), encoding="utf-8")
    write_csv(root / "landing" / "roster" / "roster.csv", ROSTER_HEADER, roster)
    board, lms = list(board), list(lms)
    if board:
        write_csv(root / "landing" / "providers" / "stateboard" / "board.csv", BOARD_HEADER, board)
    if lms:
        write_csv(root / "landing" / "providers" / "lms" / "lms.csv", LMS_HEADER, lms)
    return root / "config.yaml"


def materialize(
    config: pathlib.Path, as_of: str | dt.date, through_publish: bool = False, now: str | dt.datetime = ""
) -> dg.ExecuteInProcessResult:
    """Materialise the graph for real (in process, ephemeral instance), up to compliance or through publish.
    `now` is the run's clock; by default noon UTC on the as-of date, so a test never depends on the wall
    clock (and a scenario dated in the future is still not after "today")."""
    assets = [a for a in all_assets if through_publish or "publish" not in a.group_names_by_key.values()]
    now = now.isoformat() if isinstance(now, dt.datetime) else now or f"{as_of}T12:00:00+00:00"
    return dg.materialize(
        assets,
        resources={"deployment": ComplianceDeployment(config_path=str(config), as_of=str(as_of), now=now)},
        instance=dg.DagsterInstance.ephemeral(),
    )


def query(config: pathlib.Path, sql: str, params: Sequence | None = None) -> list[dict]:
    con = duckdb.connect(str(config.parent / "warehouse.duckdb"), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
