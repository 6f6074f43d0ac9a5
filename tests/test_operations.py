"""Operations: the nightly schedule, the landing-folder sensor, and one run at a time per warehouse."""

import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import shutil
import threading
import time
import zoneinfo

import dagster as dg
import pytest

from pipelines.definitions import build_definitions, ce_compliance_job
from pipelines.run_lock import run_lock_path
from pipelines.schedules import as_of_run_config
from pipelines.sensors import changed_files, landing_listing
from pipelines.settings import ConfigError, InputSource, load_settings
from tests.mail_server import Inbox, smtp_server
from tests.support import BASE_CONFIG, BOARD_HEADER, board_row, make_deployment, query, roster_row, write_csv

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# The runs' clock (see ComplianceDeployment.now), whatever the wall clock says: 22:30 in Chicago on the
# 25th, already the 26th in UTC.
NOW = "2026-11-26T04:30:00+00:00"
SCHEDULED_CONFIG = BASE_CONFIG + """
schedule: {cron: "30 2 * * *", timezone: America/Chicago}
"""


@pytest.fixture
def deployment(tmp_path):
    return make_deployment(tmp_path / "deployment", roster=[roster_row()], board=[board_row()], config=SCHEDULED_CONFIG)


@pytest.fixture
def instance(tmp_path):
    """A real, persistent Dagster instance in a temporary DAGSTER_HOME (SQLite storage)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def at_fixed_clock(run_config: dict) -> dict:
    """The same run config with the run's clock at NOW."""
    deployment = run_config["resources"]["deployment"]["config"]
    return {**run_config, "resources": {"deployment": {"config": {**deployment, "now": NOW}}}}


