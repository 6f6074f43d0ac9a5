"""Re-checking the learning plans with the compliance engine itself, never a second copy of its rules.

The engine's own SQL models run in a scratch schema on the real credits plus every plan's courses as
credits; inside a transaction that is rolled back, so the warehouse keeps nothing of it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from pipelines.engine import CREDIT_MODELS, run_models
from pipelines.warehouse import run_sql

SCRATCH_SCHEMA = "plan_recheck"

_LEFT_OPEN = f"""
select status.employee_id, status.license_state, status.license_type, status.license_number, status.plan,
    status.reason, after.unmet_requirements
from main.learning_plan_status as status
inner join {SCRATCH_SCHEMA}.clinician_compliance as after using (license_id)
where after.status <> 'compliant'
    and (
        status.plan = 'closes_gap'
        or not list_has_all(string_split(coalesce(status.reason, ''), ';'), string_split(after.unmet_requirements, ';'))
    )
order by all
"""


def licenses_left_open(con: duckdb.DuckDBPyConnection, as_of: dt.date, at_risk_days: int) -> pl.DataFrame:
    """Planned licenses the engine does not find compliant with their plan, beyond what `no_plan` names."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema {SCRATCH_SCHEMA}")
        con.execute(f"set search_path = '{SCRATCH_SCHEMA},main'")
        run_sql(con, "plan_recheck_inputs")
        run_models(con, CREDIT_MODELS, as_of, at_risk_days)
        return con.sql(_LEFT_OPEN).pl()
    finally:
        con.execute("reset search_path")
        con.execute("rollback")
