"""The landing folder's history: each file version is parsed once, and an as-of rerun stages what existed then."""

import datetime as dt

import duckdb
import yaml

from tests.support import (
    BASE_CONFIG,
    BOARD_HEADER,
    CATALOG_CONFIG,
    CATALOG_HEADER,
    LMS_HEADER,
    board_row,
    catalog_row,
    lms_row,
    make_deployment,
    materialize,
    query,
    roster_row,
    write_csv,
)

# The runs' clock: every run below starts at noon UTC on TODAY, whatever the wall clock says.
TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 12, 0)


def files_parsed(result, asset: str) -> int:
    return result.asset_materializations_for_node(asset)[0].metadata["files_parsed"].value


def ledger_courses(config) -> list[str]:
    return sorted(r["course_id"] for r in query(config, "select course_id from credit_ledger"))


def test_a_second_run_parses_nothing_and_a_changed_or_new_file_only_that(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A")])
    first = materialize(config, TODAY, now=NOW)
    assert (files_parsed(first, "staged_roster"), files_parsed(first, "staged_ce_credits")) == (1, 1)

    again = materialize(config, TODAY, now=NOW)
    assert (files_parsed(again, "staged_roster"), files_parsed(again, "staged_ce_credits")) == (0, 0)
    assert ledger_courses(config) == ["A"]

    board = tmp_path / "landing" / "providers" / "stateboard"
    write_csv(board / "board.csv", BOARD_HEADER, [board_row(course_id="A"), board_row(course_id="B")])
    write_csv(board / "more.csv", BOARD_HEADER, [board_row(course_id="C")])
    changed = materialize(config, TODAY, now=NOW)
    assert files_parsed(changed, "staged_ce_credits") == 2 and files_parsed(changed, "staged_roster") == 0
    assert ledger_courses(config) == ["A", "B", "C"]
    rows = query(config, "select source_file, source_row from staged_ce_credits order by all")
    assert [(r["source_file"], r["source_row"]) for r in rows] == [
        ("providers/stateboard/board.csv", 2), ("providers/stateboard/board.csv", 3), ("providers/stateboard/more.csv", 2),
    ]


def test_a_changed_configuration_stages_the_same_file_again(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A", **{"Subject Area": "Ethik"})])
    materialize(config, TODAY, now=NOW)
    assert query(config, "select category from ce_credits")[0]["category"] == "general"  # unmapped: warned, general
    settings = yaml.safe_load(config.read_text())
    settings["providers"][0]["categories"]["Ethik"] = "ethics"
    config.write_text(yaml.safe_dump(settings))
    rerun = materialize(config, TODAY, now=NOW)
    assert files_parsed(rerun, "staged_ce_credits") == 1
    assert query(config, "select category from ce_credits")[0]["category"] == "ethics"


def test_an_as_of_rerun_stages_the_versions_that_existed_on_that_date(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="OLD", completion_date="2026-01-10")])
    materialize(config, TODAY, now=NOW)
    # the first delivery was seen ten days ago
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("update landing_files set first_seen_at = first_seen_at - interval 10 day")
    con.close()
    board = tmp_path / "landing" / "providers" / "stateboard"
    write_csv(board / "board.csv", BOARD_HEADER, [board_row(course_id="REDELIVERED", completion_date="2026-01-10")])
    write_csv(board / "late.csv", BOARD_HEADER, [board_row(course_id="LATE", completion_date="2026-01-11")])
    materialize(config, TODAY, now=NOW)
    assert ledger_courses(config) == ["LATE", "REDELIVERED"]

    five_days_ago = TODAY - dt.timedelta(days=5)
    materialize(config, five_days_ago, now=NOW)
    assert ledger_courses(config) == ["OLD"]
    assert {r["source_file"] for r in query(config, "select source_file from input_files")} == {"roster/roster.csv", "providers/stateboard/board.csv"}


