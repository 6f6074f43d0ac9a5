"""The deployment file: every section refuses a key it does not know, through the installed CLI (exit 2,
before anything runs), with the file, the key path and the allowed keys; the as-of date is checked
against today in the schedule's timezone."""

import datetime as dt
import os
import pathlib
import re
import subprocess
import textwrap

import pytest
import yaml

from pipelines.rules import RulesCatalogError, load_rules_catalog
from pipelines.settings import ConfigError, load_settings
from pipelines.storage import MARGIN_BYTES, SITE_BYTES_PER_LANDING_BYTE, WAREHOUSE_BYTES_PER_LANDING_BYTE, room_left, room_needed
from reports.access import UsersFileError, read_users
from tests.support import BASE_CONFIG, CATALOG_CONFIG, board_row, make_deployment, materialize, roster_row
from tests.test_cli import CLI, run_cli

FULL_CONFIG = textwrap.dedent(BASE_CONFIG) + textwrap.dedent(CATALOG_CONFIG) + textwrap.dedent("""
    adjustments:
      path: adjustments/*.csv
    schedule: {cron: "0 2 * * *", timezone: America/Chicago}
    access:
      secret_env: CE_SESSION_SECRET
""")


def run_changed(tmp_path: pathlib.Path, base: str, old: str, new: str) -> tuple[pathlib.Path, subprocess.CompletedProcess]:
    """`ce-compliance run` on a deployment whose configuration (`base`) has `old` replaced by `new`."""
    config = make_deployment(tmp_path, roster=[roster_row()], config=base + "at_risk_days: 90\n")
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new, 1))
    return config, run_cli("run", "--config", str(config), "--as-of", "2026-11-25")


