"""Quality stage: the Great Expectations suites run on the staged inputs, quarantine, reconciliation."""

import shutil

import dagster as dg
import polars as pl

from assets import markdown_list
from pipelines.ingestion import case_folded
from pipelines.quality.credit_validation import validate_credits
from pipelines.quality.gx_runner import SuiteResult, suite_result_from_json, suite_result_to_json, validate_rows, write_data_docs
from pipelines.quality.suites import (
    adjustment_expectations,
    judge_findings,
    mark_superseded_roster_rows,
    prepare_adjustments_for_validation,
    roster_expectations,
    split_rows,
)
from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment
from pipelines.roster_guard import judge_roster
from pipelines.warehouse import create_view, read_sql, replace_table, run_sql

ROW_CHECK_DESCRIPTION = (
    "The {input} suite (Great Expectations): quarantined rows leave the canonical table, warned rows stay; "
    "every failing row is in data_quality_exceptions."
)


def suite_check(check_name: str, asset: str, exceptions: pl.DataFrame, *results: SuiteResult) -> dg.AssetCheckResult:
    """One asset check for the suites that validate an input's rows. Its counts are those of the judged
    `exceptions` (what data_quality_exceptions, the command line and the dashboards list): a warning on a
    row that is also quarantined is not listed, so Great Expectations' own count of it would disagree."""
    outcomes = [outcome for result in results for outcome in result.outcomes]
    examples = {o.expectation.check: o.examples[:3] for o in outcomes}
    rows = exceptions.group_by("check", "action").agg(rows=pl.len()).sort(["rows", "check"], descending=[True, False])
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset,
        passed=exceptions.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_validated": outcomes[0].element_count if outcomes else 0,
            "failing_expectations": markdown_list(
                f"`{check}` ({action}): {n} row(s), e.g. {examples.get(check, [])}" for check, action, n in rows.iter_rows()
            ),
            **{f"failing_rows/{check}": n for check, _, n in rows.iter_rows()},
        },
    )


def publish_data_docs(deployment: ComplianceDeployment, *results: SuiteResult) -> None:
    """Keep these suites' validation results and rebuild one Data Docs site from every suite's latest,
    so the site's index lists them all (each input validates in its own step)."""
    settings = deployment.settings()
    kept = settings.work_dir / "validation-results"
    kept.mkdir(parents=True, exist_ok=True)
    for result in results:
        (kept / f"{result.suite_name}.json").write_text(suite_result_to_json(result), encoding="utf-8")
    results = [suite_result_from_json(path.read_text(encoding="utf-8")) for path in sorted(kept.glob("*.json"))]
    shutil.rmtree(settings.data_docs_dir, ignore_errors=True)
    write_data_docs(results, settings.data_docs_dir)


def quarantine_in_memory(
    context: dg.AssetExecutionContext,
    deployment: ComplianceDeployment,
    staged_table: str,
    prepare,
    expectations,
    table: str,
    check_name: str,
    finalise=None,
) -> dg.MaterializeResult:
    """Validate a small input (roster, catalog) in memory: `table` gets the kept rows in the staged
    columns (through `finalise` when given), `<table>_exceptions` the findings."""
    with deployment.warehouse() as con:
        staged = con.sql(f"select * from {staged_table} order by source_file, source_row").pl()
    prepared = prepare(staged)
    result = validate_rows(table, prepared, expectations)
    kept, exceptions = split_rows(prepared, result)
    kept = kept.select(staged.columns)
    if finalise is not None:
        kept = finalise(kept)
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        replace_table(con, table, kept)
        replace_table(con, f"{table}_exceptions", exceptions)
        con.execute("commit")
    publish_data_docs(deployment, result)
    quarantined = staged.height - kept.height
    context.log.info(f"{table}: {kept.height} rows kept, {quarantined} quarantined, {exceptions.height} exception rows")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": kept.height, "rows_quarantined": quarantined},
        check_results=[suite_check(check_name, table, exceptions, result)],
    )