def test_an_as_of_date_before_any_history_stages_the_folder_as_it_is(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A", completion_date="2025-06-01")])
    materialize(config, "2026-01-01", now=NOW)
    assert ledger_courses(config) == ["A"]


def test_every_new_file_is_staged_once_and_whole_however_many_arrive_together(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")])
    board = tmp_path / "landing" / "providers" / "stateboard"
    for n in range(5):
        write_csv(board / f"board{n}.csv", BOARD_HEADER, [board_row(course_id=f"B{n}-{i}") for i in range(n + 1)])
    (board / "board2b.csv").write_text("License Number\n7000001\n")  # rejected between accepted files
    write_csv(tmp_path / "landing" / "providers" / "lms" / "lms.csv", LMS_HEADER, [lms_row(course_code="L-1", **{"Course Title": "Ética"})], encoding="cp1252")
    result = materialize(config, TODAY, now=NOW)
    assert files_parsed(result, "staged_ce_credits") == 7
    staged = query(config, "select source_file, list(course_id order by source_row) as courses from staged_ce_credits group by all order by all")
    assert [(r["source_file"], r["courses"]) for r in staged] == [
        ("providers/lms/lms.csv", ["L-1"]),
        *[(f"providers/stateboard/board{n}.csv", [f"B{n}-{i}" for i in range(n + 1)]) for n in range(5)],
    ]
    files = query(config, "select source_file, status, rows_read from landing_files where input_kind = 'provider' order by source_file")
    assert [(f["source_file"], f["status"], f["rows_read"]) for f in files] == [
        ("providers/lms/lms.csv", "accepted", 1),
        *[(f"providers/stateboard/board{n}.csv", "accepted", n + 1) for n in range(3)],
        ("providers/stateboard/board2b.csv", "rejected", 0),
        *[(f"providers/stateboard/board{n}.csv", "accepted", n + 1) for n in range(3, 5)],
    ]


def test_an_as_of_rerun_applies_the_adjustments_as_they_were_known_on_that_date(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001", license_expiration_date=(TODAY - dt.timedelta(days=20)).isoformat())],
        board=[board_row(course_id="A", completion_date="2025-06-01")],
        config=BASE_CONFIG + "adjustments: {path: adjustments/*.csv}\n",
    )
    materialize(config, TODAY, now=NOW)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("update landing_files set first_seen_at = first_seen_at - interval 10 day")  # delivered ten days ago
    con.close()
    until = (TODAY + dt.timedelta(days=60)).isoformat()
    write_csv(tmp_path / "landing" / "adjustments" / "decisions.csv", ["employee_id", "license_state", "license_type", "kind", "until", "reference"], [
        {"employee_id": "000001", "license_state": "TX", "license_type": "LPC", "kind": "extension", "until": until, "reference": "EXT-LATE"},
    ])
    materialize(config, TODAY, now=NOW)
    assert [r["reference"] for r in query(config, "select reference from license_adjustments where applied")] == ["EXT-LATE"]
    assert query(config, "select status from clinician_compliance")[0]["status"] == "at_risk"

    materialize(config, TODAY - dt.timedelta(days=5), now=NOW)  # the board's letter had not arrived yet
    assert query(config, "select * from license_adjustments") == []
    assert query(config, "select status from clinician_compliance")[0]["status"] == "overdue"



def test_an_as_of_rerun_plans_with_the_course_catalog_as_it_was_on_that_date(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000001")],
        config=BASE_CONFIG + CATALOG_CONFIG,
        catalog=[catalog_row("OLD-COURSE", hours="40", cost="100")],
    )
    materialize(config, TODAY, now=NOW)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("update landing_files set first_seen_at = first_seen_at - interval 10 day")  # delivered ten days ago
    con.close()
    write_csv(tmp_path / "landing" / "catalog" / "catalog.csv", CATALOG_HEADER, [catalog_row("NEW-COURSE", hours="40", cost="90")])
    again = materialize(config, TODAY, now=NOW)
    assert files_parsed(again, "staged_course_catalog") == 1
    assert [r["course_id"] for r in query(config, "select course_id from learning_plans")] == ["NEW-COURSE"]

    materialize(config, TODAY - dt.timedelta(days=5), now=NOW)  # the new catalog had not arrived yet
    assert [r["course_id"] for r in query(config, "select course_id from learning_plans")] == ["OLD-COURSE"]
    assert [r["source_file"] for r in query(config, "select source_file from input_files where input_kind = 'course_catalog'")] == ["catalog/catalog.csv"]


def test_an_as_of_rerun_reads_the_day_in_the_schedules_timezone(tmp_path):
    # 21:00 in Chicago on the 24th is already the 25th in UTC: a file seen then existed on the 24th
    config = make_deployment(
        tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="SEEN-ON-THE-24TH", completion_date="2026-01-10")],
        config=BASE_CONFIG + "schedule: {timezone: America/Chicago}\n",
    )
    materialize(config, "2026-11-24", now="2026-11-25T03:00:00+00:00")
    write_csv(tmp_path / "landing" / "providers" / "stateboard" / "board.csv", BOARD_HEADER, [board_row(course_id="REDELIVERED")])
    materialize(config, "2026-11-26", now="2026-11-26T18:00:00+00:00")
    assert ledger_courses(config) == ["REDELIVERED"]

    materialize(config, "2026-11-24", now="2026-11-26T18:00:00+00:00")
    assert ledger_courses(config) == ["SEEN-ON-THE-24TH"]


def test_a_rejected_file_that_repeats_another_files_bytes_is_named_in_its_own_reason(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row(course_id="A")])
    board = tmp_path / "landing" / "providers" / "stateboard"
    write_csv(board / "jan.csv", ["Foo", "Bar"], [{"Foo": "1", "Bar": "2"}])
    write_csv(board / "feb.csv", ["Foo", "Bar"], [{"Foo": "1", "Bar": "2"}])  # the same bytes, in the same run
    materialize(config, TODAY, now=NOW)
    write_csv(board / "mar.csv", ["Foo", "Bar"], [{"Foo": "1", "Bar": "2"}])  # and in a later one
    materialize(config, TODAY, now=NOW)
    rejected = query(config, "select source_file, message from data_quality_exceptions where action = 'rejected' order by source_file")
    assert [r["source_file"] for r in rejected] == [f"providers/stateboard/{name}.csv" for name in ("feb", "jan", "mar")]
    for row in rejected:
        assert row["message"].startswith(f"{row['source_file']}: required column"), row
