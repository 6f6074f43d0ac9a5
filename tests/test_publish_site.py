"""The published site: layout, `latest`, clinic scoping, escaping, offline Plotly, atomic publication, history."""

import datetime as dt
import gc
import hashlib
import html
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import dagster as dg
import duckdb
import pytest
from plotly.offline import get_plotlyjs_version

from assets.publish import published_site
from pipelines.resources import ComplianceDeployment
from reports.dashboards import clinic_slugs
from reports.output_folder import remove_leftovers
from reports.serve import build_app
from tests.publish_fixtures import AS_OF, NORTH, SCRIPT_NAME, ST_MARYS, build_warehouse, publish_warehouse
from tests.serve_support import running

EXTRACTS = (
    "clinician_compliance.csv", "requirement_progress.csv", "credit_ledger.csv", "adjustments.csv",
    "data_quality_exceptions.csv", "learning_plans.csv", "learning_plan_status.csv",
)  # fmt: skip


@pytest.fixture
def warehouse(tmp_path):
    return build_warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def output_dir(tmp_path):
    return tmp_path / "published"


def snapshot(directory):
    """Every file under `directory` with its bytes, to compare a site before and after."""
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def pages(site):
    return {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}


def broken_data_docs(tmp_path):
    """A data-docs folder whose copy fails half-way through publication: it holds a dangling symbolic link."""
    docs = tmp_path / "data-docs"
    docs.mkdir()
    (docs / "index.html").write_text("<p>validation results</p>")
    (docs / "missing.html").symlink_to(tmp_path / "nowhere.html")
    return docs


def test_publish_lays_out_the_site_and_points_latest_at_it(warehouse, output_dir):
    published = publish_warehouse(warehouse, output_dir)
    site = output_dir / "2026-11-25"
    assert published.site == site and published.latest == output_dir / "latest"
    assert (output_dir / "latest").is_symlink() and os.readlink(output_dir / "latest") == "2026-11-25"
    assert (output_dir / "latest").resolve() == site.resolve()
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert names == {
        *EXTRACTS, "ce_compliance.xlsx", "rules.yaml", "manifest.json", "index.html", "plotly.min.js", "site.css", "site.js",
        "person.css", "access.json",
        "clinics/north-clinic.html", "clinics/north-clinic.csv", "clinics/north-clinic.xlsx",
        "clinics/st-mary-s-eastside.html", "clinics/st-mary-s-eastside.csv", "clinics/st-mary-s-eastside.xlsx",
        *(f"people/E00{n}.html" for n in range(1, 6)),
    }  # fmt: skip
    assert published.rows["credit_ledger.csv"] == 9 and published.clinic_pages == 2
    assert not [p for p in output_dir.iterdir() if p.name.startswith(".")]
    assert gc.isenabled()  # paused only while the pages render


def test_clinic_slugs_follow_spec_and_number_collisions_in_name_order():
    assert clinic_slugs([NORTH, ST_MARYS, "St. Mary's Eastside", "  ***  ", "Ünïcode Clinic"]) == {
        "  ***  ": "clinic",
        NORTH: "north-clinic",
        ST_MARYS: "st-mary-s-eastside",
        "St. Mary's Eastside": "st-mary-s-eastside-2",
        "Ünïcode Clinic": "n-code-clinic",
    }
    assert clinic_slugs(["North Clinic", "North Clinic 2", "North-Clinic"]) == {
        "North Clinic": "north-clinic",
        "North Clinic 2": "north-clinic-2",
        "North-Clinic": "north-clinic-3",
    }


def test_a_clinic_page_and_csv_hold_that_clinics_people_only(warehouse, output_dir):
    site = publish_warehouse(warehouse, output_dir).site
    north = html.unescape((site / "clinics/north-clinic.html").read_text(encoding="utf-8"))
    st_marys = html.unescape((site / "clinics/st-mary-s-eastside.html").read_text(encoding="utf-8"))
    for name in ("García", "Smith", "Novak"):
        assert name in north and name not in st_marys
    for name in ("Khan", "Nguyễn"):
        assert name in st_marys and name not in north
    north_csv = (site / "clinics/north-clinic.csv").read_text(encoding="utf-8").splitlines()
    assert north_csv[0] == (site / "clinician_compliance.csv").read_text(encoding="utf-8").splitlines()[0]
    assert [line.split(",")[1] for line in north_csv[1:]] == ["E001", "E002", "E005"]
    assert ",'-0123," in north_csv[2]  # neutralised like the organisation extract


