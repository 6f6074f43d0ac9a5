"""Great Expectations' Data Docs, as published in the site, render in Chromium with every script and style
served from the site: no request leaves the machine."""

import polars as pl
import pytest

from pipelines.quality.gx_runner import RowExpectation, validate_rows, write_data_docs
from tests.publish_fixtures import build_warehouse, publish_warehouse
from tests.test_browser import LAPTOP, browser  # noqa: F401  (the module's Chromium, a fixture)

pytestmark = pytest.mark.browser

UNKNOWN_CLINIC = RowExpectation(
    "unknown_clinic", "clinic", "ExpectColumnValuesToBeInSet", {"column": "clinic", "value_set": ["North"]}, "warned", "a clinic in the list"
)


@pytest.fixture(scope="module")
def data_docs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("data-docs")
    result = validate_rows("roster", pl.DataFrame({"clinic": ["North", "South", None]}), [UNKNOWN_CLINIC])
    write_data_docs([result], tmp / "docs")
    site = publish_warehouse(build_warehouse(tmp / "warehouse.duckdb"), tmp / "published", data_docs_dir=tmp / "docs").site
    return site / "data-docs"


def test_data_docs_render_with_no_request_leaving_the_machine(browser, data_docs):  # noqa: F811
    pages = [data_docs / "index.html", data_docs / "expectations" / "roster.html", next(data_docs.glob("validations/**/*.html"))]
    for path in pages:
        page = browser.new_page(viewport=LAPTOP)
        left, problems = [], []
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        # Every request that would leave the machine is recorded and refused; files of the site go through.
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else (left.append(route.request.url), route.abort()))
        page.goto(path.as_uri(), wait_until="load")
        assert left == [], path
        assert problems == [], path
        # jQuery, Bootstrap's and bootstrap-table's plugins ran; Bootstrap's CSS styles the page.
        assert page.evaluate("typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable === 'function' && typeof jQuery.fn.tooltip === 'function'")
        assert page.evaluate("(() => { const e = document.createElement('div'); e.className = 'd-none'; document.body.append(e); return getComputedStyle(e).display; })()") == "none"
        assert page.evaluate("document.fonts.load('900 16px \"Font Awesome 6 Free\"').then(faces => faces.length)") > 0  # its icons' font
        page.close()
    index = browser.new_page(viewport=LAPTOP)
    index.goto(pages[0].as_uri(), wait_until="load")
    # The index's table of validation results is drawn by bootstrap-table from the page's data.
    index.wait_for_selector(".bootstrap-table tbody tr td a")
    assert "roster" in index.inner_text(".bootstrap-table")
    index.close()
