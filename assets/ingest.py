"""Ingest stage: HR rosters and CE provider exports, read and staged in canonical columns."""

import datetime as dt

import dagster as dg
import polars as pl

from assets import markdown_list
from pipelines.archive import keep_registry
from pipelines.landing import stage_incrementally
from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment

INGESTED_FILES_DDL = """
create table if not exists ingested_files (
    source_file varchar, input_kind varchar, input_name varchar, sha256 varchar,
    status varchar, reason varchar, rejected_column varchar, rows_read bigint, reason_code varchar
)
"""


def run_clock(deployment: ComplianceDeployment) -> dt.datetime:
    """The run's clock as the landing history stores it (naive UTC): when the run started, for every file it sees."""
    return deployment.settings().started_at.replace(tzinfo=None)


def record_files(con, input_kind: str, files: pl.DataFrame) -> None:
    con.execute(INGESTED_FILES_DDL)
    con.execute("alter table ingested_files add column if not exists reason_code varchar")  # warehouses before it
    con.execute("delete from ingested_files where input_kind = ?", [input_kind])
    con.register("new_files", files.to_arrow())
    try:
        con.execute("insert into ingested_files by name select * from new_files")
    finally:
        con.unregister("new_files")


def _files_readable(check_name: str, asset: str, files: pl.DataFrame, problems: list[str]) -> dg.AssetCheckResult:
    rejected = files.filter(pl.col("status") == "rejected")
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset,
        passed=rejected.height == 0 and not problems,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "files": files.height,
            "files_rejected": rejected.height,
            "rejections": markdown_list([*problems, *rejected.get_column("reason").to_list()]),
        },
    )


def _stage(
    context: dg.AssetExecutionContext, deployment: ComplianceDeployment, sources, input_kind: str, table: str, check_name: str
) -> dg.MaterializeResult:
    settings = deployment.settings()
    if not settings.landing_dir.is_dir():
        raise dg.Failure(f"the landing folder {settings.landing_dir} (landing_dir in {settings.config_file}) does not exist")
    with deployment.warehouse() as con:
        con.execute("begin transaction")
        staged = stage_incrementally(con, settings.landing_dir, sources, input_kind, table, settings.history_cutoff(), run_clock(deployment), settings.archive_dir)
        record_files(con, input_kind, staged.files)
        con.execute("commit")
        keep_registry(con, settings.archive_dir)
    for (name,), files in staged.files.group_by("input_name", maintain_order=True):
        rejected = files.filter(pl.col("status") == "rejected").get_column("reason")
        context.log.info(f"{name}: {files.get_column('rows_read').sum()} rows from {files.height} file(s), {rejected.len()} rejected")
        for reason in rejected:
            context.log.warning(f"rejected: {reason}")
    context.log.info(f"{staged.files_parsed} new or changed file(s) parsed; the others were staged on an earlier run")
    # A configured input with no file at all is worth a warning of its own: nothing was rejected, yet nothing came.
    problems = [] if not sources or staged.files.height else [
        f"no {input_kind.replace('_', ' ')} file matches {' or '.join(repr(source.path) for source in sources)} under {settings.landing_dir}"
    ]
    for problem in problems:
        context.log.warning(problem)
    check = _files_readable(check_name, table, staged.files, problems)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": staged.rows,
            "files": staged.files.height,
            "files_parsed": staged.files_parsed,
            "files_rejected": check.metadata["files_rejected"].value,
        },
        check_results=[check],
    )


@dg.asset(
    group_name="ingest",
    kinds={"polars", "duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=[dg.AssetCheckSpec("roster_files_readable", asset="staged_roster", description="Every roster file decodes and has the required columns after mapping.")],
)
def staged_roster(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """HR roster rows in canonical columns, one per clinician license, with lineage; rejected files recorded.
    A file already staged (same content, same configuration) is not parsed again. No roster file at all
    stages no row, like rejected ones: the check `roster_complete` stops the run."""
    return _stage(context, deployment, (deployment.settings().roster,), "roster", "staged_roster", "roster_files_readable")


@dg.asset(
    group_name="ingest",
    kinds={"polars", "duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=[dg.AssetCheckSpec("ce_credit_files_readable", asset="staged_ce_credits", description="Every provider export decodes and has the required columns after mapping.")],
)
def staged_ce_credits(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """CE completions from every configured provider, in canonical columns and contact hours, with lineage.
    A file already staged (same content, same configuration) is not parsed again."""
    return _stage(context, deployment, deployment.settings().providers, "provider", "staged_ce_credits", "ce_credit_files_readable")


@dg.asset(
    group_name="ingest",
    kinds={"polars", "duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=[dg.AssetCheckSpec("adjustment_files_readable", asset="staged_adjustments", description="Where an adjustments file is configured, every one decodes and has the required columns after mapping.")],
)
def staged_adjustments(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """The compliance officer's adjustments (extensions, waivers, exemptions, prior completions, carry-overs) in
    canonical columns, with lineage; kept in the landing history so an as-of rerun applies them as known then."""
    source = deployment.settings().adjustments
    return _stage(context, deployment, (source,) if source else (), "adjustments", "staged_adjustments", "adjustment_files_readable")


@dg.asset(
    group_name="ingest",
    kinds={"polars", "duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "course_catalog_files_readable",
            asset="staged_course_catalog",
            description="Where a course catalog is configured, its file exists, decodes and has the required columns after mapping.",
        )
    ],
)
def staged_course_catalog(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Catalog courses in canonical columns (hours and cost as exact decimals), with lineage; none when not
    configured. Kept in the landing history, so an as-of rerun plans with the catalog as it was then."""
    source = deployment.settings().course_catalog
    return _stage(context, deployment, (source,) if source else (), "course_catalog", "staged_course_catalog", "course_catalog_files_readable")


ingest_assets = [staged_roster, staged_ce_credits, staged_adjustments, staged_course_catalog]
