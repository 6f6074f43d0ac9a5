"""`ce-compliance run` as cron or CI would call it: exit codes, progress, summary, published location."""

import pathlib
import subprocess
import sys

from tests.support import board_row, make_deployment, roster_row

CLI = pathlib.Path(sys.executable).with_name("ce-compliance")


def run_cli(*args):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


def test_a_run_prints_progress_per_stage_a_summary_and_where_the_site_is(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row("000001")], board=[board_row("7000001", hours="30"), board_row("7000001", "C-2", hours="4", **{"Subject Area": "Ethics"})])
    proc = run_cli("run", "--config", str(config), "--as-of", "2026-11-25")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for stage in ("[ingest] staged_roster", "[quality] ce_credits", "[compliance] clinician_compliance", "[publish] published_site"):
        assert stage in proc.stdout
    assert "Licenses by status: compliant 1" in proc.stdout
    assert str(tmp_path / "out" / "latest" / "index.html") in proc.stdout
    assert (tmp_path / "out" / "2026-11-25" / "clinician_compliance.csv").exists()


def test_a_bad_configuration_or_rules_catalog_exits_2_naming_the_problem(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    (tmp_path / "rules.yaml").write_text("- license_state: TX\n  license_type: LPC\n  cycle_months: 24\n  total_hours: 24\n")
    proc = run_cli("run", "--config", str(config))
    assert proc.returncode == 2
    assert "`source` is missing" in proc.stderr and "rules.yaml" in proc.stderr
    assert not (tmp_path / "out").exists()
    proc = run_cli("run", "--config", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = run_cli("run", "--config", str(config), "--as-of", "25/11/2026")
    assert proc.returncode == 2 and "YYYY-MM-DD" in proc.stderr


def test_a_missing_landing_folder_or_roster_stops_the_run_before_anything_is_published(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    config.write_text(config.read_text().replace("landing_dir: landing", "landing_dir: landign"))
    proc = run_cli("run", "--config", str(config))
    assert proc.returncode == 2 and "landign" in proc.stderr and "does not exist" in proc.stderr

    config.write_text(config.read_text().replace("landing_dir: landign", "landing_dir: landing"))
    (tmp_path / "landing" / "roster" / "roster.csv").unlink()
    proc = run_cli("run", "--config", str(config))
    assert proc.returncode == 1
    assert "no roster file matches 'roster/*.csv'" in proc.stdout
    assert not (tmp_path / "out" / "latest").exists()


def test_an_output_folder_that_cannot_be_written_stops_the_run_before_anything_runs_naming_it(tmp_path):
    config = make_deployment(tmp_path, roster=[roster_row()])
    (tmp_path / "taken").write_text("a file where the output folder's parent should be")
    config.write_text(config.read_text().replace("output_dir: out", "output_dir: taken/out"))
    proc = run_cli("run", "--config", str(config))
    assert proc.returncode == 2 and "`output_dir`" in proc.stderr and str(tmp_path / "taken") in proc.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()