@pytest.mark.parametrize(
    ("typo", "key", "allowed"),
    [
        (("at_risk_days: 90", "at_risk_dayz: 90"), "`at_risk_dayz`", "at the top level: landing_dir, rules_catalog"),
        (("  path: roster/*.csv", "  path: roster/*.csv\n  date_fromat: '%m/%d/%Y'"), "`roster.date_fromat`", "under `roster`: path, columns, date_format"),
        (("    layout: lms_export", "    layout: lms_export\n    date_fromat: '%d.%m.%Y'"), "`providers[1] (lms).date_fromat`", "under `providers[1] (lms)`: name, path, layout, columns, date_format"),
        (("  path: catalog/*", "  path: catalog/*\n  colums: {cost: Price}"), "`course_catalog.colums`", "under `course_catalog`: path, columns, categories, delivery"),
        (("  path: adjustments/*.csv", "  path: adjustments/*.csv\n  colunms: {kind: Type}"), "`adjustments.colunms`", "under `adjustments`: path, columns, date_format"),
        (("{per_clinician: 400}", "{per_clinican: 400}"), "`training_budget.per_clinican`", "under `training_budget`: per_clinician"),
        (("timezone: America/Chicago", "timezon: America/Chicago"), "`schedule.timezon`", "under `schedule`: cron, timezone"),
        (("  secret_env: CE_SESSION_SECRET", "  secret_env: CE_SESSION_SECRET\n  sesion_hours: 4"), "`access.sesion_hours`", "under `access`: users, secret_env, trusted_header, trusted_proxies"),
    ],
)
def test_a_misspelt_key_in_any_section_exits_2_naming_the_file_the_key_and_the_allowed_keys(tmp_path, typo, key, allowed):
    config, proc = run_changed(tmp_path, FULL_CONFIG, *typo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{config}: {key} is not a known key; allowed {allowed}" in proc.stderr
    assert proc.stdout == "" and not (tmp_path / "out").exists() and not (tmp_path / "warehouse.duckdb").exists()


def test_an_as_of_date_after_today_exits_2_naming_both_dates(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    proc = run_cli("run", "--config", str(config), "--as-of", "2999-01-01")
    assert proc.returncode == 2
    assert "the as-of date 2999-01-01 is after today, " in proc.stderr and "in UTC (schedule.timezone)" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_today_is_the_schedules_day(tmp_path):
    # 04:30 UTC on the 26th is 22:30 on the 25th in Chicago: the 26th is not yet a day to evaluate there.
    config = make_deployment(tmp_path, config=FULL_CONFIG)
    now = dt.datetime(2026, 11, 26, 4, 30, tzinfo=dt.UTC)
    settings = load_settings(config, as_of="2026-11-25", now=now)
    assert (settings.today, settings.resolved_as_of()) == (dt.date(2026, 11, 25), dt.date(2026, 11, 25))
    assert load_settings(config, now=now).resolved_as_of() == dt.date(2026, 11, 25)
    with pytest.raises(ConfigError, match=r"the as-of date 2026-11-26 is after today, 2026-11-25 in America/Chicago"):
        load_settings(config, as_of="2026-11-26", now=now)


DATE_FORMAT_EXPECTED = 'must be a strftime pattern of a day, month and year such as "%m/%d/%Y", got '
GLOB_INSIDE = "must be a glob relative to landing_dir and inside it (no leading / and no ..), got "


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("min_roster_share: 0", "`min_roster_share` must be a fraction greater than 0 and at most 1 (such as 0.8), got 0"),
        ("min_roster_share: 1.5", "`min_roster_share` must be a fraction greater than 0 and at most 1 (such as 0.8), got 1.5"),
        ("at_risk_days: '90'", "`at_risk_days` must be a whole number of days >= 0, got '90'"),
        ("as_of: 25/11/2026", "`as_of` must be a date in the form YYYY-MM-DD, got '25/11/2026'"),
        ("roster: [roster/*.csv]", "`roster` must be a mapping, got list"),
        ("course_catalog: {columns: {cost: Price}}", "`course_catalog.path` is required (a glob under landing_dir)"),
        ("training_budget: {per_clinician: -5}", "`training_budget.per_clinician` must be a number >= 0, got -5"),
        # a date format that cannot read a date back would make every date of the input unreadable
        ("roster: {date_format: '%Q/%d'}", "`roster.date_format` " + DATE_FORMAT_EXPECTED + "'%Q/%d'"),
        ("adjustments: {path: a/*.csv, date_format: '%m/%d/%'}", "`adjustments.date_format` " + DATE_FORMAT_EXPECTED + "'%m/%d/%'"),
        ("roster: {date_format: '%m/%Y'}", "`roster.date_format` " + DATE_FORMAT_EXPECTED + "'%m/%Y'"),
        # globs stay inside landing_dir, and a number is not one
        ("roster: {path: /srv/hr/*.csv}", "`roster.path` " + GLOB_INSIDE + "'/srv/hr/*.csv'"),
        ("roster: {path: ../hr/*.csv}", "`roster.path` " + GLOB_INSIDE + "'../hr/*.csv'"),
        ("roster: {path: 5}", "`roster.path` must be a glob under landing_dir such as providers/acme/*.csv, got 5"),
        ("schedule: {cron: '99 2 * * *'}", "`schedule.cron` must be a cron expression such as \"0 2 * * *\", got '99 2 * * *'"),
        ("warehouse: landing", f"`warehouse` {{root}}/landing is a folder: name the DuckDB file, such as warehouse.duckdb"),
        ("regions: {north: north.yaml}", "`regions.north`: {root}/north.yaml is not a configuration file"),
        # a quoted word is not a boolean (unquoted, YAML reads `no` as false itself)
        ("access: {secret_env: CE_SESSION_SECRET, secure_cookies: 'no'}", "`access.secure_cookies`: input should be a valid boolean, got 'no'"),
        ("notifications: {smtp: {host: mail.example.org}, sender: not an address}",
         "`notifications.sender` 'not an address' is not a sender such as \"CE Compliance <ce-compliance@example.org>\" or one email address"),
    ],
)
def test_a_bad_value_names_the_key_and_what_was_expected(tmp_path, extra, message):
    # the bad value in place of the key's own (a key given twice is refused before any value is read)
    settings = {**yaml.safe_load(BASE_CONFIG), **yaml.safe_load(extra)}
    config = make_deployment(tmp_path, config=yaml.safe_dump(settings, sort_keys=False))
    (tmp_path / "landing").mkdir(exist_ok=True)
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert str(raised.value) == f"{config}: {message.format(root=tmp_path.resolve())}"


