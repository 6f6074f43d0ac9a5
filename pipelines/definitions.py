"""The Dagster code location: assets by stage, the job that materialises them, resources, loggers."""

import os
import pathlib

import dagster as dg

from assets.compliance import compliance_assets
from assets.ingest import ingest_assets
from assets.publish import publish_assets
from assets.quality import quality_assets
from pipelines.progress import progress_logger
from pipelines.resources import ComplianceDeployment

SAMPLE_CONFIG = pathlib.Path(__file__).resolve().parents[1] / "sample_data" / "config.yaml"
CONFIG_ENV_VAR = "CE_COMPLIANCE_CONFIG"

all_assets = [*ingest_assets, *quality_assets, *compliance_assets, *publish_assets]

# One run works in one process: the DuckDB file admits a single writer (see TERRAIN/README).
ce_compliance_job = dg.define_asset_job(
    "ce_compliance",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest, check, evaluate and publish the whole graph once, as of the configured date (default today).",
)


def stage_of_each_step() -> dict[str, str]:
    return {
        key.to_user_string(): group
        for assets_def in all_assets
        for key, group in assets_def.group_names_by_key.items()
    }


def build_definitions(config_path: str | os.PathLike) -> dg.Definitions:
    return dg.Definitions(
        assets=all_assets,
        jobs=[ce_compliance_job],
        resources={"deployment": ComplianceDeployment(config_path=str(config_path))},
        loggers={"progress": progress_logger(stage_of_each_step()), "console": dg.colored_console_logger},
    )


defs = build_definitions(os.environ.get(CONFIG_ENV_VAR) or SAMPLE_CONFIG)
