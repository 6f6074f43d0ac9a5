"""Compliance stage: the rules catalog and the per-license evaluation, as SQL run by DuckDB (pipelines/engine.py)."""

import dagster as dg

from pipelines.engine import MODELS_BY_ASSET, load_rules, run_models
from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment
from pipelines.rules import load_rules_catalog
from pipelines.warehouse import create_view, read_sql, table_rows

STATUSES = ("compliant", "at_risk", "overdue", "on_track", "exempt", "not_evaluated")


@dg.asset(group_name="compliance", kinds={"yaml", "duckdb"}, pool=WAREHOUSE_POOL)
def rules_catalog(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """The board requirement rules, validated, as tables; its path, version, SHA-256 and bytes for the site."""
    catalog = load_rules_catalog(deployment.settings().rules_catalog)
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        load_rules(con, catalog)
        con.execute(
            "create or replace table rules_catalog_info as "
            "select ?::varchar as path, ?::varchar as version, ?::varchar as sha256, ?::blob as data",
            [str(catalog.path), catalog.version, catalog.sha256, catalog.data],
        )
        con.execute("commit")
    context.log.info(f"rules catalog {catalog.path.name} version {catalog.version}: {len(catalog.rules)} entries")
    return dg.MaterializeResult(
        metadata={"entries": len(catalog.rules), "version": catalog.version, "sha256": catalog.sha256, "path": str(catalog.path)}
    )


def _run_models_of(asset: str, deployment: ComplianceDeployment, table: str) -> int:
    settings = deployment.settings()
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        run_models(con, MODELS_BY_ASSET[asset], settings.resolved_as_of(), settings.at_risk_days)
        con.execute("commit")
        return table_rows(con, table)


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["roster", "rules_catalog"])
def license_cycles(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Each license of a person employed on the as-of date: the rule entry in force, its cycle window, or why it is not evaluated."""
    return dg.MaterializeResult(metadata={"dagster/row_count": _run_models_of("license_cycles", deployment, "license_cycles")})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["license_cycles"])
def license_requirements(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Every requirement of every evaluable license (total, categories, one-time topics, listed providers) and where it comes from."""
    rows = _run_models_of("license_requirements", deployment, "license_requirements")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["license_requirements", "adjustments"])
def license_adjustments(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Every accepted adjustment matched to its license, applied or not, and why not."""
    rows = _run_models_of("license_adjustments", deployment, "license_adjustments")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["license_adjustments", "ce_credits"])
def credit_ledger(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Every credit considered for every license of its person: counted hours, decision, reason and what it counts toward."""
    rows = _run_models_of("credit_ledger", deployment, "credit_decisions")
    with deployment.warehouse() as con:
        create_view(con, "credit_ledger", read_sql("credit_ledger"))
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["credit_ledger"])
def requirement_progress(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Per license and requirement: required and counted hours, met or not, and the waiver that met it."""
    return dg.MaterializeResult(metadata={"dagster/row_count": _run_models_of("requirement_progress", deployment, "requirement_progress")})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["requirement_progress"])
def clinician_compliance(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Per license: deadline, required, counted, carried and remaining hours, unmet requirements, status and its reason."""
    _run_models_of("clinician_compliance", deployment, "clinician_compliance")
    with deployment.warehouse() as con:
        by_status = dict(con.execute("select status, count(*) from clinician_compliance group by all").fetchall())
    context.log.info("licenses by status: " + ", ".join(f"{s} {by_status.get(s, 0)}" for s in STATUSES))
    return dg.MaterializeResult(
        metadata={"dagster/row_count": sum(by_status.values()), **{f"status/{s}": by_status.get(s, 0) for s in STATUSES}}
    )


compliance_assets = [
    rules_catalog,
    license_cycles,
    license_requirements,
    license_adjustments,
    credit_ledger,
    requirement_progress,
    clinician_compliance,
]
