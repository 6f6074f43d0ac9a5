"""Each landing file read once: hashed from the bytes it is parsed from, and a file the run could not read
never remembered in the landing history, so the next run reads it."""

import datetime as dt
import hashlib
import os

import pytest

from pipelines.ingestion import FileUnavailable, discover_files, load_file
from pipelines.settings import InputSource
from tests.support import BOARD_HEADER, board_row, make_deployment, materialize, query, roster_row, write_csv
from tests.test_landing_history import files_parsed, ledger_courses

AS_OF = dt.date(2026, 11, 25)


def test_a_file_the_run_could_not_read_is_not_remembered_and_is_read_on_the_next_run(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A")])
    late = tmp_path / "landing" / "providers" / "stateboard" / "late.csv"
    os.mkfifo(late)  # a file the file system does not give us as bytes (here a pipe; a vanished or unreadable file alike)
    materialize(config, AS_OF)
    [rejected] = query(config, "select * from ingested_files where status = 'rejected'")
    assert (rejected["source_file"], rejected["reason_code"], rejected["sha256"]) == ("providers/stateboard/late.csv", "not_a_regular_file", None)
    assert query(config, "select count(*) as n from landing_files where source_file = 'providers/stateboard/late.csv'") == [{"n": 0}]

    late.unlink()
    write_csv(late, BOARD_HEADER, [board_row(course_id="LATE")])
    again = materialize(config, AS_OF)
    assert files_parsed(again, "staged_ce_credits") == 1
    assert ledger_courses(config) == ["A", "LATE"]


def test_a_file_is_hashed_from_the_bytes_it_is_parsed_from_and_a_vanished_one_is_unavailable(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_bytes(b"x\n1\n")
    [entry] = discover_files(landing, InputSource(kind="provider", name="p", path="*.csv", columns={}))
    file = load_file(landing, entry)
    assert file.data == b"x\n1\n" and file.sha256 == hashlib.sha256(b"x\n1\n").hexdigest()
    (landing / "a.csv").unlink()
    with pytest.raises(FileUnavailable) as vanished:
        load_file(landing, entry)
    assert vanished.value.code == "file_unavailable" and "a.csv" in str(vanished.value) and "next run" in str(vanished.value)