def test_every_problem_of_a_file_is_named_at_once(tmp_path):
    config = make_deployment(tmp_path, config=textwrap.dedent("""
        providers:
          - {path: a/*.csv, layout: board_report}
          - {name: acme, path: b/*.csv}
          - {name: summit, path: c/*.csv, layout: board_report, categories: {Ethik: astrology}, columns: {hourz: Hours}}
    """))
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert str(raised.value).splitlines() == [
        f"{config}: `providers[0].name` is required (a short name for the provider)",
        f"{config}: `providers[1] (acme)` needs either `layout` (board_report, lms_export) or `columns`",
        f"{config}: `providers[2] (summit).columns.hourz` is not a canonical column; known: license_number, license_state, "
        "employee_id, email, first_name, last_name, course_id, course_title, provider, accreditation, completion_date, hours, "
        "category, delivery",
        f"{config}: `providers[2] (summit).categories.Ethik` is 'astrology', which is not a category: general, ethics, law, "
        "cultural_competency, suicide_prevention, supervision, substance_use, domestic_violence, pain_management, hiv_aids, "
        "implicit_bias, human_trafficking, professional_boundaries, medical_errors, sexual_harassment_prevention, telehealth, "
        "crisis_management, dementia, child_abuse",
    ]


def test_provider_names_are_unique_and_the_defaults_hold(tmp_path):
    config = make_deployment(tmp_path, config="providers:\n  - {name: a, path: x, layout: board_report}\n  - {name: a, path: y, layout: lms_export}\n")
    with pytest.raises(ConfigError, match=r"`providers` must have unique names, got \['a', 'a'\]"):
        load_settings(config)
    config.write_text("")
    settings = load_settings(config, now=dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC))
    assert (settings.at_risk_days, settings.min_roster_share, settings.roster.path, settings.providers) == (90, 0.8, "roster/*", ())
    assert (settings.schedule.cron, settings.schedule.timezone, settings.as_of, settings.today) == ("0 2 * * *", "UTC", None, dt.date(2026, 11, 25))
    assert settings.landing_dir == tmp_path / "landing" and settings.course_catalog is None and settings.adjustments is None


