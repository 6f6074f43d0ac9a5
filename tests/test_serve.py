"""`ce-compliance serve` with an `access:` section, over plain HTTP against the real server on 127.0.0.1:
sign-in and sign-out, what each role sees (404 for the rest, exactly as for a missing file), lock-out, the
CSRF token, forged and expired cookies, the trusted header, paths that try to leave the output folder, the
security headers and the access log. In the browser: tests/test_serve_browser.py."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import http.client
import io
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator

import argon2
import httpx
import itsdangerous
import pytest

from pipelines.cli import main
from pipelines.settings import ConfigError, load_settings
from reports.access import User, UsersFileError, add_user, read_users
from reports.serve import CONTENT_SECURITY_POLICY, LINKS, MAX_LINKS_BODY_BYTES, SESSION_COOKIE, SIGN_IN_FAILED, build_app
from tests.publish_fixtures import build_warehouse, publish_warehouse
from tests.serve_support import running

SECRET = "test-secret-" + "x" * 40
PASSWORDS = {
    "olga@example.org": "officer-pass-1",
    "audrey@example.org": "auditor-pass-1",
    "nora@example.org": "manager-pass-1",
    "jose@example.org": "clinician-pass-1",  # E001's roster email
    "lena@example.org": "lockout-pass-1",
    "burst@example.org": "burst-pass-1",
    "nils@example.org": "manager-pass-2",
}
ROLES = {
    "olga@example.org": ("compliance_officer", ()),
    "audrey@example.org": ("auditor", ()),
    "nora@example.org": ("clinic_manager", ("North Clinic",)),
    "jose@example.org": ("clinician", ()),
    "lena@example.org": ("auditor", ()),
    "burst@example.org": ("auditor", ()),
    "nils@example.org": ("clinic_manager", (" north  CLINIC",)),  # the roster's `North Clinic`, spelt otherwise
}
NORTH_PEOPLE = ("E001", "E002", "E005")
ST_MARYS_PEOPLE = ("E003", "E004")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A published site, a configuration with `access:` and a users file written as `users add` writes it."""
    root = tmp_path_factory.mktemp("serve")
    publish_warehouse(build_warehouse(root / "warehouse.duckdb"), root / "published")
    (root / "outside.txt").write_text("a file outside the output folder")
    config = root / "config.yaml"
    config.write_text(
        "output_dir: published\nwarehouse: warehouse.duckdb\n"
        "access:\n  users: users.yaml\n  secret_env: CE_SESSION_SECRET\n  secure_cookies: false\n  access_log: logs/access.log\n"
    )
    hasher = argon2.PasswordHasher()
    for email, (role, clinics) in ROLES.items():
        add_user(root / "users.yaml", User(email=email, role=role, clinics=clinics, password_hash=hasher.hash(PASSWORDS[email])))
    return config


@pytest.fixture(scope="module")
def access(deployment):
    return load_settings(deployment).access


@pytest.fixture(scope="module")
def output_dir(deployment):
    return load_settings(deployment).output_dir


@pytest.fixture(scope="module")
def base(output_dir, access):
    with running(build_app(output_dir, access, SECRET)) as url:
        yield url


def client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30)


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(http: httpx.Client, email: str, password: str | None = None, next_path: str = "/") -> httpx.Response:
    form = http.get("/login", params={"next": next_path})
    assert form.status_code == 200
    return http.post(
        "/login",
        data={"csrf_token": csrf_token(form.text), "email": email, "password": password or PASSWORDS[email], "next": next_path},
    )


@contextlib.contextmanager
def signed_in(base: str, email: str) -> Iterator[httpx.Client]:
    with client(base) as http:
        assert sign_in(http, email).status_code == 303
        yield http


def log_entries(access) -> list[dict]:
    return [json.loads(line) for line in access.access_log.read_text(encoding="utf-8").splitlines()]


