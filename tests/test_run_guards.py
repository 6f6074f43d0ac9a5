"""What stops a run and what it leaves behind, through the installed CLI: a roster that collapsed
(rejected, missing, or a third of its licenses gone) stops the run before publication and leaves
`latest` and the same-date site byte for byte; `--accept-roster-change` lets one deliberate drop
through. Only a failure that can pass on a second try is retried; any other fails the step at once."""

import errno
import os
import pathlib
import subprocess
import sys
import time

import dagster as dg
import pytest

from pipelines.resources import ComplianceDeployment, WarehouseLockedError, transient_failures_retried
from tests.support import ROSTER_HEADER, board_row, make_deployment, query, roster_row, write_csv
from tests.test_cli import CLI, run_cli

AS_OF = "2026-11-25"
SIX = [roster_row(f"{n:06d}") for n in range(1, 7)]
NO_ROSTER = (
    "ce-compliance: stopped by roster_complete: no accepted roster row (every roster file missing or rejected): "
    "0 accepted roster license(s) now, 6 in the last published run (as of 2026-11-25), a share of 0.0% against "
    "min_roster_share 80%; nothing was published"
)


def snapshot(out: pathlib.Path) -> dict[str, object]:
    """What is published: where `latest` points, and every file of the AS_OF site with its bytes (not the
    run's scratch space `.work`)."""
    site = out / AS_OF
    return {"latest": str((out / "latest").readlink())} | {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(site.rglob("*")) if path.is_file()
    }


@pytest.fixture
def published(tmp_path):
    """A deployment whose run as of AS_OF published six licenses."""
    config = make_deployment(tmp_path, roster=SIX, board=[board_row()])
    proc = run_cli("run", "--config", str(config), "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return config


def roster_file(config: pathlib.Path) -> pathlib.Path:
    return config.parent / "landing" / "roster" / "roster.csv"


def assert_stopped_and_nothing_replaced(config: pathlib.Path, before: dict, why: str) -> list[str]:
    """The run stops with `why` as its message's first line; returns the lines after it."""
    proc = run_cli("run", "--config", str(config), "--as-of", AS_OF)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert why in lines, proc.stderr
    assert "[publish] published_site" not in proc.stdout
    assert snapshot(config.parent / "out") == before
    return lines[lines.index(why) + 1 :]


def test_a_roster_whose_license_column_was_renamed_stops_the_run_and_leaves_the_sites(published):
    before = snapshot(published.parent / "out")
    renamed = {"license_number": "License #"}  # HR renamed the column; the configuration still expects license_number
    rows = [{renamed.get(column, column): value for column, value in row.items()} for row in SIX]
    write_csv(roster_file(published), [renamed.get(column, column) for column in ROSTER_HEADER], rows)
    # the message says which file was rejected and why, as data_quality_exceptions.csv would (it is not published)
    rejected = assert_stopped_and_nothing_replaced(published, before, NO_ROSTER)
    assert rejected[0] == "roster files:"
    assert rejected[1].startswith("- roster/roster.csv: required column 'license_number' is missing: expected a header 'license_number'; found ")
    roster_file(published).unlink()  # no roster file at all: the same guard, the same result
    landing = published.parent / "landing"
    assert assert_stopped_and_nothing_replaced(published, before, NO_ROSTER) == [
        "roster files:", f"- no roster file matches 'roster/*.csv' under {landing}"
    ]


def test_a_roster_that_lost_a_third_stops_the_run_until_the_change_is_accepted(published):
    before = snapshot(published.parent / "out")
    write_csv(roster_file(published), ROSTER_HEADER, SIX[:4])
    assert_stopped_and_nothing_replaced(
        published,
        before,
        "ce-compliance: stopped by roster_complete: the roster collapsed: 4 accepted roster license(s) now, 6 in the last "
        "published run (as of 2026-11-25), a share of 66.7% against min_roster_share 80%; nothing was published. If the "
        "drop is deliberate, run again with --accept-roster-change",
    )

    proc = run_cli("run", "--config", str(published), "--as-of", AS_OF, "--accept-roster-change")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "roster_complete: the drop was accepted (--accept-roster-change): 4 accepted roster license(s) now" in proc.stdout
    assert len(query(published, "select * from clinician_compliance")) == 4
    site = published.parent / "out" / AS_OF
    assert (site / "clinician_compliance.csv").read_text().count("\n") == 1 + 4
    assert (published.parent / "out" / "latest").resolve() == site

    # the accepted run is the next run's baseline: the same four pass without the flag
    assert run_cli("run", "--config", str(published), "--as-of", AS_OF).returncode == 0


def test_a_smaller_min_roster_share_lets_the_same_drop_through(published):
    published.write_text(published.read_text() + "min_roster_share: 0.5\n")
    write_csv(roster_file(published), ROSTER_HEADER, SIX[:4])
    proc = run_cli("run", "--config", str(published), "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_deterministic_failure_fails_its_step_at_once_and_the_run_ends_saying_which(tmp_path):
    config = make_deployment(tmp_path, roster=SIX)
    (tmp_path / "warehouse.duckdb").write_text("not a DuckDB file")
    started = time.monotonic()
    proc = run_cli("run", "--config", str(config), "--as-of", AS_OF)
    assert proc.returncode == 1
    assert time.monotonic() - started < 20  # no retry waited
    assert "will run again" not in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    last = proc.stderr.splitlines()[-1]
    # the run opens the warehouse once before any step, so it stops there, saying so
    assert last.startswith("ce-compliance: the run could not start: ")
    assert f'{tmp_path / "warehouse.duckdb"}" exists, but it is not a valid DuckDB database file' in last


def test_a_warehouse_held_by_another_process_asks_dagster_to_retry_the_step(tmp_path):
    config = make_deployment(tmp_path, roster=SIX)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()", str(tmp_path / "warehouse.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(dg.RetryRequested) as raised:
            with ComplianceDeployment(config_path=str(config)).warehouse():
                pass
        assert isinstance(raised.value.__cause__, WarehouseLockedError)
        assert str(tmp_path / "warehouse.duckdb") in str(raised.value.__cause__)
    finally:
        holder.communicate("")
    with ComplianceDeployment(config_path=str(config)).warehouse() as con:  # released: opens at once
        assert con.execute("select 1").fetchone() == (1,)


def test_only_an_os_error_that_may_pass_is_retried():
    with pytest.raises(dg.RetryRequested):
        with transient_failures_retried():
            raise OSError(errno.ESTALE, "Stale file handle", "/mnt/share/landing")
    with pytest.raises(FileNotFoundError):
        with transient_failures_retried():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/mnt/share/landing")


def test_a_run_that_meets_a_held_warehouse_waits_and_then_publishes(tmp_path):
    """A DuckDB shell holding the file until the run says it met the lock: the steps that met it run again 30 s later."""
    config = make_deployment(tmp_path, roster=SIX)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, select, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "select.select([sys.stdin], [], [], 300)", str(tmp_path / "warehouse.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline() == "held\n"
    run = subprocess.Popen(
        [str(CLI), "run", "--config", str(config), "--as-of", AS_OF], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = []
    for line in run.stdout:  # however long the run takes to start, the file is held until it has met the lock
        output.append(line)
        if "will run again in 30 s" in line:
            holder.stdin.close()
    assert run.wait(timeout=600) == 0, "".join(output)
    holder.wait(timeout=60)
    assert "will run again in 30 s: pipelines.resources.WarehouseLockedError: the warehouse" in "".join(output)
    assert (tmp_path / "out" / "latest").resolve().name == AS_OF