def test_the_ui_configuration_does_not_stand_in_the_way_of_the_one_given(tmp_path):
    """CE_COMPLIANCE_CONFIG (the UI's file) is read only when Dagster loads the code location."""
    bad = make_deployment(tmp_path / "ui", config=BASE_CONFIG + "at_risk_dayz: 1\n")
    good = make_deployment(tmp_path / "cli", roster=[roster_row()])
    env = {**os.environ, "CE_COMPLIANCE_CONFIG": str(bad)}
    proc = subprocess.run([str(CLI), "run", "--as-of", "2026-11-25"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2 and f"{bad}: `at_risk_dayz` is not a known key" in proc.stderr
    proc = subprocess.run([str(CLI), "run", "--config", str(good), "--as-of", "2026-11-25"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_currency_of_costs_is_configured_and_checked(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    assert load_settings(config).currency == "USD"  # the default
    config.write_text(config.read_text() + "currency: EUR\n")
    assert load_settings(config).currency == "EUR"
    config.write_text(config.read_text().replace("currency: EUR", "currency: euro"))
    with pytest.raises(ConfigError, match=r"config.yaml: `currency` must be a three-letter ISO 4217 currency code such as USD or EUR, got 'euro'"):
        load_settings(config)


def _bytes_under(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_the_room_a_run_asks_for_grows_with_what_it_will_write(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()], board=[board_row()])
    landing = _bytes_under(tmp_path / "landing")
    needs = {n.key: n.bytes_needed for n in room_needed(load_settings(config, as_of="2026-11-25"))}
    assert needs == {
        "output_dir": MARGIN_BYTES + SITE_BYTES_PER_LANDING_BYTE * landing,  # no site yet to measure
        "warehouse": MARGIN_BYTES + WAREHOUSE_BYTES_PER_LANDING_BYTE * landing,
        "archive_dir": MARGIN_BYTES + landing,
    }
    assert materialize(config, "2026-11-25", through_publish=True).success
    site, warehouse = _bytes_under((tmp_path / "out" / "latest").resolve()), (tmp_path / "warehouse.duckdb").stat().st_size
    needs = {n.key: n.bytes_needed for n in room_needed(load_settings(config, as_of="2026-11-25"))}
    assert needs["output_dir"] == MARGIN_BYTES + site
    assert needs["warehouse"] == MARGIN_BYTES + warehouse + WAREHOUSE_BYTES_PER_LANDING_BYTE * landing


def test_an_output_folder_that_cannot_be_made_exits_2_naming_the_key_before_anything_runs(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    (tmp_path / "taken").write_text("a file where the output folder's parent should be")
    config.write_text(config.read_text().replace("output_dir: out", "output_dir: taken/out"))
    proc = run_cli("run", "--config", str(config), "--as-of", "2026-11-25")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{config}: `output_dir`: {tmp_path / 'taken'} is not a folder, so {tmp_path / 'taken' / 'out'} cannot be made" in proc.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # a key given twice: PyYAML would keep the last, and a provider's first vocabulary map would vanish
        (("at_risk_days: 90", "at_risk_days: 30\nat_risk_days: 90"), "the key 'at_risk_days' is given twice (first on line"),
        (("output_dir: out", "output_dir: landing/published"), "`output_dir` {root}/landing/published is inside landing_dir {root}/landing"),
        (("warehouse: warehouse.duckdb", "warehouse: landing/warehouse.duckdb"), "`warehouse` {root}/landing/warehouse.duckdb is inside landing_dir"),
        (("rules_catalog: rules.yaml", "rules_catalog: landing"), "`rules_catalog` {root}/landing is a folder: name the YAML file"),
        (("rules_catalog: rules.yaml", "rules_catalog: nowhere.yaml"), "`rules_catalog`: rules catalog {root}/nowhere.yaml does not exist"),
        (("landing_dir: landing", "landing_dir: rules.yaml"), "`landing_dir` {root}/rules.yaml is a file"),
    ],
)
def test_a_repeated_key_or_a_path_where_it_cannot_work_exits_2_naming_the_key(tmp_path, change, message):
    config, proc = run_changed(tmp_path, BASE_CONFIG, *change)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"ce-compliance: configuration error: {config}: " in proc.stderr and message.format(root=tmp_path) in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_folder_given_for_the_configuration_exits_2(tmp_path):
    proc = run_cli("run", "--config", str(tmp_path), "--as-of", "2026-11-25")
    assert (proc.returncode, proc.stderr.strip()) == (2, f"ce-compliance: configuration error: configuration file {tmp_path} is a folder: name the YAML file, such as config.yaml")


def test_a_rules_entry_or_a_users_entry_with_a_key_given_twice_is_refused_naming_its_line(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {license_state: TX, license_type: LPC, cycle_months: 24, total_hours: 24,\n   total_hours: 30, source: x}\n")
    with pytest.raises(RulesCatalogError, match=r"the key 'total_hours' is given twice \(first on line 1\)[\s\S]*\"rules.yaml\", line 2"):
        load_rules_catalog(rules)
    users = tmp_path / "users.yaml"
    users.write_text("- email: nora@example.org\n  role: clinic_manager\n  role: compliance_officer\n")
    with pytest.raises(UsersFileError, match="the key 'role' is given twice"):
        read_users(users)


def test_a_run_that_met_a_full_disk_is_told_each_folder_it_writes_and_its_room(tmp_path):
    settings = load_settings(make_deployment(tmp_path, roster=[roster_row()]))
    told = room_left(settings)
    for key, folder in (("output_dir", settings.output_dir), ("warehouse", settings.warehouse.parent), ("archive_dir", settings.archive_dir)):
        assert re.search(rf"`{key}` {re.escape(str(folder))} \d+ MB free", told), told