def test_a_clinic_page_says_what_each_person_still_needs(warehouse, output_dir):
    site = publish_warehouse(warehouse, output_dir).site
    north = html.unescape((site / "clinics/north-clinic.html").read_text(encoding="utf-8"))
    st_marys = html.unescape((site / "clinics/st-mary-s-eastside.html").read_text(encoding="utf-8"))
    assert "3 h ethics, 5 h total by 2027-03-31" in north  # the deadline the board extended
    assert "extended from 2027-01-31" in north and "extension IL-EXT-2026-0412, until 2027-03-31" in north
    assert "ethics: 0 of 3 h" in north and "25 of 30 h" in north  # every requirement with its progress
    assert "incl. 2 h carried from the previous cycle" in north
    assert "rules entry of 2024-01-01" in north
    assert "2 h cultural competency, 29 h total: overdue since 2026-09-30, as soon as possible" in st_marys
    assert "expired on 2026-09-30: renewal not recorded in the roster" in st_marys  # whatever its status
    assert "overdue since 2026-09-30: as soon as possible" in st_marys and "by 2026-09-30" not in st_marys  # its plan
    assert "one-time 1 h sexual harassment prevention course" in north  # the rule's caveat beside the status
    assert "no rule for FL LMFT in the rules catalog" in north
    for page in (north, st_marys):
        assert "As of" in page and "2026-11-25" in page and "Data produced 2026-11-25 06:00 UTC" in page


def test_a_clinic_where_nothing_can_be_evaluated_has_no_budget_figures_and_says_why(warehouse, output_dir):
    with duckdb.connect(str(warehouse)) as con:  # no rule for any North Clinic license
        con.execute(
            "update clinician_compliance set status = 'not_evaluated', status_reason = 'no rule for ' || license_state "
            "|| ' ' || license_type || ' in the rules catalog' where clinic = ?",
            [NORTH],
        )
        con.execute("delete from learning_plans where clinic = ?", [NORTH])
    site = publish_warehouse(warehouse, output_dir).site
    north = html.unescape((site / "clinics/north-clinic.html").read_text(encoding="utf-8"))
    assert "No budget figures or course suggestions: none of this clinic's licenses can be evaluated" in north
    assert "Courses that close the most gaps" not in north and "Training budget" not in north
    overview = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    costs = overview[overview.index('<table class="training-cost') : overview.index("</table>", overview.index('<table class="training-cost'))]
    assert ST_MARYS in costs and NORTH not in costs
    assert "Left out of the budget figures, because none of their licenses can be evaluated:" in overview
    assert f"{NORTH} (no rule for FL LMFT in the rules catalog; no rule for IL LCSW" in overview


def test_the_overview_lists_the_adjustments_not_applied_with_why(warehouse, output_dir):
    site = publish_warehouse(warehouse, output_dir).site
    overview = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    assert "Adjustments not applied" in overview
    assert "the license's rules entry has no requirement law" in overview and "adjustments/adjustments.csv:3" in overview


def test_html_from_the_data_is_escaped_on_every_page(warehouse, output_dir):
    site = publish_warehouse(warehouse, output_dir).site
    texts = pages(site)
    assert set(texts) == {
        "index.html", "clinics/north-clinic.html", "clinics/st-mary-s-eastside.html", *(f"people/E00{n}.html" for n in range(1, 6))
    }  # fmt: skip
    for text in texts.values():
        assert SCRIPT_NAME not in text and "<b>Lead</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts["clinics/north-clinic.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts["people/E002.html"]
    assert "St. Mary&#39;s / Eastside" in texts["index.html"]


