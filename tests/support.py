"""Builders for small, hand-written deployments (config, rules, landing files) and a way to run them.

Tests state only the rows that matter to them; everything else takes a plain default here.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import pathlib
import tempfile
import textwrap
from collections.abc import Iterable, Sequence

import dagster as dg
import duckdb
import polars as pl
import yaml

from pipelines.definitions import all_assets
from pipelines.engine import load_rules, run_engine
from pipelines.resources import ComplianceDeployment
from pipelines.rules import load_rules_catalog
from pipelines.warehouse import create_view, read_sql, replace_table

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
    configuration gains CATALOG_CONFIG (unless it configures a catalog already) and the rows go to
    landing/catalog/catalog.csv."""
    root.mkdir(parents=True, exist_ok=True)
    if catalog is not None:
        config = textwrap.dedent(config)
        if "course_catalog:" not in config:
            config += textwrap.dedent(CATALOG_CONFIG)
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
    config: pathlib.Path,
    as_of: str | dt.date,
    through_publish: bool = False,
    now: str | dt.datetime = "",
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialise the graph for real (in process, ephemeral instance), up to compliance or through publish
    (and notify, which does nothing without a `notifications:` section). `now` is the run's clock; by
    default noon UTC on the as-of date, so a test never depends on the wall clock (and a scenario dated in
    the future is still not after "today")."""
    assets = [a for a in all_assets if through_publish or not {"publish", "notify"} & set(a.group_names_by_key.values())]
    now = now.isoformat() if isinstance(now, dt.datetime) else now or f"{as_of}T12:00:00+00:00"
    return dg.materialize(
        assets,
        resources={"deployment": ComplianceDeployment(config_path=str(config), as_of=str(as_of), now=now)},
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config,
    )


def query(config: pathlib.Path, sql: str, params: Sequence | None = None) -> list[dict]:
    con = duckdb.connect(str(config.parent / "warehouse.duckdb"), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


# ------------------------------------------------------------------------------------------------
# The engine alone: its SQL models on hand-made tables in a real DuckDB file, in seconds
# ------------------------------------------------------------------------------------------------

ROSTER_SCHEMA = {
    "employee_id": pl.String, "first_name": pl.String, "last_name": pl.String, "email": pl.String, "clinic": pl.String,
    "job_title": pl.String, "employment_status": pl.String, "termination_date": pl.Date, "license_type": pl.String,
    "license_state": pl.String, "license_number": pl.String, "license_issue_date": pl.Date, "license_expiration_date": pl.Date,
    "license_expiration_date_raw": pl.String, "roles": pl.List(pl.String), "source_file": pl.String, "source_row": pl.Int64,
}
CREDIT_SCHEMA = {
    "credit_id": pl.Int64, "person_id": pl.String, "course_id": pl.String, "course_key": pl.String, "course_title": pl.String,
    "provider": pl.String, "accreditation": pl.String, "completion_date": pl.Date, "hours": pl.Decimal(18, 4),
    "category": pl.String, "delivery": pl.String, "source_file": pl.String, "source_row": pl.Int64,
}
ADJUSTMENT_SCHEMA = {
    "source_file": pl.String, "source_row": pl.Int64, "employee_id": pl.String, "license_state": pl.String,
    "license_type": pl.String, "kind": pl.String, "requirement": pl.String, "hours": pl.Decimal(18, 4), "until": pl.Date,
    "cycle_end": pl.Date, "reference": pl.String, "until_raw": pl.String, "cycle_end_raw": pl.String,
}


def license_row(employee_id: str = "000001", expires: str = "2027-04-30", **fields) -> dict:
    """A roster license as the roster table holds it (dates as dates, roles as a list)."""
    row = {
        "employee_id": employee_id, "first_name": "Ana", "last_name": "Ruiz", "email": None, "clinic": "North Clinic",
        "job_title": None, "employment_status": "active", "termination_date": None, "license_type": "LPC",
        "license_state": "TX", "license_number": f"7{employee_id}", "license_issue_date": dt.date(2010, 1, 1),
        "license_expiration_date": dt.date.fromisoformat(expires), "license_expiration_date_raw": expires, "roles": [],
    }
    row.update(fields)
    for name in ("license_issue_date", "termination_date"):
        if isinstance(row[name], str):
            row[name] = dt.date.fromisoformat(row[name])
    return row


def credit(course_id: str, completed: str, hours, employee_id: str = "000001", **fields) -> dict:
    """A matched, accepted credit as ce_credits holds it."""
    row = {
        "person_id": employee_id, "course_id": course_id, "course_key": course_id, "course_title": f"Course {course_id}",
        "provider": "P", "accreditation": "NBCC", "completion_date": dt.date.fromisoformat(completed),
        "hours": decimal.Decimal(str(hours)), "category": "general", "delivery": "live",
    }
    row.update(fields)
    return row


def adjustment(kind: str, reference: str, employee_id: str = "000001", **fields) -> dict:
    row = {
        "employee_id": employee_id, "license_state": "TX", "license_type": "LPC", "kind": kind, "requirement": None,
        "hours": None, "until": None, "cycle_end": None, "reference": reference,
    }
    row.update(fields)
    for name in ("until", "cycle_end"):
        if isinstance(row[name], str):
            row[f"{name}_raw"] = row[name]  # as the file wrote it
            row[name] = dt.date.fromisoformat(row[name])
    if row["hours"] is not None:
        row["hours"] = decimal.Decimal(str(row["hours"]))
    return row


def evaluate(
    con: duckdb.DuckDBPyConnection,
    rules: list[dict],
    licenses: Sequence[dict],
    credits: Sequence[dict] = (),
    adjustments: Sequence[dict] = (),
    as_of: str | dt.date = "2026-11-25",
    at_risk_days: int = 90,
) -> duckdb.DuckDBPyConnection:
    """Load the rules (as catalog entries), the roster, the credits and the adjustments, run every engine
    model (pipelines.engine.run_engine, as the assets do), and return the connection to read from."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "rules.yaml"
        path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        load_rules(con, load_rules_catalog(path))
    roster = [dict(row, source_file="roster.csv", source_row=i + 2) for i, row in enumerate(licenses)]
    ce = [dict(row, credit_id=i + 1, source_file="credits.csv", source_row=i + 2) for i, row in enumerate(credits)]
    adjusted = [dict(row, source_file="adjustments.csv", source_row=i + 2) for i, row in enumerate(adjustments)]
    replace_table(con, "roster", pl.DataFrame(roster, schema=ROSTER_SCHEMA))
    replace_table(con, "ce_credits", pl.DataFrame(ce, schema=CREDIT_SCHEMA))
    replace_table(con, "adjustments", pl.DataFrame(adjusted, schema=ADJUSTMENT_SCHEMA))
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    run_engine(con, as_of, at_risk_days)
    create_view(con, "credit_ledger", read_sql("credit_ledger"))
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
