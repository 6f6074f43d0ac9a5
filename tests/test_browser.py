"""The published pages in a real browser (Debian's headless Chromium driven by Playwright): no JavaScript
error, Plotly charts drawn, data shown as text, no horizontal scrolling on a 1366-px laptop screen nor on a
390-px phone; on the bundled sample run through the pipeline, who to chase, the people quarantined from
the roster, expired licenses, and check counts that agree with Dagster's.
Screenshots land in tests/artifacts/ for a person to look at."""

import csv
import os
import pathlib
import shutil

import duckdb
import pytest

from tests.publish_fixtures import SCRIPT_NAME, build_warehouse, publish_warehouse
from pipelines.settings import load_settings
from pipelines.warehouse import read_sql
from tests.support import materialize

pytestmark = pytest.mark.browser

CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARTIFACTS = pathlib.Path(__file__).parent / "artifacts"
SAMPLE_DATA = pathlib.Path(__file__).resolve().parents[1] / "sample_data"
LAPTOP = {"width": 1366, "height": 768}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide it (see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the browser tests need the `playwright` Python package")
    with sync_playwright() as playwright:
        # Playwright gives the browser a fresh temporary profile of its own.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    return publish_warehouse(build_warehouse(tmp / "warehouse.duckdb"), tmp / "published").latest


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport=LAPTOP)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"uncaught: {error}"))
    page.on("console", lambda message: message.type == "error" and page.problems.append(f"console: {message.text}"))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda request: request.url.startswith("http") and page.problems.append(f"network: {request.url}"))
    yield page
    page.close()


def open_page(page, path: pathlib.Path):
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    page.wait_for_selector(".js-plotly-plot .main-svg")


def assert_laptop_fit(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]


def test_overview_renders_its_charts_without_errors(page, site):
    open_page(page, site / "index.html")
    assert page.locator(".js-plotly-plot").count() >= 4
    assert page.locator(".js-plotly-plot .main-svg").first.is_visible()
    assert page.locator("a[href='clinics/north-clinic.html']").is_visible()
    assert page.get_by_text("providers/lms/bad.xlsx").first.is_visible()
    assert_laptop_fit(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)
    assert page.problems == []


def test_clinic_page_shows_people_as_text_and_sorts(page, site):
    open_page(page, site / "clinics" / "north-clinic.html")
    assert page.locator(".js-plotly-plot .main-svg").first.is_visible()
    assert page.get_by_text(SCRIPT_NAME).is_visible()  # the name is text, not a script
    assert page.locator("table.people script").count() == 0
    names = page.locator("table.people tbody .name")
    assert names.all_inner_texts()[0].startswith(SCRIPT_NAME)  # at risk comes first
    page.get_by_role("button", name="Person").click()
    assert names.all_inner_texts() == ["José García", "Peter Novak", f"{SCRIPT_NAME} Smith"]
    page.get_by_role("button", name="Deadline").click()
    assert names.all_inner_texts()[-1] == "Peter Novak"  # no deadline: last
    assert_laptop_fit(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "clinic.png", full_page=True)
    assert page.problems == []


# ------------------------------------------------------------------------------------------------
# The bundled sample, run through the real pipeline: what people chase, on a phone and on a laptop
# ------------------------------------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
SAMPLE_AS_OF = "2026-11-25"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """The sample deployment copied (its outputs land beside the copy, in var/), materialised through publish."""
    root = tmp_path_factory.mktemp("sample-run")
    shutil.copytree(SAMPLE_DATA, root / "sample_data")
    config = root / "sample_data" / "config.yaml"
    result = materialize(config, SAMPLE_AS_OF, through_publish=True)
    assert result.success
    return config, result, root / "var" / "sample" / "published" / "latest"


@pytest.fixture
def phone(browser):
    page = browser.new_page(viewport=PHONE)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"uncaught: {error}"))
    yield page
    page.close()


