"""The compliance engine: the rules catalog's tables and the SQL models that evaluate every license.

One declaration of the models and their order, read by the compliance assets (each runs its own
models), by the learning plans' re-check (which runs the credit models again on planned courses) and
by the tests (which run them all on hand-made inputs).
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb

from pipelines.rules import RulesCatalog
from pipelines.warehouse import read_sql, replace_table

# Per compliance asset, the models it runs, in the engine's order.
MODELS_BY_ASSET = {
    "license_cycles": ("license_cycles",),
    "license_requirements": ("license_requirements",),
    "license_adjustments": ("license_adjustments",),
    "credit_ledger": (
        "license_windows",
        "window_delivery_caps",
        "credit_window_decisions",
        "license_carry_over",
        "carried_credits",
        "credit_decisions",
    ),
    "requirement_progress": ("requirement_progress",),
    "clinician_compliance": ("clinician_compliance",),
}
ENGINE_MODELS = tuple(model for models in MODELS_BY_ASSET.values() for model in models)
# What depends on credits: run again, on the license models as they are, to evaluate planned courses.
CREDIT_MODELS = ENGINE_MODELS[ENGINE_MODELS.index("credit_window_decisions"):]


def load_rules(con: duckdb.DuckDBPyConnection, catalog: RulesCatalog) -> None:
    """Replace the catalog's tables (rules, rule_category_minimums, ...) with this catalog's."""
    for table, frame in catalog.tables().items():
        replace_table(con, table, frame)


def run_models(con: duckdb.DuckDBPyConnection, models: tuple[str, ...], as_of: dt.date, at_risk_days: int) -> None:
    """Run the named models in order; each binds the parameters it names ($as_of, $at_risk_days)."""
    con.execute(read_sql("engine_macros"))
    params = {"as_of": as_of, "at_risk_days": at_risk_days}
    for model in models:
        sql = read_sql(model)
        con.execute(sql, {name: value for name, value in params.items() if re.search(rf"\${name}\b", sql)} or None)


def run_engine(con: duckdb.DuckDBPyConnection, as_of: dt.date, at_risk_days: int) -> None:
    """Every model, from the roster, credits, adjustments and rule tables to clinician_compliance."""
    run_models(con, ENGINE_MODELS, as_of, at_risk_days)
