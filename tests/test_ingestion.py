"""Reading rosters and provider exports: encodings, formats, layouts, units, keys, rejected files."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl
import pytest
import xlsxwriter

from pipelines.ingestion import discover_files, ingest_files, load_file, parse_decimal
from pipelines.settings import load_settings
from tests.support import BASE_CONFIG, BOARD_HEADER, ROSTER_HEADER, board_row, lms_row, make_deployment, materialize, query, roster_row, write_csv

NOW = dt.datetime(2026, 11, 25, 6, 0)


def staged(landing_dir, sources, input_kind):
    """Every file of the sources read and staged, as the landing step does for a new file version."""
    files = [(source, load_file(landing_dir, entry)) for source in sources for entry in discover_files(landing_dir, source)]
    return ingest_files(files, input_kind, NOW)


def staged_roster(config):
    settings = load_settings(config)
    return staged(settings.landing_dir, (settings.roster,), "roster")


def staged_credits(config):
    settings = load_settings(config)
    return staged(settings.landing_dir, settings.providers, "provider")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_roster_csv_in_each_supported_encoding_keeps_names_and_leading_zeros(tmp_path, encoding):
    config = make_deployment(tmp_path)
    write_csv(
        tmp_path / "landing" / "roster" / "roster.csv",
        ROSTER_HEADER,
        [roster_row("000123", first_name="José", last_name="O'Brien", license_number="0070001")],
        encoding=encoding,
    )
    ingested = staged_roster(config)
    assert ingested.files.get_column("status").to_list() == ["accepted"]
    row = ingested.rows.row(0, named=True)
    assert (row["employee_id"], row["first_name"], row["last_name"], row["license_number"]) == ("000123", "José", "O'Brien", "0070001")
    assert row["license_expiration_date"] == dt.date(2027, 4, 30)
    assert row["source_row"] == 2


def test_a_file_that_is_neither_utf8_nor_windows_1252_is_rejected_with_its_name(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    (tmp_path / "landing" / "roster" / "broken.csv").write_bytes(b"employee_id,first_name\n\x81\x8d\x9d,x\n")
    ingested = staged_roster(config)
    rejected = ingested.rejected.row(0, named=True)
    assert rejected["source_file"] == "roster/broken.csv"
    assert "roster/broken.csv" in rejected["reason"] and "not UTF-8" in rejected["reason"]
    assert ingested.rows.height == 1  # the good file still goes in


def test_roster_xlsx_with_a_configured_header_mapping_and_date_format(tmp_path):
    config = make_deployment(
        tmp_path,
        config="""
        landing_dir: landing
        roster:
          path: roster/*.xlsx
          columns: {employee_id: "Emp No", license_number: "License #", license_expiration_date: "Lic Exp"}
          date_format: "%m/%d/%Y"
        """,
    )
    frame = pl.DataFrame({h: [v] for h, v in roster_row("000042", license_number="LPC0099").items()}).rename(
        {"employee_id": "Emp No", "license_number": "License #", "license_expiration_date": "Lic Exp"}
    ).with_columns(pl.lit("04/30/2027").alias("Lic Exp"), pl.lit(dt.date(2015, 1, 1)).alias("license_issue_date"))
    frame.write_excel(tmp_path / "landing" / "roster" / "hr.xlsx")
    row = staged_roster(config).rows.row(0, named=True)
    assert (row["employee_id"], row["license_number"]) == ("000042", "LPC0099")
    assert row["license_expiration_date"] == dt.date(2027, 4, 30)
    assert row["license_issue_date"] == dt.date(2015, 1, 1)  # a native Excel date cell


def test_both_built_in_layouts_become_canonical_credits_in_contact_hours(tmp_path):
    config = make_deployment(
        tmp_path,
        board=[board_row("0070001", "B-1", hours="2.5", **{"Subject Area": "Ethics", "Delivery Method": "Self-Study"})],
        lms=[lms_row("000301", "L-1", credits="1.5", **{"Credit Unit": "CEU", "Format": "Live Webinar"}), lms_row("000301", "L-2", credits="3")],
    )
    rows = {r["course_id"]: r for r in staged_credits(config).rows.iter_rows(named=True)}
    assert (rows["B-1"]["license_number"], rows["B-1"]["hours"], rows["B-1"]["category"], rows["B-1"]["delivery"]) == ("0070001", Decimal("2.5"), "ethics", "self_study")
    assert rows["L-1"]["hours"] == Decimal("15")  # 1.5 CEU, IACET: 10 contact hours each
    assert rows["L-1"]["delivery"] == "live_online"
    assert rows["L-2"]["hours"] == Decimal("3")
    assert rows["L-1"]["completion_date"] == dt.date(2026, 1, 10)
    assert rows["L-1"]["employee_id"] == "000301"


def test_a_third_provider_is_added_by_configuration_alone(tmp_path):
    config = make_deployment(
        tmp_path,
        roster=[roster_row("000007")],
        config="""
        landing_dir: landing
        rules_catalog: rules.yaml
        warehouse: warehouse.duckdb
        output_dir: out
        roster: {path: roster/*.csv}
        providers:
          - name: acme_lms
            path: providers/acme/*.xlsx
            columns: {employee_id: "Staff No", course_title: Module, completion_date: Finished, hours: "CE Hours", category: Topic, delivery: Mode}
            date_format: "%d.%m.%Y"
            credit_unit: CEU
            categories: {"Ethik": ethics, "Berufsethik Straße": ethics}
            delivery: {"Präsenz": live}
        """,
    )
    path = tmp_path / "landing" / "providers" / "acme" / "export.xlsx"
    path.parent.mkdir(parents=True)
    pl.DataFrame(
        {"Staff No": ["000007"] * 3, "Module": ["Ethik I", "Ethik II", "Ethik III"], "Finished": ["03.02.2026"] * 3, "CE Hours": ["0.3"] * 3,
         "Topic": ["Ethik", "Berufsethik Straße", "BERUFSETHIK STRASSE"], "Mode": ["Präsenz", "PRÄSENZ", "präsenz"]}  # fmt: skip
    ).write_excel(path)
    rows = staged_credits(config).rows.sort("source_row")
    row = rows.row(0, named=True)
    assert (row["employee_id"], row["course_title"], row["completion_date"], row["hours"], row["category"], row["delivery"], row["provider"]) == (
        "000007", "Ethik I", dt.date(2026, 2, 3), Decimal("3"), "ethics", "live", "acme_lms",
    )
    # the file's values are case-folded as the map's keys are: ß is ss, whichever side writes which
    assert rows["category"].to_list() == ["ethics"] * 3 and rows["delivery"].to_list() == ["live"] * 3


def test_a_file_missing_a_required_column_is_rejected_naming_file_column_and_header(tmp_path):
    config = make_deployment(tmp_path, board=[board_row()])
    headers = [h for h in BOARD_HEADER if h != "Hours"]
    write_csv(tmp_path / "landing" / "providers" / "stateboard" / "no_hours.csv", headers, [{h: "x" for h in headers}])
    ingested = staged_credits(config)
    rejected = ingested.rejected.row(0, named=True)
    assert rejected["source_file"] == "providers/stateboard/no_hours.csv"
    assert rejected["rejected_column"] == "hours"
    assert "'hours'" in rejected["reason"] and "'Hours'" in rejected["reason"] and "no_hours.csv" in rejected["reason"]
    assert rejected["rows_read"] == 0
    assert ingested.rows.height == 1  # the other file's row


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "is empty"), (b"License Number,Hours,Hours\n1,2,3\n", "twice")],
)
def test_empty_files_and_duplicated_headers_are_rejected(tmp_path, content, why):
    config = make_deployment(tmp_path)
    path = tmp_path / "landing" / "providers" / "stateboard" / "bad.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert why in staged_credits(config).rejected.get_column("reason")[0]


def test_a_header_only_file_is_accepted_with_no_rows_and_quoted_newlines_keep_record_numbers(tmp_path):
    config = make_deployment(tmp_path, lms=[lms_row("000001", "L-1", **{"Course Title": "Line one\nline two"}), lms_row("000001", "L-2")])
    write_csv(tmp_path / "landing" / "providers" / "stateboard" / "empty.csv", BOARD_HEADER, [])
    ingested = staged_credits(config)
    assert ingested.rejected.height == 0
    rows = {r["course_id"]: r["source_row"] for r in ingested.rows.iter_rows(named=True)}
    assert rows == {"L-1": 2, "L-2": 3}


def test_ingestion_through_dagster_records_lineage_and_every_file(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row("7000001")], lms=[lms_row("000001")])
    assert materialize(config, "2026-11-25").success
    staged = query(config, "select source_file, source_row, file_sha256, ingested_at from staged_ce_credits order by source_file")
    assert [(r["source_file"], r["source_row"]) for r in staged] == [("providers/lms/lms.csv", 2), ("providers/stateboard/board.csv", 2)]
    assert all(len(r["file_sha256"]) == 64 and r["ingested_at"] is not None for r in staged)
    files = query(config, "select source_file, status, rows_read, rows_accepted, rows_quarantined from input_files order by source_file")
    assert [tuple(f.values()) for f in files] == [
        ("providers/lms/lms.csv", "accepted", 1, 1, 0),
        ("providers/stateboard/board.csv", "accepted", 1, 1, 0),
        ("roster/roster.csv", "accepted", 1, 1, 0),
    ]


def test_configuration_errors_name_the_key(tmp_path):
    from pipelines.settings import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent("""
        providers:
          - name: x
            path: a/*.csv
            layout: nope
    """))
    with pytest.raises(ConfigError, match=r"providers\[0\] \(x\)\.layout"):
        load_settings(path)
    path.write_text("providers:\n  - {name: x, path: a, layout: board_report, categories: {Foo: astrology}}\n")
    with pytest.raises(ConfigError, match="astrology"):
        load_settings(path)


def test_the_warehouse_memory_limit_is_configurable(tmp_path):
    from pipelines.resources import ComplianceDeployment
    from pipelines.settings import ConfigError
    from tests.support import BASE_CONFIG

    config = make_deployment(tmp_path, config=BASE_CONFIG + "warehouse_memory_limit: 1GB\n")
    with ComplianceDeployment(config_path=str(config)).warehouse() as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in {"1.0GB", "1GB", "953.6MiB"}
    # A step's cap lowers the limit, and never raises it above the configured one.
    with ComplianceDeployment(config_path=str(config)).warehouse(memory_cap="500MB") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0].replace(" ", "") in {"500.0MB", "476.8MiB"}
    with ComplianceDeployment(config_path=str(config)).warehouse(memory_cap="2GiB") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0].replace(" ", "") in {"1.0GB", "1GB", "953.6MiB"}
    config.write_text(BASE_CONFIG + "warehouse_memory_limit: lots\n")
    with pytest.raises(ConfigError, match="warehouse_memory_limit"):
        load_settings(config)


def test_a_workbook_whose_header_is_not_on_the_first_row_keeps_the_row_numbers_the_sheet_shows(tmp_path):
    config = make_deployment(tmp_path, config=BASE_CONFIG.replace("path: roster/*.csv", "path: roster/*.xlsx"))
    workbook = xlsxwriter.Workbook(tmp_path / "landing" / "roster" / "hr.xlsx")
    sheet = workbook.add_worksheet("Staff")
    for column, header in enumerate(ROSTER_HEADER):  # rows 1 and 2 blank, the header on row 3
        sheet.write_string(2, column, header)
    for row, employee_id in ((3, "000001"), (5, "000002")):  # rows 4 and 6, a blank row 5 between them
        for column, value in enumerate(roster_row(employee_id).values()):
            sheet.write_string(row, column, value)
    workbook.close()
    ingested = staged_roster(config)
    assert ingested.files.get_column("rows_read").to_list() == [2]  # a blank row is no row read
    assert ingested.rows.select("employee_id", "source_row").rows() == [("000001", 4), ("000002", 6)]


def test_a_csvs_empty_lines_are_numbered_as_a_spreadsheet_shows_them_and_are_no_rows_read(tmp_path):
    config = make_deployment(tmp_path)
    path = tmp_path / "landing" / "roster" / "roster.csv"
    lines = [",".join(ROSTER_HEADER), ",".join(roster_row("000001").values()), "", "," * (len(ROSTER_HEADER) - 1),
             ",".join(roster_row("000002").values()), "", ""]  # fmt: skip
    path.write_bytes("\r\n".join(lines).encode())
    ingested = staged_roster(config)
    assert ingested.files.get_column("rows_read").to_list() == [2]  # an empty line, or commas alone, is no row read
    assert ingested.rows.select("employee_id", "source_row").rows() == [("000001", 2), ("000002", 5)]


def test_hours_and_costs_with_a_comma_are_not_numbers():
    frame = pl.DataFrame({"hours": ["1,5", "1,000", "1.5", "2", ".5", "1.", "-1", "1 000"]})
    parsed = frame.select(parse_decimal("hours")).get_column("hours").to_list()
    assert parsed == [None, None, Decimal("1.5"), Decimal("2"), Decimal("0.5"), Decimal("1"), Decimal("-1"), None]
