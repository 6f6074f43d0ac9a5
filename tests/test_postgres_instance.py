"""The server's Dagster instance, deploy/dagster-postgres.yaml as shipped, on a real Postgres.

The module starts its own throw-away cluster (initdb, pg_ctl) on 127.0.0.1 at a free port in a temporary
folder, creates the database and the user the way the README says, and points DAGSTER_HOME at a folder
holding the unmodified instance file, configured only by the DAGSTER_PG_* variables. It skips only when
the PostgreSQL server binaries are not installed (Debian: `apt-get install postgresql`; `.ci/run` does).
"""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pytest

from pipelines.definitions import DEPLOYMENT_TAG, build_definitions
from tests.support import board_row, make_deployment, roster_row

ROOT = pathlib.Path(__file__).resolve().parents[1]
INSTANCE_FILE = ROOT / "deploy" / "dagster-postgres.yaml"
PASSWORD = "p@ss/w:rd with spaces"  # characters a connection URL must quote
NOW = "2026-11-26T04:30:00+00:00"  # the runs' clock, as in tests/test_operations.py


def postgres_binaries() -> pathlib.Path | None:
    """The newest Debian PostgreSQL server (/usr/lib/postgresql/<major>/bin), else initdb on the PATH."""
    debian = sorted(
        (p.parent for p in pathlib.Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1]
    on_path = shutil.which("initdb")
    return pathlib.Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Postgres:
    port: int
    socket_dir: pathlib.Path
    db_name: str = "ce_dagster"
    username: str = "ce_dagster"
    password: str = PASSWORD

    @property
    def env(self) -> dict[str, str]:
        """The variables deploy/dagster-postgres.yaml reads (deploy/ce-compliance.env.example)."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_DB": self.db_name,
            "DAGSTER_PG_USERNAME": self.username, "DAGSTER_PG_PASSWORD": self.password,
        }  # fmt: skip

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """As the Dagster user, over TCP with its password, as the instance connects."""
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, dbname=self.db_name, user=self.username, password=self.password)
        try:
            with con.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    bin_dir = postgres_binaries()
    if bin_dir is None:
        pytest.skip("the PostgreSQL server binaries are not installed (Debian: apt-get install postgresql)")
    import psycopg2

    # PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` user Debian's package creates.
    as_owner: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs the `postgres` OS user to own the cluster (Debian's package creates it)")
        as_owner = ["runuser", "-u", "postgres", "--"]
    work = pathlib.Path(tempfile.mkdtemp(prefix="ce-compliance-pg-"))
    if owner is not None:
        os.chown(work, owner.pw_uid, owner.pw_gid)

    def pg(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_owner, *command], cwd=work, capture_output=True, text=True, timeout=60)

    data = work / "data"
    try:
        # Local socket connections trusted (the superuser, below), TCP ones by password (the instance's).
        done = pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        for _ in range(3):  # a free port can be taken between looking and listening
            port = free_port()
            done = pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(work / "server.log"), "-w", "-t", "30",
                      "-o", f"-h 127.0.0.1 -p {port} -k {work} -F", "start")  # fmt: skip
            if done.returncode == 0:
                break
        else:
            log = (work / "server.log").read_text(errors="replace") if (work / "server.log").exists() else ""
            pytest.fail(f"Postgres did not start: {done.stdout}{done.stderr}{log}")
        server = Postgres(port=port, socket_dir=work)
        admin = psycopg2.connect(host=str(work), port=port, dbname="postgres", user="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"create role {server.username} login password %s", (server.password,))
            cursor.execute(f"create database {server.db_name} owner {server.username}")
        admin.close()
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def server_home(postgres, tmp_path, monkeypatch) -> pathlib.Path:
    """A DAGSTER_HOME holding deploy/dagster-postgres.yaml as shipped, on an empty Dagster database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_FILE, home / "dagster.yaml")
    for name, value in {**postgres.env, "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    yield home
    with dg.DagsterInstance.get() as instance:  # the next test starts with no runs, ticks or cursors
        instance.wipe()
        instance.wipe_all_schedules()


@pytest.fixture
def deployment(tmp_path) -> pathlib.Path:
    return make_deployment(tmp_path / "deployment", roster=[roster_row()], board=[board_row()])


def test_a_cli_run_is_recorded_in_the_postgres_instance(postgres, server_home, deployment):
    from dagster_postgres import PostgresRunStorage

    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ce-compliance"), "run", "--config", str(deployment), "--as-of", "2026-11-25"],
        capture_output=True, text=True, timeout=180, env=os.environ.copy(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Published site:" in done.stdout

    # In Postgres itself: the run, its events, the asset materialisations.
    [(run_id, status, job_name)] = postgres.query("select run_id, status, pipeline_name from runs")
    assert (status, job_name) == ("SUCCESS", "ce_compliance")
    [(materialised,)] = postgres.query(
        "select count(distinct asset_key) from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
        (run_id,),
    )
    assert materialised == len(build_definitions(deployment).resolve_asset_graph().get_all_asset_keys())

    # Through the instance the daemon and the UI open: the same run, and the file's queue and retries.
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        [run] = instance.get_runs()
        assert (run.run_id, run.status) == (run_id, dg.DagsterRunStatus.SUCCESS)
        assert instance.fetch_materializations(dg.AssetKey("published_site"), limit=1).records
        runs = instance.get_concurrency_config().run_queue_config
        assert runs.max_concurrent_runs == 1 and instance.run_retries_enabled
        assert runs.tag_concurrency_limits == [{"key": DEPLOYMENT_TAG, "limit": 1, "value": {"applyLimitPerUniqueValue": True}}]


def test_the_landing_sensor_ticks_with_the_postgres_instance(postgres, server_home, deployment):
    defs = build_definitions(deployment)
    sensor = defs.resolve_sensor_def("landing_files")
    with dg.DagsterInstance.get() as instance:

        def tick(cursor):
            result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
            return result.run_requests, result.cursor

        # The first tick sees the files already in the landing folder as new: one run for all of them.
        [request], cursor = tick(None)
        assert sorted(json.loads(cursor)) == ["providers/stateboard/board.csv", "roster/roster.csv"]
        assert tick(cursor)[0] == []

        # The run it requests, executed as the daemon would, is recorded in Postgres with the sensor's tags.
        assert "as_of" not in request.run_config["resources"]["deployment"]["config"]  # the run's own today
        config = request.run_config["resources"]["deployment"]["config"]
        result = defs.resolve_job_def("ce_compliance").execute_in_process(
            run_config={**request.run_config, "resources": {"deployment": {"config": {**config, "now": NOW}}}},
            tags=request.tags, instance=instance, raise_on_error=False,
        )
        assert result.success
    [(status, deployment_tag)] = postgres.query(
        "select r.status, t.value from runs r join run_tags t on t.run_id = r.run_id and t.key = %s", (DEPLOYMENT_TAG,)
    )
    assert (status, deployment_tag) == ("SUCCESS", "main")