def test_plotly_js_is_written_once_and_loaded_offline_and_no_page_has_an_inline_script(warehouse, output_dir):
    site = publish_warehouse(warehouse, output_dir).site
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.js")) == ["plotly.min.js", "site.js"]
    # Plotly's basic bundle, of the plotly.js version whose figure JSON plotly.py writes
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}\n" in (site / "plotly.min.js").read_text(encoding="utf-8")[:100]
    for name, text in pages(site).items():
        prefix = "../" if "/" in name else ""
        # served with a Content-Security-Policy that runs no inline script: site.js draws each chart from its JSON
        assert (f'<script src="{prefix}site.js"></script>' in text) != name.startswith("people/")  # personal pages: no script
        assert "cdn.plot.ly" not in text and 'src="http' not in text
        assert re.findall(r"<script(?![^>]*(?:src=|type=\"application/json\"))", text) == []
        if name.startswith("people/"):  # no charts
            assert f'<link rel="stylesheet" href="{prefix}person.css">' in text and "data-chart=" not in text
        else:
            assert 'type="application/json" data-chart=' in text


def test_overview_links_every_clinic_and_download(warehouse, output_dir, tmp_path):
    docs = tmp_path / "data-docs"
    docs.mkdir()
    (docs / "index.html").write_text("<p>validation results</p>")
    site = publish_warehouse(warehouse, output_dir, data_docs_dir=docs).site
    overview = (site / "index.html").read_text(encoding="utf-8")
    for href in ("clinics/north-clinic.html", "clinics/st-mary-s-eastside.html", *EXTRACTS, "manifest.json", "data-docs/index.html"):
        assert f'href="{href}"' in overview
    assert 'href="notifications.csv"' not in overview  # no notifications configured: the site has none
    assert (site / "data-docs/index.html").read_text() == "<p>validation results</p>"
    assert "providers/lms/bad.xlsx" in overview and "required column &#39;Course Title&#39; is missing" in overview


def test_a_rerun_with_the_same_data_gives_byte_identical_extracts(warehouse, output_dir):
    first = snapshot(publish_warehouse(warehouse, output_dir, run_id="run-1").site)
    second = snapshot(publish_warehouse(warehouse, output_dir, run_id="run-2").site)
    for name in EXTRACTS:
        assert first[pathlib.Path(name)] == second[pathlib.Path(name)]
    assert os.readlink(output_dir / "latest") == "2026-11-25"
    assert sorted(p.name for p in output_dir.iterdir()) == ["2026-11-25", "latest"]


@pytest.mark.parametrize("second_as_of", [AS_OF, AS_OF + dt.timedelta(days=1)], ids=["same date", "next date"])
def test_a_failed_publication_leaves_latest_and_its_site_untouched(warehouse, output_dir, tmp_path, second_as_of):
    publish_warehouse(warehouse, output_dir, run_id="run-1")
    before = snapshot(output_dir / "latest")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update clinician_compliance set as_of_date = ?", [second_as_of])

    with pytest.raises(OSError):
        publish_warehouse(warehouse, output_dir, run_id="run-2", as_of=second_as_of, data_docs_dir=broken_data_docs(tmp_path))

    assert os.readlink(output_dir / "latest") == "2026-11-25"
    assert snapshot(output_dir / "latest") == before
    assert sorted(p.name for p in output_dir.iterdir()) == ["2026-11-25", "latest"]  # no staging, no half site


def test_latest_stays_on_the_newest_as_of_date_when_an_older_one_is_republished(warehouse, output_dir):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update clinician_compliance set as_of_date = ?", [AS_OF + dt.timedelta(days=1)])
    publish_warehouse(warehouse, output_dir, run_id="run-1", as_of=AS_OF + dt.timedelta(days=1))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update clinician_compliance set as_of_date = ?", [AS_OF])
    published = publish_warehouse(warehouse, output_dir, run_id="run-2", as_of=AS_OF)
    assert published.site == output_dir / "2026-11-25" and (published.site / "index.html").exists()
    assert os.readlink(output_dir / "latest") == "2026-11-26"


