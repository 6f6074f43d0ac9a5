"""The landing archive: every staged file version kept by SHA-256, and a lost or corrupt warehouse rebuilt
from it through the installed command line, with its whole history."""

import hashlib
import os
import pathlib
import subprocess
import sys

import duckdb

from tests.support import BOARD_HEADER, ROSTER_HEADER, board_row, make_deployment, query, roster_row, write_csv

CLI = pathlib.Path(sys.executable).with_name("ce-compliance")
EXTRACTS = ("clinician_compliance.csv", "requirement_progress.csv", "credit_ledger.csv", "data_quality_exceptions.csv")


def run_cli(*args):
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    return proc


def registry(config):
    return query(config, "select input_kind, source_file, sha256, config_fingerprint, first_seen_at, status from landing_files order by all")


def test_every_staged_file_version_is_archived_under_its_sha256(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A")])
    assert run_cli("run", "--config", config).returncode == 0
    board = tmp_path / "landing" / "providers" / "stateboard" / "board.csv"
    first = board.read_bytes()
    write_csv(board, BOARD_HEADER, [board_row(course_id="A"), board_row(course_id="B")])
    assert run_cli("run", "--config", config).returncode == 0
    archive = tmp_path / "landing-archive"  # the default: beside the warehouse
    for data in (first, board.read_bytes(), (tmp_path / "landing" / "roster" / "roster.csv").read_bytes()):
        sha = hashlib.sha256(data).hexdigest()
        assert (archive / "files" / sha[:2] / sha).read_bytes() == data


def test_a_deleted_warehouse_is_rebuilt_from_the_archive_and_an_old_as_of_date_reruns_byte_identically(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="OLD", hours="3")])
    warehouse = tmp_path / "warehouse.duckdb"
    assert run_cli("run", "--config", config).returncode == 0
    with duckdb.connect(str(warehouse)) as con:  # the first delivery was seen ten days before the second
        con.execute("update landing_files set first_seen_at = first_seen_at - interval 10 day")
        [(then,)] = con.execute("select max(first_seen_at)::date from landing_files").fetchall()
    write_csv(tmp_path / "landing" / "providers" / "stateboard" / "board.csv", BOARD_HEADER,
              [board_row(course_id="OLD", hours="3"), board_row(course_id="NEW", hours="5")])
    assert run_cli("run", "--config", config).returncode == 0
    proc = run_cli("run", "--config", config, "--as-of", then)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    site = tmp_path / "out" / then.isoformat()
    before = {name: (site / name).read_bytes() for name in EXTRACTS}
    assert b"NEW" not in before["credit_ledger.csv"] and b"OLD" in before["credit_ledger.csv"]
    history = registry(config)

    warehouse.unlink()
    proc = run_cli("rebuild", "--config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 file version(s)" in proc.stdout  # the roster, and both versions of board.csv
    assert registry(config) == history  # paths, hashes, configurations and first_seen_at as they were

    proc = run_cli("run", "--config", config, "--as-of", then)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 new or changed file(s) parsed" in proc.stdout  # the history came back whole: nothing is new
    assert {name: (site / name).read_bytes() for name in EXTRACTS} == before


def test_a_corrupt_warehouse_fails_the_run_naming_the_file_and_the_rebuild_command(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A")])
    warehouse = tmp_path / "warehouse.duckdb"
    assert run_cli("run", "--config", config).returncode == 0
    whole = warehouse.read_bytes()
    # a damaged block, as a disk or a copy can leave it; a truncated file; a file overwritten with other bytes
    for damaged in (whole[:4096] + os.urandom(4096) + whole[8192:], whole[: len(whole) // 2], os.urandom(len(whole))):
        warehouse.write_bytes(damaged)
        proc = run_cli("run", "--config", config)
        assert proc.returncode == 1
        assert f"the warehouse {warehouse} is corrupt" in proc.stdout and f"ce-compliance rebuild --config {config}" in proc.stdout

    proc = run_cli("rebuild", "--config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [aside] = tmp_path.glob("warehouse.duckdb.corrupt-*")  # the damaged file is set aside, never deleted
    assert f"kept as {aside}" in proc.stdout
    proc = run_cli("run", "--config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [r["course_id"] for r in query(config, "select course_id from credit_ledger")] == ["A"]


def test_rebuild_without_an_archive_says_so_and_changes_nothing(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")])
    proc = run_cli("rebuild", "--config", config)
    assert proc.returncode == 1 and "holds no registry" in proc.stderr and str(tmp_path / "landing-archive") in proc.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_rebuilt_warehouse_keeps_the_run_history_so_the_roster_guard_still_has_its_baseline(tmp_path):
    people = [roster_row(f"00000{n}") for n in range(1, 4)]
    config = make_deployment(tmp_path, roster=people, board=[board_row(course_id="A")])
    assert run_cli("run", "--config", config).returncode == 0
    published = query(config, "select run_id, as_of_date from published_runs")
    trend = query(config, "select * from compliance_history")

    (tmp_path / "warehouse.duckdb").unlink()
    proc = run_cli("rebuild", "--config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "published_runs 1 row(s)" in proc.stdout
    assert query(config, "select run_id, as_of_date from published_runs") == published
    assert query(config, "select * from compliance_history") == trend

    write_csv(tmp_path / "landing" / "roster" / "roster.csv", ROSTER_HEADER, people[:1])  # two of three licenses gone
    proc = run_cli("run", "--config", config)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        "ce-compliance: stopped by roster_complete: the roster collapsed: 1 accepted roster license(s) now, 3 in the last"
    )