def test_signing_in_and_out(base):
    with client(base) as http:
        refused = http.get("/latest/index.html")
        assert refused.status_code == 303 and refused.headers["location"] == "/login?next=%2Flatest%2Findex.html"
        form = http.get(refused.headers["location"])
        assert '<form method="post" action="/login">' in form.text and 'name="email"' in form.text and 'name="password"' in form.text
        signed = sign_in(http, "olga@example.org", next_path="/latest/index.html")
        assert signed.status_code == 303 and signed.headers["location"] == "/latest/index.html"
        cookie = http.cookies[SESSION_COOKIE]
        overview = http.get("/latest/index.html")
        assert overview.status_code == 200 and "Organisation overview" in overview.text
        out = http.get("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert http.get("/latest/index.html").status_code == 303
    with client(base) as replay:  # the cookie of a session signed out is refused, though its signature holds
        replay.cookies.set(SESSION_COOKIE, cookie)
        assert replay.get("/latest/index.html").status_code == 303


def test_a_wrong_password_and_an_unknown_email_get_one_generic_message(base):
    with client(base) as http:
        wrong = sign_in(http, "nora@example.org", "not-her-password")
        unknown = sign_in(http, "nobody@example.org", "whatever")
        assert http.get("/latest/index.html").status_code == 303
    assert wrong.status_code == unknown.status_code == 401
    assert SIGN_IN_FAILED in wrong.text and SIGN_IN_FAILED in unknown.text
    assert wrong.text.replace(csrf_token(wrong.text), "") == unknown.text.replace(csrf_token(unknown.text), "")


def test_a_manager_sees_their_clinic_and_its_people_and_nothing_else(base):
    with signed_in(base, "nora@example.org") as http:
        for path in ("/latest/clinics/north-clinic.html", "/latest/clinics/north-clinic.csv", "/2026-11-25/clinics/north-clinic.html",
                     *(f"/latest/people/{person}.html" for person in NORTH_PEOPLE), "/latest/site.css", "/latest/plotly.min.js"):  # fmt: skip
            assert http.get(path).status_code == 200, path
        missing = http.get("/latest/clinics/no-such-clinic.html")
        assert missing.status_code == 404
        for path in ("/latest/clinics/st-mary-s-eastside.html", "/latest/clinics/st-mary-s-eastside.csv", "/latest/index.html",
                     "/latest/clinician_compliance.csv", "/latest/credit_ledger.csv", "/latest/ce_compliance.xlsx",
                     "/latest/manifest.json", "/latest/access.json", *(f"/latest/people/{person}.html" for person in ST_MARYS_PEOPLE)):  # fmt: skip
            refused = http.get(path)
            assert (refused.status_code, refused.text) == (404, missing.text), path  # as a missing file: nothing told
        home = http.get("/")
        assert 'href="/latest/clinics/north-clinic.html"' in home.text and "st-mary" not in home.text


def test_a_manager_listed_for_a_clinic_in_other_capitals_or_blanks_sees_it_as_their_digest_takes_it(base):
    with signed_in(base, "nils@example.org") as http:
        for path in ("/latest/clinics/north-clinic.html", *(f"/latest/people/{person}.html" for person in NORTH_PEOPLE)):
            assert http.get(path).status_code == 200, path
        assert http.get("/latest/clinics/st-mary-s-eastside.html").status_code == 404
        assert '<a href="/latest/clinics/north-clinic.html">North Clinic</a>' in http.get("/").text


def test_a_page_learns_which_of_its_links_its_viewer_may_open(base):
    paths = ["/latest/index.html", "/latest/manifest.json", "/latest/clinics/north-clinic.html", "/latest/clinics/north-clinic.csv",
             "/latest/clinics/st-mary-s-eastside.html", "/latest/people/E001.html", "/latest/people/E003.html",
             "/latest/people/no-one.html", "/", "/logout", "/latest/people/%45001.html", "/latest/../outside.txt"]  # fmt: skip
    with client(base) as http:
        refused = http.post(LINKS, json={"paths": paths})  # nothing told before signing in
        assert (refused.status_code, refused.headers["location"]) == (303, "/login?next=%2F")
    with signed_in(base, "nora@example.org") as http:
        answer = http.post(LINKS, json={"paths": paths})
        assert answer.status_code == 200
        assert answer.json() == {
            "email": "nora@example.org",
            "allowed": ["/latest/clinics/north-clinic.html", "/latest/clinics/north-clinic.csv", "/latest/people/E001.html", "/", "/logout",
                        "/latest/people/%45001.html"],  # the same page, percent-encoded as a browser may write it
        }  # fmt: skip
        for body in (b"not json", b'{"paths": "/latest/index.html"}', b'{"paths": [1]}', b"{}"):
            assert http.post(LINKS, content=body).status_code == 400, body
        assert http.post(LINKS, content=b'{"paths": ["' + b"/x" * (MAX_LINKS_BODY_BYTES // 2) + b'"]}').status_code == 413
    with signed_in(base, "olga@example.org") as http:
        assert set(http.post(LINKS, json={"paths": paths}).json()["allowed"]) == set(paths) - {
            "/latest/people/no-one.html", "/latest/../outside.txt",  # no such file, and outside the site
        }  # fmt: skip


def test_a_clinician_sees_only_their_own_page(base):
    with signed_in(base, "jose@example.org") as http:
        assert http.get("/").text.count('href="/latest/people/E001.html"') == 1
        page = http.get("/latest/people/E001.html")
        assert page.status_code == 200 and "García" in page.text
        for path in ("/latest/people/E002.html", "/latest/clinics/north-clinic.html", "/latest/clinics/north-clinic.csv",
                     "/latest/index.html", "/latest/clinician_compliance.csv"):  # fmt: skip
            assert http.get(path).status_code == 404, path


def test_an_auditors_download_is_in_the_access_log_with_their_email(base, access, output_dir):
    with signed_in(base, "audrey@example.org") as http:
        download = http.get("/latest/clinician_compliance.csv")
        assert download.status_code == 200 and download.content == (output_dir / "latest" / "clinician_compliance.csv").read_bytes()
    entries = log_entries(access)
    assert {
        "email": "audrey@example.org", "role": "auditor", "method": "GET", "path": "/latest/clinician_compliance.csv",
        "file": "2026-11-25/clinician_compliance.csv", "status": 200,
    }.items() <= entries[-1].items()  # fmt: skip
    assert access.access_log.stat().st_mode & 0o777 == 0o600  # it says who signed in, and when
    assert entries[-1]["peer"] == "127.0.0.1" and entries[-1]["time"].endswith("Z")
    signed = [e for e in entries if e.get("event") == "signed_in" and e["email"] == "audrey@example.org"]
    assert signed and signed[-1]["path"] == "/login" and signed[-1]["status"] == 303
    assert not access.access_log.is_relative_to(access.users_file.parent / "published")


def test_five_wrong_passwords_lock_the_account(base, access):
    with client(base) as http:
        for _ in range(5):
            assert sign_in(http, "lena@example.org", "wrong").status_code == 401
        locked = sign_in(http, "lena@example.org")  # the right password, now refused
        assert locked.status_code == 401 and SIGN_IN_FAILED in locked.text
        assert http.get("/latest/index.html").status_code == 303
    events = [e["event"] for e in log_entries(access) if e.get("email") == "lena@example.org" and "event" in e]
    assert events[-6:] == ["sign_in_failed"] * 4 + ["sign_in_failed_account_locked", "sign_in_refused_locked"]


def test_a_burst_of_parallel_sign_ins_checks_no_more_than_five_passwords(base, access):
    # each password check takes argon2's time, so parallel attempts are all under way before any has failed
    forms = []
    for _ in range(12):
        http = client(base)
        forms.append((http, csrf_token(http.get("/login").text)))

    def attempt(form) -> int:
        http, token = form
        return http.post("/login", data={"csrf_token": token, "email": "burst@example.org", "password": "wrong", "next": "/"}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(forms)) as pool:
        assert set(pool.map(attempt, forms)) == {401}
    for http, _ in forms:
        http.close()
    with client(base) as http:
        assert sign_in(http, "burst@example.org").status_code == 401  # the right password, now refused
    events = [e["event"] for e in log_entries(access) if e.get("email") == "burst@example.org" and "event" in e]
    assert [e for e in events if e != "sign_in_refused_locked"] == ["sign_in_failed"] * 4 + ["sign_in_failed_account_locked"]
    assert events.count("sign_in_refused_locked") == 12 - 5 + 1


def test_a_sign_in_without_the_csrf_token_fails(base):
    with client(base) as http:
        http.get("/login")  # the session that holds the token
        without = http.post("/login", data={"email": "olga@example.org", "password": PASSWORDS["olga@example.org"]})
        assert without.status_code == 400
        assert http.get("/latest/index.html").status_code == 303
        forged = http.post("/login", data={"csrf_token": "made-up", "email": "olga@example.org", "password": PASSWORDS["olga@example.org"]})
        assert forged.status_code == 400
        assert http.get("/latest/index.html").status_code == 303
    with client(base) as other, client(base) as victim:  # a token is good for its own session only
        token = csrf_token(other.get("/login").text)
        victim.get("/login")
        assert victim.post("/login", data={"csrf_token": token, "email": "olga@example.org", "password": PASSWORDS["olga@example.org"]}).status_code == 400


def test_a_forged_or_expired_cookie_is_refused(base):
    with signed_in(base, "olga@example.org") as http:
        real = http.cookies[SESSION_COOKIE]
    payload = real.rsplit(".", 2)[0]
    session = json.loads(base64.b64decode(payload))
    assert set(session) == {"sid", "csrf"}  # nothing but the session's id and token: no email, no role
    signed_elsewhere = itsdangerous.TimestampSigner("another-secret-" + "y" * 40).sign(payload).decode()

    class NineHoursAgo(itsdangerous.TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 9 * 3600  # session_hours is 8

    expired = NineHoursAgo(SECRET).sign(payload).decode()
    tampered = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    for cookie in (signed_elsewhere, expired, tampered, "e30=.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"):
        with client(base) as forger:
            forger.cookies.set(SESSION_COOKIE, cookie)
            assert forger.get("/latest/index.html").status_code == 303, cookie
    with client(base) as holder:  # the same payload signed now, with the right secret, still works: the refusals were the signature and its age
        holder.cookies.set(SESSION_COOKIE, itsdangerous.TimestampSigner(SECRET).sign(payload).decode())
        assert holder.get("/latest/index.html").status_code == 200


def test_the_session_cookie_is_signed_http_only_same_site_lax_secure_and_expires_after_session_hours(output_dir, access):
    secure = dataclasses.replace(access, secure_cookies=True, session_hours=2)
    with running(build_app(output_dir, secure, SECRET)) as url, client(url) as http:
        signed = sign_in(http, "olga@example.org")
    cookie = [v for k, v in signed.headers.multi_items() if k == "set-cookie" and v.startswith(f"{SESSION_COOKIE}=")][-1]
    flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "secure", "max-age=7200", "path=/"} <= flags


def raw_get(base: str, path: str, cookie: str | None = None) -> tuple[int, bytes]:
    """The request line exactly as written: no client-side normalising of `..` or of percent-escapes."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_paths_out_of_the_output_folder_get_404_even_for_the_compliance_officer(base, output_dir):
    site = output_dir / "2026-11-25"
    (site / "clinics" / "escape.html").symlink_to(output_dir.parent / "outside.txt")
    (output_dir / "2026-01-01").symlink_to(output_dir.parent, target_is_directory=True)
    (site / "people" / "loop.html").symlink_to("loop.html")
    with signed_in(base, "olga@example.org") as http:
        cookie = http.cookies[SESSION_COOKIE]
        assert http.get("/latest/index.html").status_code == 200
        _, missing = raw_get(base, "/latest/no-such-page.html", cookie)
        for path in (
            "/latest/../outside.txt",
            "/latest/../../etc/passwd",
            "/latest/%2e%2e/outside.txt",
            "/latest/%2E%2E/%2e%2e/etc/passwd",
            "/latest/..%2foutside.txt",
            "/latest/clinics/..%2F..%2Foutside.txt",
            "/%2e%2e/outside.txt",
            "/latest/clinics/escape.html",
            "/2026-01-01/outside.txt",
            "/latest/people/",
            "/latest/",
            "/latest",
            "/latest/./index.html",
            "/latest//index.html",
            "/latest/%5c..%5coutside.txt",
            "/latest/" + "a" * 300 + ".html",  # longer than a file name may be
            "/latest/people/loop.html",  # a link to itself
        ):
            status, body = raw_get(base, path, cookie)
            assert (status, body) == (404, missing), path
            assert b"outside the output folder" not in body


def test_every_response_carries_the_security_headers(base):
    with signed_in(base, "nora@example.org") as http:
        responses = [http.get("/latest/clinics/north-clinic.html"), http.get("/latest/index.html"), http.get("/logout"), http.get("/login")]
    assert [r.status_code for r in responses] == [200, 404, 303, 200]
    for response in responses:
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"  # no other origin, nothing inline


def test_the_stylesheet_and_the_sign_in_page_need_no_sign_in(base):
    with client(base) as http:
        assert http.get("/login").status_code == 200
        css = http.get("/site.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert http.get("/latest/site.css").status_code == 303  # a site's files, even its stylesheet, need one


def test_the_trusted_header_is_ignored_from_a_peer_not_in_trusted_proxies(output_dir, access):
    untrusting = dataclasses.replace(access, trusted_header="X-Forwarded-Email", trusted_proxies=("10.20.30.40/32",))
    with running(build_app(output_dir, untrusting, SECRET)) as url, client(url) as http:
        response = http.get("/latest/index.html", headers={"X-Forwarded-Email": "olga@example.org"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_trusted_header_from_a_trusted_proxy_signs_in_users_and_roster_people(output_dir, access):
    trusting = dataclasses.replace(access, trusted_header="X-Forwarded-Email", trusted_proxies=("127.0.0.1/32",))
    with running(build_app(output_dir, trusting, SECRET)) as url, client(url) as http:
        as_manager = {"X-Forwarded-Email": "Nora@Example.org"}
        assert http.get("/latest/clinics/north-clinic.html", headers=as_manager).status_code == 200
        assert http.get("/latest/index.html", headers=as_manager).status_code == 404
        as_roster_person = {"X-Forwarded-Email": "aisha@example.org"}  # E004, not in users.yaml: her own page only
        assert http.get("/latest/people/E004.html", headers=as_roster_person).status_code == 200
        assert http.get("/latest/people/E003.html", headers=as_roster_person).status_code == 404
        stranger = {"X-Forwarded-Email": "someone@elsewhere.org"}
        assert http.get("/latest/people/E004.html", headers=stranger).status_code == 404
    entries = log_entries(access)
    assert any(e["email"] == "aisha@example.org" and e["role"] == "clinician" and e["status"] == 200 for e in entries)


def test_a_user_removed_from_the_users_file_loses_access_at_their_next_request(tmp_path, output_dir, access):
    users = tmp_path / "users.yaml"
    hasher = argon2.PasswordHasher()
    add_user(users, User(email="temp@example.org", role="auditor", password_hash=hasher.hash("temp-pass-1")))
    add_user(users, User(email="stays@example.org", role="auditor", password_hash=hasher.hash("stays-pass-1")))
    with running(build_app(output_dir, dataclasses.replace(access, users_file=users), SECRET)) as url, client(url) as http:
        assert sign_in(http, "temp@example.org", "temp-pass-1").status_code == 303
        assert http.get("/latest/index.html").status_code == 200
        entries = [e for e in (read_users(users)) if e != "temp@example.org"]
        users.write_text("".join(f"- {{email: {e}, role: auditor}}\n" for e in entries))
        assert http.get("/latest/index.html").status_code == 303


def run_cli(*args: str, stdin: str = "", env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_users_add_writes_an_argon2id_hash_and_replaces_an_entry_with_the_same_email(tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("access: {secret_env: CE_SESSION_SECRET}\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("first-password\n"))
    assert main(["users", "add", "--config", str(config), "Nora@Example.org", "--role", "clinic_manager",
                 "--clinic", "North Clinic", "--clinic", "St. Mary's / Eastside", "--password-stdin"]) == 0  # fmt: skip
    assert "added nora@example.org (clinic_manager: North Clinic, St. Mary's / Eastside)" in capsys.readouterr().out
    [user] = read_users(tmp_path / "users.yaml").values()
    assert (user.email, user.role, user.clinics) == ("nora@example.org", "clinic_manager", ("North Clinic", "St. Mary's / Eastside"))
    assert user.password_hash.startswith("$argon2id$") and argon2.PasswordHasher().verify(user.password_hash, "first-password")
    assert (tmp_path / "users.yaml").stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    assert main(["users", "add", "--config", str(config), "nora@example.org", "--role", "auditor", "--password-stdin"]) == 0
    assert "updated nora@example.org (auditor)" in capsys.readouterr().out
    [user] = read_users(tmp_path / "users.yaml").values()
    assert user.role == "auditor" and user.clinics == () and argon2.PasswordHasher().verify(user.password_hash, "second-password")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad-address", "--role", "auditor"], "'bad-address' is not an email address"),
        (["nora@example.org", "--role", "clinic_manager"], "a clinic_manager needs `clinics`"),
        (["nora@example.org", "--role", "clinician", "--clinic", "North Clinic"], "`clinics` is for clinic_manager only"),
    ],
)
def test_users_add_refuses_what_it_cannot_use_with_exit_2(tmp_path, monkeypatch, capsys, args, message):
    config = tmp_path / "config.yaml"
    config.write_text("access: {secret_env: CE_SESSION_SECRET}\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-password\n"))
    assert main(["users", "add", "--config", str(config), *args, "--password-stdin"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "users.yaml").exists()


def test_a_users_file_with_an_unknown_key_or_role_names_the_file_the_entry_and_the_key(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("- {email: nora@example.org, role: clinic_manager, clinic: [North Clinic]}\n- {email: x@example.org, role: boss}\n")
    with pytest.raises(UsersFileError) as error:
        read_users(users)
    assert f"{users}: entry [0] (nora@example.org): `clinic` is not a known key; allowed: email, role, clinics, password_hash" in str(error.value)
    assert f"{users}: entry [1] (x@example.org): `role` Input should be 'compliance_officer', 'auditor', 'clinic_manager' or 'clinician'" in str(error.value)


def test_a_password_hash_no_password_can_match_is_refused_naming_the_entry(tmp_path):
    users = tmp_path / "users.yaml"
    argon2i = argon2.PasswordHasher(type=argon2.Type.I).hash("x")
    users.write_text(
        f"- {{email: a@example.org, role: auditor, password_hash: not-a-hash}}\n"
        f"- {{email: b@example.org, role: auditor, password_hash: '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'}}\n"
        f"- {{email: c@example.org, role: auditor, password_hash: '{argon2i}'}}\n"
        f"- {{email: d@example.org, role: auditor}}\n"
    )
    with pytest.raises(UsersFileError) as error:
        read_users(users)
    expected = "`password_hash` must be an argon2id hash ($argon2id$...) as `ce-compliance users add` writes it"
    assert str(error.value).splitlines() == [f"{users}: entry [{n}] ({e}@example.org): {expected}" for n, e in enumerate("abc")]


def test_the_access_log_may_not_sit_in_the_output_folder(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("output_dir: published\naccess: {secret_env: CE_SESSION_SECRET, access_log: published/access.log}\n")
    with pytest.raises(ConfigError, match=r"`access.access_log` .* is inside output_dir"):
        load_settings(config)


def test_serve_refuses_to_start_without_a_long_enough_secret_or_with_a_bad_users_file(deployment, tmp_path):
    unset = run_cli("serve", "--config", str(deployment), env={"CE_SESSION_SECRET": ""})
    assert unset.returncode == 2 and "CE_SESSION_SECRET" in unset.stderr and "it is not set" in unset.stderr
    short = run_cli("serve", "--config", str(deployment), env={"CE_SESSION_SECRET": "short"})
    assert short.returncode == 2 and "at least 32 random characters" in short.stderr
    config = tmp_path / "config.yaml"
    config.write_text(f"output_dir: {load_settings(deployment).output_dir}\naccess: {{secret_env: CE_SESSION_SECRET}}\n")
    missing = run_cli("serve", "--config", str(config), env={"CE_SESSION_SECRET": SECRET})
    assert missing.returncode == 2 and f"users file {tmp_path / 'users.yaml'} does not exist" in missing.stderr


def test_without_access_serve_binds_localhost_only_and_says_everyone_sees_everything(tmp_path):
    published = publish_warehouse(build_warehouse(tmp_path / "warehouse.duckdb"), tmp_path / "published")
    config = tmp_path / "config.yaml"
    config.write_text("output_dir: published\n")
    refused = run_cli("serve", "--config", str(config), "--host", "0.0.0.0")
    assert refused.returncode == 2 and "binds 127.0.0.1 only, not 0.0.0.0" in refused.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        said = server.stdout.readline()
        assert "everyone who reaches" in said and "sees everything" in said and f"http://127.0.0.1:{port}/" in said
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/latest/clinician_compliance.csv", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.content == (published.site / "clinician_compliance.csv").read_bytes()
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_publication_writes_whose_each_page_is_beside_the_pages(output_dir):
    site = pathlib.Path(output_dir / "latest")
    index = json.loads((site / "access.json").read_text(encoding="utf-8"))
    assert index["clinics"] == {"North Clinic": "north-clinic", "St. Mary's / Eastside": "st-mary-s-eastside"}
    assert {"page": "E001.html", "clinics": ["north-clinic"], "emails": ["jose@example.org"]} in index["people"]
