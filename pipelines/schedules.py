"""The nightly run: the whole graph as of the day the schedule fires, in the deployment's timezone."""

from __future__ import annotations

import datetime as dt
import pathlib

import dagster as dg

from pipelines.settings import Settings

AS_OF_TAG = "ce_compliance/as_of"


def as_of_run_config(config_path: pathlib.Path, as_of: dt.date | None) -> dict:
    """Run config that evaluates the deployment as of `as_of` (what the UI launchpad takes too); None: as of
    the day the run starts, in the schedule's timezone."""
    as_of_key = {"as_of": as_of.isoformat()} if as_of else {}
    return {"resources": {"deployment": {"config": {"config_path": str(config_path), **as_of_key}}}}


def as_of_run_request(config_path: pathlib.Path, as_of: dt.date | None, **run_request: object) -> dg.RunRequest:
    tags = {AS_OF_TAG: as_of.isoformat()} if as_of else {}
    return dg.RunRequest(run_config=as_of_run_config(config_path, as_of), **run_request, tags=tags)


def nightly_schedule(settings: Settings, job) -> dg.ScheduleDefinition:
    schedule = settings.schedule
    @dg.schedule(
        name=f"nightly_{job.name}",
        job=job,
        cron_schedule=schedule.cron,
        execution_timezone=schedule.timezone,
        description=f"Materialise the whole graph as of the day it fires ({schedule.cron}, {schedule.timezone}).",
    )
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        # scheduled_execution_time is in execution_timezone: 02:00 in Chicago is still that day in Chicago.
        as_of = context.scheduled_execution_time.date()
        return as_of_run_request(settings.config_file, as_of, run_key=as_of.isoformat())

    return nightly


def nightly_region_schedule(settings: Settings, job) -> dg.ScheduleDefinition:
    """One run per region partition, each as of the day the schedule fires."""
    schedule = settings.schedule

    @dg.schedule(
        name=f"nightly_{job.name}",
        job=job,
        cron_schedule=schedule.cron,
        execution_timezone=schedule.timezone,
        description=f"One run per region, as of the day it fires ({schedule.cron}, {schedule.timezone}).",
    )
    def nightly_by_region(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        as_of = context.scheduled_execution_time.date()
        return [
            as_of_run_request(region_file, as_of, partition_key=region, run_key=f"{region}:{as_of.isoformat()}")
            for region, region_file in sorted(settings.regions.items())
        ]

    return nightly_by_region