def test_history_keeps_one_row_per_date_and_clinic_and_feeds_the_trend(warehouse, output_dir):
    publish_warehouse(warehouse, output_dir, run_id="run-1")
    publish_warehouse(warehouse, output_dir, run_id="run-2")  # a rerun replaces the date's rows
    next_day = AS_OF + dt.timedelta(days=1)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update clinician_compliance set as_of_date = ?, status = 'compliant' where employee_id = 'E002'", [next_day])
        con.execute("update clinician_compliance set as_of_date = ?", [next_day])
    site = publish_warehouse(warehouse, output_dir, run_id="run-3", as_of=next_day).site
    with duckdb.connect(str(warehouse)) as con:
        history = con.execute(
            "select as_of_date, clinic, licenses, compliant, at_risk, run_id from compliance_history order by all"
        ).fetchall()
    assert history == [
        (AS_OF, NORTH, 3, 1, 1, "run-2"),
        (AS_OF, ST_MARYS, 3, 0, 0, "run-2"),
        (next_day, NORTH, 3, 2, 0, "run-3"),
        (next_day, ST_MARYS, 3, 0, 0, "run-3"),
    ]
    overview = (site / "index.html").read_text(encoding="utf-8")
    assert 'id="chart-compliance-trend"' in overview and '"2026-11-25","2026-11-26"' in overview


def test_publishing_refuses_a_compliance_table_of_another_date(warehouse, output_dir):
    with pytest.raises(RuntimeError, match="clinician_compliance holds as-of date"):
        publish_warehouse(warehouse, output_dir, as_of=AS_OF + dt.timedelta(days=1))
    assert not output_dir.exists() or not any(output_dir.iterdir())


def test_the_server_serves_the_latest_overview(warehouse, output_dir):
    publish_warehouse(warehouse, output_dir)
    with running(build_app(output_dir)) as base:
        with urllib.request.urlopen(f"{base}/latest/index.html", timeout=10) as response:
            assert response.status == 200 and b"Organisation overview" in response.read()


def test_the_asset_publishes_through_dagster(warehouse, output_dir, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"warehouse: {warehouse}\noutput_dir: {output_dir}\n")
    (output_dir / ".staging-a-dead-run").mkdir(parents=True)  # left by a run killed while publishing
    result = dg.materialize(
        [published_site], resources={"deployment": ComplianceDeployment(config_path=str(config), as_of=AS_OF.isoformat())}
    )
    assert result.success
    metadata = result.asset_materializations_for_node("published_site")[0].metadata
    assert metadata["as_of"].value == "2026-11-25"
    assert metadata["rows/clinician_compliance.csv"].value == 6
    assert metadata["site"].value == str(output_dir / "2026-11-25")
    assert (output_dir / "latest" / "index.html").exists()
    assert not (output_dir / ".staging-a-dead-run").exists()  # removed when the run started
    with duckdb.connect(str(warehouse)) as con:  # the asset left no lock behind
        (run_id,) = con.execute("select distinct run_id from compliance_history").fetchone()
    assert run_id == result.run_id


def test_a_deployment_without_licenses_still_publishes(warehouse, output_dir):
    with duckdb.connect(str(warehouse)) as con:
        for table in ("clinician_compliance", "requirement_progress", "credit_ledger"):
            con.execute(f"delete from {table}")
    published = publish_warehouse(warehouse, output_dir)
    assert published.clinic_pages == 0 and published.rows["clinician_compliance.csv"] == 0
    assert "No licenses were evaluated for 2026-11-25" in (published.site / "index.html").read_text(encoding="utf-8")


def test_a_license_with_missing_fields_is_shown_as_not_evaluated(warehouse, output_dir):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update clinician_compliance set license_type = null, license_number = null, "
            "status_reason = 'license_type is missing' where employee_id = 'E005'"
        )
    site = publish_warehouse(warehouse, output_dir).site
    assert "(type missing)" in (site / "index.html").read_text(encoding="utf-8")
    assert "license_type is missing" in (site / "clinics/north-clinic.html").read_text(encoding="utf-8")


