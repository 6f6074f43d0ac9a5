"""The published pages in a real browser (Debian's headless Chromium driven by Playwright): no JavaScript
error, Plotly charts drawn, data shown as text, no horizontal scrolling on a 1366-px laptop screen.
Screenshots land in tests/artifacts/ for a person to look at."""

import os
import pathlib

import pytest

from tests.publish_fixtures import SCRIPT_NAME, build_warehouse, publish_warehouse

pytestmark = pytest.mark.browser

CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARTIFACTS = pathlib.Path(__file__).parent / "artifacts"
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