@dg.asset(
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["staged_roster"],
    check_specs=[
        dg.AssetCheckSpec("roster_rows_valid", asset="roster", description=ROW_CHECK_DESCRIPTION.format(input="roster")),
        dg.AssetCheckSpec(
            "roster_complete",
            asset="roster",
            blocking=True,
            description="Some roster license was accepted, and at least min_roster_share of the last published run's "
            "(ce-compliance run --accept-roster-change lets one deliberate drop through).",
        ),
    ],
)
def roster(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Roster licenses that passed the roster suite; duplicates resolved to the later expiration."""
    result = quarantine_in_memory(
        context, deployment, "staged_roster", mark_superseded_roster_rows, roster_expectations(), "roster", "roster_rows_valid"
    )
    settings = deployment.settings()
    with deployment.warehouse() as con:
        guard = judge_roster(con, context.run_id, settings.resolved_as_of(), settings.min_roster_share, deployment.accept_roster_change)
    context.log.info(guard.summary())
    complete = dg.AssetCheckResult(
        check_name="roster_complete", passed=guard.passed, severity=dg.AssetCheckSeverity.ERROR, metadata=guard.metadata()
    )
    return dg.MaterializeResult(metadata=result.metadata, check_results=[*result.check_results, complete])


@dg.asset(
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["staged_ce_credits", "roster"],
    check_specs=[dg.AssetCheckSpec("ce_credit_rows_valid", asset="ce_credits", description=ROW_CHECK_DESCRIPTION.format(input="CE credit"))],
)
def ce_credits(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """CE credits that passed the credit suites, each matched to its roster person (or to no one, warned).
    A provider file is validated once per version (pipelines/quality/credit_validation.py)."""
    with deployment.warehouse() as con:
        untitled = con.sql("select distinct course_title from staged_ce_credits where course_id is null and course_title is not null")
        replace_table(con, "course_title_keys", untitled.pl().with_columns(course_key=case_folded("course_title")))
        create_view(con, "matched_ce_credits", read_sql("matched_ce_credits"))
        validation = validate_credits(con, deployment.as_of_date())
        quarantined, exceptions = judge_findings(validation.findings)
        con.execute("begin transaction")
        con.register("quarantined_credit_rows", quarantined.to_arrow())
        run_sql(con, "ce_credits")
        con.unregister("quarantined_credit_rows")
        replace_table(con, "ce_credit_exceptions", exceptions)
        kept, unmatched = con.execute("select count(*), count(*) filter (where person_id is null) from ce_credits").fetchone()
        con.execute("commit")
    publish_data_docs(deployment, validation.file_suite, validation.context_suite)
    context.log.info(
        f"credits: {kept} kept ({unmatched} match no one), {quarantined.height} quarantined, {exceptions.height} exception rows; "
        f"{validation.versions_validated} file version(s) validated now, the others on an earlier run"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": kept,
            "rows_quarantined": quarantined.height,
            "unmatched": unmatched,
            "file_versions_validated": validation.versions_validated,
        },
        check_results=[suite_check("ce_credit_rows_valid", "ce_credits", exceptions, validation.file_suite, validation.context_suite)],
    )


@dg.asset(
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["staged_adjustments", "roster"],
    check_specs=[dg.AssetCheckSpec("adjustment_rows_valid", asset="adjustments", description=ROW_CHECK_DESCRIPTION.format(input="adjustments"))],
)
def adjustments(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Adjustments that passed the adjustments suite: a known kind, a reference, the fields their kind needs."""
    with deployment.warehouse() as con:
        roster_licenses = con.sql(
            "select employee_id, license_state, license_type, max(license_expiration_date) as license_expiration_date "
            "from roster where employee_id is not null and license_state is not null and license_type is not null group by all"
        ).pl()
    return quarantine_in_memory(
        context,
        deployment,
        "staged_adjustments",
        lambda staged: prepare_adjustments_for_validation(staged, roster_licenses),
        adjustment_expectations(),
        "adjustments",
        "adjustment_rows_valid",
    )


@dg.asset(
    group_name="quality",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["roster", "ce_credits", "course_catalog", "adjustments", "license_adjustments"],
)
def data_quality_exceptions(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Every rejected file, quarantined row and warning, with the check, column, value and message."""
    with deployment.warehouse() as con:
        run_sql(con, "data_quality_exceptions")
        by_action = dict(con.execute("select action, count(*) from data_quality_exceptions group by all order by all").fetchall())
    context.log.info(f"data-quality exceptions: {by_action or 'none'}")
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(by_action.values()), **{f"rows_{k}": v for k, v in by_action.items()}})


@dg.asset(
    group_name="quality",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    deps=["data_quality_exceptions"],
    check_specs=[
        dg.AssetCheckSpec(
            "input_rows_reconcile",
            asset="input_files",
            blocking=True,
            description="For every input file, rows read = rows accepted + rows quarantined: nothing is lost.",
        ),
        dg.AssetCheckSpec(
            "provider_exports_fresh",
            asset="input_files",
            description="Every provider's newest completion is at most its max_age_days before the as-of date.",
        ),
    ],
)
def input_files(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Per input file: SHA-256, accepted or rejected (why), rows read, accepted and quarantined; per provider, freshness."""
    settings = deployment.settings()
    configured_providers = pl.DataFrame(
        {"input_name": [p.name for p in settings.providers], "max_age_days": [p.max_age_days for p in settings.providers]},
        schema={"input_name": pl.String, "max_age_days": pl.Int32},
    )
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        run_sql(con, "input_files")
        con.register("configured_providers", configured_providers.to_arrow())
        run_sql(con, "provider_freshness", as_of=settings.resolved_as_of())
        con.unregister("configured_providers")
        con.execute("commit")
        files = con.sql("select * from input_files").pl()
        stale = con.sql("select * from provider_freshness where stale").pl()
    unbalanced = files.filter(pl.col("rows_read") != pl.col("rows_accepted") + pl.col("rows_quarantined"))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": files.height,
            "files_rejected": files.filter(pl.col("status") == "rejected").height,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="input_rows_reconcile",
                passed=unbalanced.height == 0,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "files_checked": files.height,
                    "unbalanced_files": markdown_list(
                        f"{r['source_file']}: read {r['rows_read']}, accepted {r['rows_accepted']}, quarantined {r['rows_quarantined']}"
                        for r in unbalanced.iter_rows(named=True)
                    ),
                },
            ),
            dg.AssetCheckResult(
                check_name="provider_exports_fresh",
                passed=stale.height == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "providers_checked": configured_providers.height,
                    "stale_providers": markdown_list(
                        f"{r['provider']}: newest completion {r['newest_row_date'] or 'none'}, limit {r['max_age_days']} days"
                        for r in stale.iter_rows(named=True)
                    ),
                },
            ),
        ],
    )


quality_assets = [roster, ce_credits, adjustments, data_quality_exceptions, input_files]
