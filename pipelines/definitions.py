"""The Dagster code location: assets by stage, the job that materialises them, resources, loggers."""

import os
import pathlib

import dagster as dg

from assets.compliance import compliance_assets
from assets.ingest import ingest_assets
from assets.plans import plan_assets
from assets.publish import publish_assets
from assets.quality import quality_assets
from pipelines.progress import progress_logger
from pipelines.resources import ComplianceDeployment
from pipelines.schedules import nightly_region_schedule, nightly_schedule
from pipelines.sensors import landing_files_sensor
from pipelines.settings import load_settings

SAMPLE_CONFIG = pathlib.Path(__file__).resolve().parents[1] / "sample_data" / "config.yaml"
CONFIG_ENV_VAR = "CE_COMPLIANCE_CONFIG"
DEPLOYMENT_TAG = "ce_compliance/deployment"  # the run queue admits one run per value (deploy/dagster-postgres.yaml)

all_assets = [*ingest_assets, *quality_assets, *compliance_assets, *plan_assets, *publish_assets]

# One run works in one process: the DuckDB file admits a single writer (see TERRAIN/README).
ce_compliance_job = dg.define_asset_job(
    "ce_compliance",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    tags={DEPLOYMENT_TAG: "main"},
    description="Ingest, check, evaluate and publish the whole graph once, as of the configured date (default today).",
)


def region_job(regions: dict[str, pathlib.Path]):
    """The same graph partitioned by region: each partition is a whole deployment (its own landing folder,
    warehouse and site), so partitions run side by side on as many machines as the run launcher offers."""
    return dg.define_asset_job(
        "ce_compliance_by_region",
        selection=dg.AssetSelection.all(),
        executor_def=dg.in_process_executor,
        config=dg.PartitionedConfig(
            partitions_def=dg.StaticPartitionsDefinition(sorted(regions)),
            run_config_for_partition_key_fn=lambda region: {
                "resources": {"deployment": {"config": {"config_path": str(regions[region])}}}
            },
            tags_for_partition_key_fn=lambda region: {DEPLOYMENT_TAG: region},
        ),
        description="Ingest, check, evaluate and publish one region's deployment (a partition per region).",
    )


def stage_of_each_step() -> dict[str, str]:
    return {
        key.to_user_string(): group
        for assets_def in all_assets
        for key, group in assets_def.group_names_by_key.items()
    }


def build_definitions(config_path: str | os.PathLike) -> dg.Definitions:
    settings = load_settings(config_path)
    jobs = [ce_compliance_job]
    schedules = [nightly_schedule(settings, ce_compliance_job)]
    if settings.regions:
        by_region = region_job(settings.regions)
        jobs.append(by_region)
        schedules.append(nightly_region_schedule(settings, by_region))
    return dg.Definitions(
        assets=all_assets,
        jobs=jobs,
        schedules=schedules,
        sensors=[landing_files_sensor(settings, ce_compliance_job)],
        resources={"deployment": ComplianceDeployment(config_path=str(config_path))},
        loggers={"progress": progress_logger(stage_of_each_step()), "console": dg.colored_console_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded when Dagster asks (the UI, the daemon, `dg check defs`), not when a module imports this one:
    `ce-compliance run --config FILE` must not fail on the file CE_COMPLIANCE_CONFIG names."""
    return build_definitions(os.environ.get(CONFIG_ENV_VAR) or SAMPLE_CONFIG)
