"""The course catalog checked like every input (assets/ingest.py stages it) and the learning plans built on it."""

import dagster as dg
import polars as pl

from assets import markdown_list
from assets.quality import ROW_CHECK_DESCRIPTION, quarantine_in_memory
from pipelines.plan_recheck import licenses_left_open
from pipelines.planning import (
    PLAN_SCHEMA,
    STATUS_SCHEMA,
    Plan,
    catalog_fingerprint,
    catalog_of,
    plan_from_json,
    plan_organisation,
    plan_to_json,
)
from pipelines.quality.suites import course_catalog_expectations, finalise_catalog, prepare_catalog_for_validation
from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment
from pipelines.warehouse import read_sql, replace_table, run_sql


@dg.asset(
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["staged_course_catalog"],
    check_specs=[
        dg.AssetCheckSpec("course_catalog_rows_valid", asset="course_catalog", description=ROW_CHECK_DESCRIPTION.format(input="course catalog"))
    ],
)
def course_catalog(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Catalog courses that passed the catalog suite; a repeated course_id keeps its first row."""
    return quarantine_in_memory(
        context,
        deployment,
        "staged_course_catalog",
        prepare_catalog_for_validation,
        course_catalog_expectations(),
        "course_catalog",
        "course_catalog_rows_valid",
        finalise=finalise_catalog,
    )


KNOWN_PLANS_DDL = "create table if not exists known_plans (catalog_fingerprint varchar, signature varchar, plan varchar)"


def known_plans(con, fingerprint: str) -> dict[str, Plan]:
    """The plans the last run kept for this catalog, by signature key."""
    con.execute(KNOWN_PLANS_DDL)
    kept = con.execute("select signature, plan from known_plans where catalog_fingerprint = ?", [fingerprint]).fetchall()
    return {signature: plan_from_json(plan) for signature, plan in kept}


def keep_plans(con, fingerprint: str, plans: dict[str, Plan]) -> None:
    """Keep this run's plans (only these: a signature no one has any more is forgotten)."""
    replace_table(
        con,
        "known_plans",
        pl.DataFrame(
            {"catalog_fingerprint": fingerprint, "signature": list(plans), "plan": [plan_to_json(plan) for plan in plans.values()]},
            schema={"catalog_fingerprint": pl.String, "signature": pl.String, "plan": pl.String},
        ),
    )


@dg.asset(
    group_name="plans",
    kinds={"scipy", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["clinician_compliance", "course_catalog"],
    check_specs=[
        dg.AssetCheckSpec(
            "learning_plans_close_gaps",
            asset="learning_plans",
            blocking=True,
            description=(
                "The compliance engine itself, run on the real credits plus each plan's courses as credits, finds every "
                "`closes_gap` license compliant, and a `no_plan` license short only of the requirements its reason names."
            ),
        )
    ],
)
def learning_plans(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Per person with a gap, the catalog courses that close it at least cost; per planned license, closes_gap or no_plan."""
    settings = deployment.settings()
    with deployment.warehouse() as con:
        [(catalog_files,)] = con.sql(
            "select count(*) from ingested_files where input_kind = 'course_catalog' and status = 'accepted'"
        ).fetchall()
        has_catalog = settings.course_catalog is not None and catalog_files > 0
        if has_catalog:
            licenses = con.sql(read_sql("planned_licenses")).pl()
            catalog = catalog_of(con.sql("select * from course_catalog").pl(), con.sql(read_sql("plan_rule_candidates")).pl())
            fingerprint = catalog_fingerprint(catalog)
            known = known_plans(con, fingerprint)
    signatures_solved = 0
    if has_catalog:
        planned = plan_organisation(licenses, catalog, known)
        planned_courses, statuses, signatures_solved = planned.courses, planned.statuses, planned.signatures_solved
        context.log.info(
            f"learning plans: {planned.people} people, {len(planned.plans)} distinct gap signatures, "
            f"{signatures_solved} solved now (the others' plans were kept from an earlier run with this catalog)"
        )
    else:
        planned_courses, statuses = pl.DataFrame(schema=PLAN_SCHEMA), pl.DataFrame(schema=STATUS_SCHEMA)
        context.log.info("learning plans: no course catalog, so no plans")
    budget = settings.training_budget_per_clinician
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        replace_table(con, "planned_courses", planned_courses)
        replace_table(con, "planned_license_status", statuses)
        if has_catalog:
            keep_plans(con, fingerprint, planned.plans)
        run_sql(con, "learning_plans")
        con.execute(
            "create or replace table learning_plan_info as "
            "select ?::boolean as has_catalog, ?::decimal(18, 4) as budget_per_clinician, ?::varchar as currency",
            [has_catalog, None if budget is None else str(budget), settings.currency],
        )
        con.execute("commit")
        left_open = licenses_left_open(con, settings.resolved_as_of(), settings.at_risk_days)
        by_plan = dict(con.execute("select plan, count(*) from learning_plan_status group by all").fetchall())
        [(plan_rows,)] = con.sql("select count(*) from learning_plans").fetchall()
    return dg.MaterializeResult(
        metadata={"dagster/row_count": plan_rows, "catalog": has_catalog, "signatures_solved": signatures_solved, **{f"licenses/{k}": v for k, v in by_plan.items()}},
        check_results=[
            dg.AssetCheckResult(
                check_name="learning_plans_close_gaps",
                passed=left_open.height == 0,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "licenses_checked": sum(by_plan.values()),
                    "left_open": markdown_list(
                        f"{r['employee_id']} {r['license_state']} {r['license_type']}: still unmet {r['unmet_requirements']}"
                        for r in left_open.head(20).iter_rows(named=True)
                    ),
                },
            )
        ],
    )


plan_assets = [course_catalog, learning_plans]
