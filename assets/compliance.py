"""Compliance stage: the rules catalog and the per-license evaluation, as SQL run by DuckDB."""

import dagster as dg

from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment
from pipelines.rules import load_rules_catalog
from pipelines.warehouse import create_view, read_sql, replace_table, run_sql, table_rows

STATUSES = ("compliant", "at_risk", "overdue", "on_track", "exempt", "not_evaluated")


@dg.asset(group_name="compliance", kinds={"yaml", "duckdb"}, pool=WAREHOUSE_POOL)
def rules_catalog(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """The board requirement rules in force, validated, as tables; its path, version and SHA-256 for the manifest."""
    catalog = load_rules_catalog(deployment.settings().rules_catalog)
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        replace_table(con, "rules", catalog.rules_table())
        replace_table(con, "rule_category_minimums", catalog.category_minimums_table())
        replace_table(con, "rule_delivery_caps", catalog.delivery_caps_table())
        replace_table(con, "rule_accepted_accreditations", catalog.accepted_accreditations_table())
        con.execute(
            "create or replace table rules_catalog_info as select ?::varchar as path, ?::varchar as version, ?::varchar as sha256",
            [str(catalog.path), catalog.version, catalog.sha256],
        )
        con.execute("commit")
    context.log.info(f"rules catalog {catalog.path.name} version {catalog.version}: {len(catalog.rules)} entries")
    return dg.MaterializeResult(
        metadata={"entries": len(catalog.rules), "version": catalog.version, "sha256": catalog.sha256, "path": str(catalog.path)}
    )


def _run_model(deployment: ComplianceDeployment, table: str, **params) -> int:
    with deployment.warehouse() as con:
        run_sql(con, table, **params)
        return table_rows(con, table)


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["roster", "rules_catalog"])
def license_cycles(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Each license of a person employed on the as-of date, with its rule, cycle window, or why it is not evaluated."""
    rows = _run_model(deployment, "license_cycles", as_of=deployment.as_of_date())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["license_cycles", "ce_credits"])
def credit_ledger(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Every credit considered for every license of its person: counted hours, decision and reason."""
    with deployment.warehouse() as con:
        run_sql(con, "credit_decisions")
        create_view(con, "credit_ledger", read_sql("credit_ledger"))
        return dg.MaterializeResult(metadata={"dagster/row_count": table_rows(con, "credit_decisions")})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["credit_ledger"])
def requirement_progress(deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Per license and requirement (total, then each category minimum): required and counted hours, met or not."""
    return dg.MaterializeResult(metadata={"dagster/row_count": _run_model(deployment, "requirement_progress")})


@dg.asset(group_name="compliance", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["requirement_progress"])
def clinician_compliance(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Per license: cycle, required, counted and remaining hours, unmet requirements, status and its reason."""
    settings = deployment.settings()
    with deployment.warehouse() as con:
        run_sql(con, "clinician_compliance", as_of=settings.resolved_as_of(), at_risk_days=settings.at_risk_days)
        by_status = dict(con.execute("select status, count(*) from clinician_compliance group by all").fetchall())
    context.log.info("licenses by status: " + ", ".join(f"{s} {by_status.get(s, 0)}" for s in STATUSES))
    return dg.MaterializeResult(
        metadata={"dagster/row_count": sum(by_status.values()), **{f"status/{s}": by_status.get(s, 0) for s in STATUSES}}
    )


compliance_assets = [rules_catalog, license_cycles, credit_ledger, requirement_progress, clinician_compliance]