def run_requested(defs: dg.Definitions, request: dg.RunRequest, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Execute a schedule's or sensor's run request the way the daemon would: its job, run config and tags."""
    return defs.resolve_job_def(ce_compliance_job.name).execute_in_process(
        run_config=at_fixed_clock(request.run_config), tags=request.tags, instance=instance, raise_on_error=False
    )


def test_the_schedule_and_the_sensor_are_in_the_code_location(deployment):
    defs = build_definitions(deployment)
    schedule = defs.resolve_schedule_def("nightly_ce_compliance")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == ("30 2 * * *", "America/Chicago", "ce_compliance")
    assert defs.resolve_sensor_def("landing_files").job_name == "ce_compliance"


def test_the_schedule_defaults_to_two_in_the_morning_utc(tmp_path):
    defs = build_definitions(make_deployment(tmp_path, roster=[roster_row()]))
    schedule = defs.resolve_schedule_def("nightly_ce_compliance")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")


def test_a_nightly_tick_runs_the_whole_graph_as_of_that_day_in_the_schedules_timezone(deployment, instance):
    defs = build_definitions(deployment)
    # 02:30 in Chicago on the 25th is already 08:30 UTC; the as-of date is Chicago's day.
    tick = dt.datetime(2026, 11, 25, 2, 30, tzinfo=CHICAGO)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    [request] = defs.resolve_schedule_def("nightly_ce_compliance").evaluate_tick(context).run_requests
    assert request.run_key == "2026-11-25" and request.tags["ce_compliance/as_of"] == "2026-11-25"

    result = run_requested(defs, request, instance)
    assert result.success
    assert {event.asset_key for event in result.get_asset_materialization_events()} == defs.resolve_asset_graph().get_all_asset_keys()
    assert query(deployment, "select distinct as_of_date from clinician_compliance") == [{"as_of_date": dt.date(2026, 11, 25)}]
    assert (deployment.parent / "out" / "latest").resolve().name == "2026-11-25"


def test_a_rerun_for_a_past_date_takes_that_date_from_run_config(deployment, instance):
    defs = build_definitions(deployment)
    job = defs.resolve_job_def(ce_compliance_job.name)
    result = job.execute_in_process(
        run_config=at_fixed_clock(as_of_run_config(deployment, dt.date(2026, 6, 30))), instance=instance
    )
    assert result.success
    assert query(deployment, "select distinct as_of_date from clinician_compliance") == [{"as_of_date": dt.date(2026, 6, 30)}]
    assert (deployment.parent / "out" / "2026-06-30" / "manifest.json").is_file()


def test_changed_files_keys_content_by_path():
    cursor = {"roster/a.csv": "1", "providers/b.csv": "2"}
    listing = {"roster/a.csv": "1", "providers/b.csv": "3", "providers/c.csv": "4"}
    assert changed_files(cursor, listing) == (["providers/b.csv", "providers/c.csv"], listing)
    assert changed_files(listing, listing) == ([], listing)
    assert changed_files(listing, {"roster/a.csv": "1"}) == ([], {"roster/a.csv": "1"})  # a removed file is forgotten


def test_the_sensor_lists_regular_files_inside_the_landing_folder_only(tmp_path):
    landing = tmp_path / "landing"
    (landing / "roster").mkdir(parents=True)
    (landing / "roster" / "a.csv").write_text("x\n")
    (tmp_path / "outside.csv").write_text("secret\n")
    (landing / "roster" / "linked.csv").symlink_to(tmp_path / "outside.csv")
    (landing / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(landing / "roster" / "pipe.csv")  # reading it would block the sensor
    (landing / "roster" / "notes.txt").write_text("no input reads this\n")
    (landing / "scratch").mkdir()
    (landing / "scratch" / "b.csv").write_text("x\n")
    roster = InputSource(kind="roster", name="roster", path="roster/*.csv", columns={})
    assert list(landing_listing(landing, (roster,))) == ["roster/a.csv"]


def test_the_sensor_requests_one_run_per_new_or_changed_file_and_none_for_the_same_file_again(deployment, instance, tmp_path):
    defs = build_definitions(deployment)
    sensor = defs.resolve_sensor_def("landing_files")
    landing = deployment.parent / "landing"

    def tick(cursor):
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
        return result.run_requests, result.cursor

    requests, cursor = tick(None)
    assert len(requests) == 1  # what was there before the sensor started has not been run yet
    assert "as_of" not in requests[0].run_config["resources"]["deployment"]["config"]  # the run's own today
    assert run_requested(defs, requests[0], instance).success
    # as of the day the run started in the schedule's timezone, not the UTC day
    assert query(deployment, "select distinct as_of_date from clinician_compliance") == [{"as_of_date": dt.date(2026, 11, 25)}]
    assert tick(cursor)[0] == []

    delivery = write_csv(tmp_path / "delivery.csv", BOARD_HEADER, [board_row(course_id="C-2", completion_date="2026-02-01")])
    shutil.copy(delivery, landing / "providers" / "stateboard" / "board_2026-02.csv")
    requests, cursor = tick(cursor)
    assert len(requests) == 1

    time.sleep(0.01)
    shutil.copy(delivery, landing / "providers" / "stateboard" / "board_2026-02.csv")  # delivered again, same bytes
    (landing / "providers" / "stateboard" / ".board_2026-03.csv.partial").write_text("being uploaded")
    requests, cursor = tick(cursor)
    assert requests == []

    write_csv(landing / "providers" / "stateboard" / "board_2026-02.csv", BOARD_HEADER, [board_row(course_id="C-3")])
    assert len(tick(cursor)[0]) == 1
    assert sorted(json.loads(cursor)) == ["providers/stateboard/board.csv", "providers/stateboard/board_2026-02.csv", "roster/roster.csv"]


class HeldInbox(Inbox):
    """An SMTP server that holds the first message it is given until the test lets it through: a run held
    mid-step (sending its reminders, the warehouse lock taken) for as long as the test needs."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()
        self.let_through = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.holding.set()
        await asyncio.get_running_loop().run_in_executor(None, self.let_through.wait)
        return await super().handle_DATA(server, session, envelope)


def test_a_second_run_on_the_same_warehouse_fails_cleanly_while_the_first_one_runs(tmp_path, instance):
    inbox = HeldInbox()
    with smtp_server(inbox) as (controller, _):
        mail = {"smtp": {"host": "127.0.0.1", "port": controller.port, "starttls": False, "timeout_seconds": 120}, "sender": "ce@example.org"}
        # due a reminder as of the 25th: the first run sends one, and is held there
        deployment = make_deployment(
            tmp_path / "deployment", roster=[roster_row(license_expiration_date="2026-12-15")], board=[board_row()],
            config=SCHEDULED_CONFIG + "notifications: " + json.dumps(mail) + "\n",
        )
        job = build_definitions(deployment).resolve_job_def(ce_compliance_job.name)
        first_config = at_fixed_clock(as_of_run_config(deployment, dt.date(2026, 11, 25)))  # the run's own date: it sends
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(job.execute_in_process, run_config=first_config, instance=instance, raise_on_error=False)
            while not inbox.holding.wait(timeout=0.5):
                assert not first.done(), f"the first run ended before it was held: {first.result().success}"
            second = job.execute_in_process(
                run_config=at_fixed_clock(as_of_run_config(deployment, dt.date(2026, 11, 24))), instance=instance, raise_on_error=False
            )
            inbox.let_through.set()
            first = first.result(timeout=300)

    assert first.success and len(inbox.received) == 1
    assert not second.success
    [refusal] = [e for e in second.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert "WarehouseBusyError: another run is writing the warehouse" in refusal.event_specific_data.error.message
    assert not second.get_step_success_events()  # nothing of the second run touched the warehouse
    assert query(deployment, "select distinct as_of_date from clinician_compliance") == [{"as_of_date": dt.date(2026, 11, 25)}]
    out = deployment.parent / "out"
    assert (out / "latest").resolve().name == "2026-11-25" and not (out / "2026-11-24").exists()
    assert run_lock_path(load_settings(deployment).warehouse).read_text() == ""  # released


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('schedule: {cron: "at two"}', "schedule.cron"),
        ("schedule: {timezone: Mars/Olympus}", "schedule.timezone"),
        ("regions: {north: ''}", "regions.north"),
    ],
)
def test_bad_operations_settings_name_the_key(tmp_path, extra, key):
    config = make_deployment(tmp_path, config=BASE_CONFIG + extra + "\n")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(config)


def test_a_provider_freshness_limit_must_be_whole_days(tmp_path):
    config = make_deployment(tmp_path, config=BASE_CONFIG.replace("layout: lms_export", "layout: lms_export\n    max_age_days: 0"))
    with pytest.raises(ConfigError, match=r"providers\[1\] \(lms\)\.max_age_days"):
        load_settings(config)
