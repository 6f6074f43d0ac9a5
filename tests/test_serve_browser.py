"""The signed-in server in a real browser (Debian's headless Chromium driven by Playwright, as
tests/test_browser.py): signing in through the form and out again, a manager's way from their pages to a
person's, and every page drawn with no console error under the server's Content-Security-Policy (a blocked
script or style is a console error)."""

from __future__ import annotations

import dataclasses

import argon2
import pytest

from pipelines.settings import load_settings
from reports.access import User, add_user
from reports.serve import CONTENT_SECURITY_POLICY, build_app
from tests.publish_fixtures import SCRIPT_NAME, build_warehouse, publish_warehouse
from tests.serve_support import running
from tests.test_browser import LAPTOP, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret-" + "z" * 40
PASSWORDS = {"olga@example.org": "officer-pass-1", "nora@example.org": "manager-pass-1"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-browser")
    publish_warehouse(build_warehouse(root / "warehouse.duckdb"), root / "published")
    config = root / "config.yaml"
    config.write_text("output_dir: published\naccess: {secret_env: CE_SESSION_SECRET}\n")  # secure cookies, as deployed
    hasher = argon2.PasswordHasher()
    add_user(root / "users.yaml", User(email="olga@example.org", role="compliance_officer", password_hash=hasher.hash(PASSWORDS["olga@example.org"])))
    add_user(
        root / "users.yaml",
        User(email="nora@example.org", role="clinic_manager", clinics=("North Clinic",), password_hash=hasher.hash(PASSWORDS["nora@example.org"])),
    )
    settings = load_settings(config)
    assert settings.access.secure_cookies
    with running(build_app(settings.output_dir, dataclasses.replace(settings.access), SECRET)) as url:
        yield url


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"uncaught: {error}"))
    page.on("console", lambda message: message.type == "error" and page.problems.append(f"console: {message.text}"))
    yield page
    context.close()


def sign_in(page, base: str, email: str, path: str = "/"):
    page.goto(f"{base}{path}")
    assert page.url.startswith(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORDS[email])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def charts_drawn(page):
    page.wait_for_function("[...document.querySelectorAll('.plotly-graph-div')].every(p => p.querySelector('.main-svg'))")


def test_an_officer_signs_in_sees_every_page_drawn_under_the_policy_and_signs_out(page, base):
    sign_in(page, base, "olga@example.org", "/latest/index.html")
    assert page.url == f"{base}/latest/index.html"
    charts_drawn(page)
    assert page.locator(".js-plotly-plot .main-svg").count() >= 4
    response = page.goto(f"{base}/latest/clinics/north-clinic.html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    charts_drawn(page)
    names = page.locator("table.people tbody .name")
    page.get_by_role("button", name="Person").click()  # site.js, a served file, runs
    assert names.all_inner_texts() == ["José García", "Peter Novak", f"{SCRIPT_NAME} Smith"]
    page.get_by_role("link", name="Peter Novak").click()
    page.wait_for_load_state("load")
    assert page.url == f"{base}/latest/people/E005.html" and page.get_by_role("heading", name="Peter Novak").is_visible()
    page.goto(f"{base}/logout")
    assert page.url == f"{base}/login"
    page.goto(f"{base}/latest/index.html")
    assert page.url.startswith(f"{base}/login?next=")
    assert page.problems == []


def test_a_manager_goes_from_their_clinic_to_a_persons_page_and_finds_nothing_else(page, base):
    sign_in(page, base, "nora@example.org")
    assert page.url == f"{base}/"
    page.get_by_role("link", name="North Clinic").click()
    page.wait_for_load_state("load")
    charts_drawn(page)
    page.get_by_role("link", name="José García").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Assessment Foundations").is_visible() and page.get_by_text("over cap self study").is_visible()
    page.emulate_media(media="print")
    assert page.locator(".crumbs").is_hidden()  # the print stylesheet applies
    page.emulate_media(media="screen")
    assert page.problems == []
    assert page.goto(f"{base}/latest/index.html").status == 404
    assert page.goto(f"{base}/latest/clinics/st-mary-s-eastside.html").status == 404


def test_a_managers_pages_offer_no_link_that_answers_404_and_name_who_is_signed_in(page, base):
    sign_in(page, base, "nora@example.org", "/latest/clinics/north-clinic.html")
    charts_drawn(page)
    page.wait_for_selector(".signed-in")
    assert page.locator(".signed-in").inner_text() == "Signed in as nora@example.org · Your pages · Sign out"
    # The overview and the organisation-wide manifest are not hers: their links are plain text now.
    assert page.get_by_text("← Organisation overview").is_visible() and page.locator("a", has_text="Organisation overview").count() == 0
    assert page.locator("footer a").count() == 0 and page.locator("footer .unavailable", has_text="manifest.json").is_visible()
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.pathname)")
    assert hrefs and all(page.request.get(f"{base}{path}").status == 200 for path in set(hrefs) - {"/logout"})
    assert page.get_by_role("link", name="José García").is_visible()  # her clinic's people stay links
    page.get_by_role("link", name="Sign out").click()
    page.wait_for_load_state("load")
    assert page.url == f"{base}/login"
    assert page.problems == []
