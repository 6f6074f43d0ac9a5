"""Publish stage: the site of the run's as-of date (extracts, manifest, dashboards), then `latest`."""

import datetime as dt

import dagster as dg

from pipelines.archive import keep_run_history
from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment
from pipelines.roster_guard import record_published_run
from reports.publication import load_publication, record_history
from reports.site import publish

# The largest sort of a run is DuckDB's, of the credit ledger for its CSV (ordered, 5.7M rows at 100k
# clinicians): under the warehouse's own limit (80% of RAM by default) it held 4.1 GB beside the pages'
# frames, 5.4 GB for the whole process. Under this cap it spills to the warehouse's temporary folder: the
# process peaks at 2.8 GB, and the CSV, written on a thread beside the pages, takes a few seconds longer.
PUBLISH_WAREHOUSE_MEMORY = "1GB"


@dg.asset(
    group_name="publish",
    kinds={"duckdb", "html"},
    pool=WAREHOUSE_POOL,
    deps=["clinician_compliance", "requirement_progress", "credit_ledger", "data_quality_exceptions", "input_files", "learning_plans"],
)
def published_site(context: dg.AssetExecutionContext, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """The dashboards and CSV extracts of the as-of date, published whole, and `latest` switched to them."""
    settings = deployment.settings()
    as_of = settings.resolved_as_of()
    generated_at = dt.datetime.now(dt.UTC)
    with deployment.warehouse(memory_cap=PUBLISH_WAREHOUSE_MEMORY) as con:
        record_history(con, as_of, context.run_id, generated_at)
        publication = load_publication(con, as_of, context.run_id, generated_at, sends_notifications=settings.notifications is not None)
        # The run is the roster guard's next baseline exactly when its site is out: committed once the site is whole.
        con.execute("begin transaction")
        record_published_run(con, context.run_id, as_of, generated_at)
        published = publish(publication, settings.output_dir, settings.data_docs_dir, settings.today)
        con.execute("commit")
        keep_run_history(con, settings.archive_dir)
    context.log.info(
        f"published {published.site} ({published.clinic_pages} clinic pages); latest -> {published.latest.resolve()}"
    )
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "site": dg.MetadataValue.path(str(published.site)),
            "latest": dg.MetadataValue.path(str(published.latest)),
            "overview": dg.MetadataValue.path(str(published.site / "index.html")),
            "clinic_pages": published.clinic_pages,
            **{f"rows/{name}": rows for name, rows in published.rows.items()},
        }
    )


publish_assets = [published_site]