def query(config, sql: str) -> list[dict]:
    with duckdb.connect(str(load_settings(config).warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _roster_rows(config, keep) -> list[dict]:
    """The sample roster's rows that `keep` keeps, each with the row number a spreadsheet shows."""
    (roster,) = (config.parent / "landing" / "roster").glob("*.csv")
    with roster.open(encoding="utf-8-sig", newline="") as f:
        return [row | {"source_row": n} for n, row in enumerate(csv.DictReader(f), start=2) if keep(row)]


def test_who_to_chase_names_the_overdue_people_and_links_to_their_rows(page, sample_run):
    config, _, site = sample_run
    overdue = query(config, "select first_name, last_name, clinic from clinician_compliance where status = 'overdue' order by last_name")
    assert len(overdue) >= 2
    page.goto((site / "index.html").as_uri())
    chased = page.locator("#chase-overdue li")
    assert sorted(chased.locator("a").all_inner_texts()) == sorted(f"{p['first_name']} {p['last_name']}" for p in overdue)
    for p in overdue:
        assert any(f"{p['first_name']} {p['last_name']}" in text and p["clinic"] in text for text in chased.all_inner_texts())
    first = chased.locator("a").first
    name = first.inner_text()
    first.click()
    page.wait_for_load_state("load")
    row = page.locator("table.people tr:target")
    assert row.is_visible() and name in row.locator(".name").inner_text()
    assert "overdue since" in row.inner_text()
    assert page.problems == []


def test_a_status_count_opens_the_clinic_page_filtered_by_that_status(page, sample_run):
    _, _, site = sample_run
    page.goto((site / "index.html").as_uri())
    link = page.locator("#clinic-table a[href$='#status=on_track']").first
    count = int(link.inner_text())
    link.click()
    page.wait_for_load_state("load")
    visible = page.locator("table.people tbody tr:visible")
    assert visible.count() == count
    assert {visible.nth(i).get_attribute("data-status-key") for i in range(count)} == {"on_track"}
    page.select_option("select[data-status-table]", "")
    assert page.locator("table.people tbody tr:visible").count() == page.locator("table.people tbody tr").count()
    assert page.problems == []


def test_at_390_px_no_page_scrolls_sideways_and_a_clinic_page_shows_what_each_still_needs(phone, sample_run):
    _, _, site = sample_run
    for path in [site / "index.html", *sorted((site / "clinics").glob("*.html"))]:
        phone.goto(path.resolve().as_uri())
        phone.wait_for_load_state("load")
        assert phone.evaluate("document.documentElement.scrollWidth") == PHONE["width"], path.name
    phone.goto((site / "clinics" / "austin-clinic.html").as_uri())
    needed = phone.locator("table.people tbody tr").first.locator("td").nth(5)
    needed.scroll_into_view_if_needed()
    box = needed.bounding_box()
    assert needed.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert "Still needed" in phone.evaluate("td => getComputedStyle(td, '::before').content", needed.element_handle())
    assert "h total" in needed.inner_text()  # the most urgent person's hours, on screen
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=ARTIFACTS / "clinic-390.png", full_page=True)
    assert phone.problems == []


def test_the_data_quality_panel_names_the_people_quarantined_from_the_roster(page, sample_run):
    config, _, site = sample_run
    without_clinic = _roster_rows(config, lambda row: not row["Site"].strip())
    assert len(without_clinic) == 2
    page.goto((site / "index.html").as_uri())
    panel = page.locator("#data-quality")
    assert panel.get_by_text("2 people not shown: roster row without a clinic").is_visible()
    table = panel.locator("table.not-shown").first
    for row in without_clinic:
        assert table.get_by_text(f"{row['Legal First Name']} {row['Legal Last Name']}").is_visible()
        assert table.get_by_text(f"roster/hr_roster_2026-11-25.csv:{row['source_row']}").is_visible()
    # their credits, warned as matching no one, are counted beside them
    mine = query(config, read_sql("roster_rows_not_shown"))
    unmatched = query(config, "select value from data_quality_exceptions where \"check\" = 'unmatched_clinician'")
    for person in mine:
        keys = {f"{person['license_state']} {person['license_number']}", person["employee_id"]}
        email = (person["email"] or "").lower()
        assert person["unmatched_credits"] == sum(u["value"] in keys or u["value"].lower() == email for u in unmatched)
    assert sum(person["unmatched_credits"] for person in mine) > 0
    chased = page.locator("#chase-not-shown").inner_text()
    assert all(f"{row['Legal First Name']} {row['Legal Last Name']}" in chased for row in without_clinic)


def test_an_expired_license_is_flagged_whatever_its_status(page, sample_run):
    config, _, site = sample_run
    expired = query(
        config,
        "select first_name, last_name, clinic, status, strftime(license_expiration_date, '%Y-%m-%d') as expired_on "
        "from clinician_compliance where license_expiration_date < date '2026-11-25' order by last_name",
    )
    assert {"overdue", "on_track"} <= {e["status"] for e in expired}  # not only the overdue ones
    page.goto((site / "index.html").as_uri())
    chased = page.locator("#chase-expired").inner_text()
    for e in expired:
        flag = f"expired on {e['expired_on']}: renewal not recorded in the roster"
        assert f"{e['first_name']} {e['last_name']}" in chased and flag in chased
    link = page.locator("#chase-expired a").first
    link.click()
    page.wait_for_load_state("load")
    assert "renewal not recorded in the roster" in page.locator("table.people tr:target .expired").inner_text()


def test_each_check_counts_the_same_rows_in_its_asset_check_and_on_the_dashboard(page, sample_run):
    _, result, site = sample_run
    from_checks: dict[str, int] = {}
    for evaluation in result.get_asset_check_evaluations():
        for name, value in evaluation.metadata.items():
            if name.startswith("failing_rows/"):
                check = name.removeprefix("failing_rows/")
                from_checks[check] = from_checks.get(check, 0) + value.value
    assert from_checks["unmatched_clinician"] > 0
    page.goto((site / "index.html").as_uri())
    shown = {
        cells[0]: int(cells[2].replace(",", ""))
        for cells in (row.locator("td").all_inner_texts() for row in page.locator("table.rows-per-check tbody tr").all())
    }
    assert {check: shown[check] for check in from_checks} == from_checks
    # beyond the row suites, only file-level findings and the engine's adjustments not applied
    assert set(shown) - set(from_checks) <= {"file_rejected", "adjustment_not_applied", "other_sheets_ignored"}


def test_a_long_clinic_page_is_paged_searchable_and_opens_the_page_of_a_linked_row(page, tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:  # 120 more on-track licenses at North Clinic
        con.execute(
            """
            insert into clinician_compliance by name
            select * exclude (i) replace ('X' || lpad(i::varchar, 4, '0') as employee_id, 'Person' as first_name,
                              'Number ' || i as last_name, 'N' || i as license_number)
            from clinician_compliance, range(120) t(i)
            where employee_id = 'E002'
            """
        )
    site = publish_warehouse(warehouse, tmp_path / "published").site
    north = site / "clinics" / "north-clinic.html"
    open_page(page, north)
    rows = page.locator("table.people tbody tr")
    assert rows.count() == 123 and page.locator("table.people tbody tr:visible").count() == 50
    pager = page.locator("nav.pager")
    assert "Rows 1–50 of 123 rows" in pager.inner_text()
    pager.get_by_role("button", name="Next ›").click()
    assert "Rows 51–100 of 123 rows" in pager.inner_text()
    page.fill("input[data-search-table='people-table']", "number 7")  # Number 7, 70–79
    assert page.locator("table.people tbody tr:visible").count() == 11
    # a link to a row beyond the first page (the who-to-chase list's kind) shows that row's page
    page.goto(north.resolve().as_uri() + "#lic-X0099-IL-LCSW-N99")
    page.wait_for_load_state("load")
    assert page.locator("#lic-X0099-IL-LCSW-N99").is_visible()
    assert "Rows 101–123 of 123 rows" in pager.inner_text()
    assert page.problems == []