def whole_site(directory):
    """The manifest of the site at `directory`, after checking that every output it lists is there with its bytes."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for output in manifest["outputs"]:
        assert hashlib.sha256((directory / output["file"]).read_bytes()).hexdigest() == output["sha256"], output["file"]
    assert (directory / "index.html").is_file() and len(list((directory / "clinics").glob("*.html"))) == 2
    return manifest


KILLED = """
import os, pathlib, signal, datetime as dt
from tests.publish_fixtures import publish_warehouse
def after(step):
    if step == {step!r}:
        os.kill(os.getpid(), signal.SIGKILL)
publish_warehouse(pathlib.Path({warehouse!r}), pathlib.Path({output_dir!r}), run_id="run-2", as_of=dt.date.fromisoformat({as_of!r}), after_step=after)
"""


@pytest.mark.parametrize("step", ["site_built", "site_switched", "latest_switched", "old_site_removed"])
@pytest.mark.parametrize("second_as_of", [AS_OF, AS_OF + dt.timedelta(days=1)], ids=["same date", "next date"])
def test_a_publication_killed_after_any_step_leaves_latest_on_a_whole_site_and_the_next_run_cleans_up(
    warehouse, output_dir, step, second_as_of
):
    publish_warehouse(warehouse, output_dir, run_id="run-1")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update clinician_compliance set as_of_date = ?", [second_as_of])
    script = KILLED.format(step=step, warehouse=str(warehouse), output_dir=str(output_dir), as_of=second_as_of.isoformat())
    proc = subprocess.run([sys.executable, "-c", script], cwd=pathlib.Path(__file__).parents[1], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    switched = step != "site_built" if second_as_of == AS_OF else step in ("latest_switched", "old_site_removed")
    assert whole_site(output_dir / "latest")["run_id"] == ("run-2" if switched else "run-1")
    assert whole_site(output_dir / "2026-11-25")["run_id"] == ("run-2" if second_as_of == AS_OF and switched else "run-1")
    if step == "old_site_removed":
        assert not [p for p in output_dir.iterdir() if p.name.startswith(".")]

    remove_leftovers(output_dir)  # what the next run does first
    assert not [p for p in output_dir.iterdir() if p.name.startswith(".")]
    publish_warehouse(warehouse, output_dir, run_id="run-3", as_of=second_as_of)
    assert whole_site(output_dir / "latest")["run_id"] == "run-3"
    assert not [p for p in output_dir.iterdir() if p.name.startswith(".")]


def test_latest_points_at_the_newest_site_not_after_today(warehouse, output_dir):
    for run_id, as_of in (("run-1", AS_OF), ("run-2", dt.date(2062, 11, 25)), ("run-3", AS_OF + dt.timedelta(days=1))):
        with duckdb.connect(str(warehouse)) as con:
            con.execute("update clinician_compliance set as_of_date = ?", [as_of])
        publish_warehouse(warehouse, output_dir, run_id=run_id, as_of=as_of)
        assert os.readlink(output_dir / "latest") == ("2026-11-25" if run_id != "run-3" else "2026-11-26")
    assert (output_dir / "2062-11-25" / "index.html").is_file()  # published, but never `latest` before its day


def test_the_server_hides_what_a_publication_in_progress_or_a_dead_one_leaves(warehouse, output_dir):
    publish_warehouse(warehouse, output_dir)
    (output_dir / ".staging-dead-run").mkdir()
    (output_dir / ".staging-dead-run" / "index.html").write_text("half a site")
    with running(build_app(output_dir)) as base:
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            home = response.read().decode()
        assert "/2026-11-25/index.html" in home and "/latest/index.html" in home and ".staging" not in home
        for hidden in ("/.staging-dead-run/index.html", "/latest/.staging-dead-run/index.html", "/2026-11-25/"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{base}{hidden}", timeout=10)
            assert refused.value.code == 404  # and no directory listing