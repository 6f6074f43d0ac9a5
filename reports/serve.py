"""`ce-compliance serve`: the published sites over HTTP, each person seeing what their role allows (README
"Serving").

A Starlette app run by uvicorn. Who is asking comes from a signed session cookie (Starlette's session
middleware, itsdangerous inside) after the sign-in form, or from `trusted_header` on a request from one of
`trusted_proxies` (single sign-on through an authenticating reverse proxy). What they may see is decided by
`reports.access.file_for` alone; everything else is 404. Every response carries the security headers, and
every request is a JSON line in the access log. Without an `access:` section the app serves everything to
everyone, and the command binds 127.0.0.1 only.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hmac
import importlib.resources
import ipaddress
import json
import os
import pathlib
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable

import argon2
import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.settings import Access
from reports.access import EVERYONE, LATEST, LINKS, SEES_EVERYTHING, SiteIndexes, Users, Viewer, file_for, normal_email

# No script but the site's own files (the charts are drawn by site.js from JSON blocks); Plotly and the
# status badges set inline styles, which the policy allows.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"private, no-cache"),
]
SESSION_COOKIE = "ce_session"
MAX_FAILURES = 5  # sign-in failures of one account within FAILURE_WINDOW lock it for LOCK_SECONDS
FAILURE_WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
SIGN_IN_FAILED = "Wrong email or password, or too many failed attempts: wait 15 minutes and try again."
MIN_SECRET_CHARACTERS = 32
MAX_LINKS_BODY_BYTES = 4 << 20  # a clinic page of 5,000 people asks about some 5,000 paths, 0.2 MB

_templates = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"), autoescape=True, undefined=jinja2.StrictUndefined)
_NOT_FOUND = "<!doctype html><title>Not found</title><p>Not found.</p>"


class SignInAttempts:
    """Failed sign-ins per account (any email typed, known or not, so a lock-out tells nothing). A password is
    checked only after `begin` admits the attempt, and each admitted attempt ends in `failed` or `succeeded`:
    attempts still being checked count as failures, so a burst of parallel sign-ins checks no more passwords
    than sign-ins one after another would."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[str, collections.deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._checking: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def begin(self, email: str) -> bool:
        """Whether a password for the account may be checked now: not while it is locked, nor while the
        failures so far and the attempts being checked would reach MAX_FAILURES."""
        now = self.clock()
        with self._lock:
            if self._locked_until.get(email, 0) > now:
                return False
            recent = sum(1 for t in self._failures.get(email, ()) if t > now - FAILURE_WINDOW_SECONDS)
            if recent + self._checking[email] >= MAX_FAILURES:
                return False
            self._checking[email] += 1
            return True

    def _checked(self, email: str) -> None:
        self._checking[email] -= 1
        if self._checking[email] <= 0:
            del self._checking[email]

    def failed(self, email: str) -> bool:
        """Record a failure; True when it locks the account."""
        now = self.clock()
        with self._lock:
            self._checked(email)
            failures = self._failures.setdefault(email, collections.deque())
            failures.append(now)
            while failures and failures[0] <= now - FAILURE_WINDOW_SECONDS:
                failures.popleft()
            if len(failures) >= MAX_FAILURES:
                self._locked_until[email] = now + LOCK_SECONDS
                failures.clear()
                return True
            if len(self._failures) > 100_000:  # someone trying many emails: forget the oldest
                self._failures.pop(next(iter(self._failures)))
            return False

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._checked(email)
            self._failures.pop(email, None)


class Sessions:
    """Signed-in sessions by id: the cookie carries only the id, so signing out ends the session for good, and a
    session ends after `hours` whatever the cookie says. A restart signs everyone out."""

    def __init__(self, hours: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = hours * 3600
        self.clock = clock
        self._emails: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, email: str) -> str:
        now = self.clock()
        with self._lock:
            for sid in [sid for sid, (_, ends) in self._emails.items() if ends <= now]:
                del self._emails[sid]
            sid = secrets.token_urlsafe(32)
            self._emails[sid] = (email, now + self.seconds)
        return sid

    def email_of(self, sid: object) -> str | None:
        with self._lock:
            email, ends = self._emails.get(sid, (None, 0.0)) if isinstance(sid, str) else (None, 0.0)
        return email if ends > self.clock() else None

    def end(self, sid: object) -> None:
        with self._lock:
            if isinstance(sid, str):
                self._emails.pop(sid, None)


class AccessLog:
    """One JSON line per request: when, from where, who (email and role), what (method, path, and the published
    file it served, so that `/latest/...` names its dated site), the status, and the event of a sign-in or
    sign-out. Written through at once: nothing lost when the server stops. Created readable by its owner only:
    it holds who signed in."""

    def __init__(self, path: pathlib.Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = open(descriptor, "a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")


@dataclasses.dataclass
class _Deployment:
    output_dir: pathlib.Path
    access: Access | None
    users: Users | None
    sessions: Sessions | None
    attempts: SignInAttempts
    indexes: SiteIndexes
    proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    hasher: argon2.PasswordHasher
    unknown_user_hash: str  # verified against when the email is unknown, so both take as long


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""


def _trusted(deployment: _Deployment, peer: str) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in deployment.proxies)


def viewer_of(request: Request) -> Viewer | None:
    """Who the request is from; None when not signed in."""
    deployment: _Deployment = request.app.state.deployment
    if deployment.access is None:
        return EVERYONE
    header = deployment.access.trusted_header
    if header and request.headers.get(header) and _trusted(deployment, _peer(request.scope)):
        email = normal_email(request.headers[header])
        user = deployment.users.get(email)
        if user is not None:
            return Viewer(user.email, user.role, user.clinics)
        latest = deployment.indexes.latest()
        if latest is not None and email in latest.pages_of_email:
            return Viewer(email, "clinician")  # a current roster person
        return Viewer(email, "none")  # signed in by the proxy, but no one here: sees nothing
    email = deployment.sessions.email_of(request.session.get("sid"))
    user = deployment.users.get(email) if email else None
    return Viewer(user.email, user.role, user.clinics) if user else None


def _remember(request: Request, viewer: Viewer | None, event: str | None = None) -> None:
    """What the access log says of this request."""
    if viewer is not None and viewer is not EVERYONE:
        request.state.email, request.state.role = viewer.email, viewer.role
    if event:
        request.state.event = event


def _who_asks(request: Request) -> Viewer | None:
    """viewer_of, noted for the access log."""
    viewer = viewer_of(request)
    _remember(request, viewer)
    return viewer


def _to_sign_in(request: Request, then: str | None = None) -> Response:
    """To the sign-in form, which leads back to `then` (default: the path asked for)."""
    return RedirectResponse("/login?" + urllib.parse.urlencode({"next": then or request.url.path}), status_code=303)


def _safe_next(target: str) -> str:
    """Only a path of this server: never `//elsewhere` or a full URL."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _sign_in_form(request: Request, message: str = "", status_code: int = 200) -> Response:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    page = _templates.get_template("login.html").render(
        csrf_token=token, next=_safe_next(request.query_params.get("next", "/")), message=message
    )
    return HTMLResponse(page, status_code=status_code)


async def sign_in_page(request: Request) -> Response:
    if request.app.state.deployment.access is None:
        return RedirectResponse("/", status_code=303)
    return _sign_in_form(request)


async def sign_in(request: Request) -> Response:
    deployment: _Deployment = request.app.state.deployment
    if deployment.access is None:
        return RedirectResponse("/", status_code=303)
    form = await request.form()
    expected = request.session.get("csrf")
    given = form.get("csrf_token")
    if not (isinstance(expected, str) and isinstance(given, str) and hmac.compare_digest(expected, given)):
        _remember(request, None, "sign_in_refused_no_csrf_token")
        request.session.pop("csrf", None)
        return _sign_in_form(request, "The sign-in form had expired; please sign in again.", status_code=400)
    email = normal_email(str(form.get("email", "")))
    password = str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))
    request.state.email = email
    user = deployment.users.get(email)
    if not deployment.attempts.begin(email):
        _remember(request, None, "sign_in_refused_locked")
        return _sign_in_form(request, SIGN_IN_FAILED, status_code=401)
    stored = user.password_hash if user and user.password_hash else deployment.unknown_user_hash
    right = False
    try:
        right = bool(await run_in_threadpool(_verify, deployment.hasher, stored, password) and user and user.password_hash)
    finally:  # an attempt admitted ends as a failure unless the password was right, even when the request is cancelled
        locked = False if right else deployment.attempts.failed(email)
    if not right:
        _remember(request, None, "sign_in_failed_account_locked" if locked else "sign_in_failed")
        return _sign_in_form(request, SIGN_IN_FAILED, status_code=401)
    deployment.attempts.succeeded(email)
    request.session.clear()  # a new session, and a new CSRF token, on every sign-in
    request.session["sid"] = deployment.sessions.start(user.email)
    request.session["csrf"] = secrets.token_urlsafe(32)
    _remember(request, Viewer(user.email, user.role, user.clinics), "signed_in")
    return RedirectResponse(target, status_code=303)


def _verify(hasher: argon2.PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


async def sign_out(request: Request) -> Response:
    deployment: _Deployment = request.app.state.deployment
    if deployment.access is None:
        return RedirectResponse("/", status_code=303)
    _remember(request, viewer_of(request), "signed_out")
    deployment.sessions.end(request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def stylesheet(request: Request) -> Response:
    """The sign-in page's stylesheet: the sites' own, from the package (no one needs to be signed in)."""
    css = importlib.resources.files("reports").joinpath("templates/site.css").read_bytes()
    return Response(css, media_type="text/css")


async def home(request: Request) -> Response:
    """Links to what the person may see in the latest site (and, for the everything-roles, every site)."""
    viewer = _who_asks(request)
    if viewer is None:
        return _to_sign_in(request)
    deployment: _Deployment = request.app.state.deployment
    links: list[tuple[str, str]] = []
    if viewer.role in SEES_EVERYTHING:
        links.append((f"/{LATEST}/index.html", "Organisation overview, latest"))
        sites = sorted((p.name for p in deployment.output_dir.glob("????-??-??") if p.is_dir()), reverse=True)
        links += [(f"/{site}/index.html", f"Organisation overview as of {site}") for site in sites]
    else:
        index = deployment.indexes.latest()
        if index is not None and viewer.role == "clinic_manager":
            links += [(f"/{LATEST}/clinics/{page}.html", clinic) for clinic, page in index.managed_pages(viewer.clinics).items()]
        if index is not None and viewer.role == "clinician":
            pages = sorted(index.pages_of_email.get(viewer.email, ()))
            links += [(f"/{LATEST}/people/{urllib.parse.quote(page)}", "Your CE compliance page") for page in pages]
    return HTMLResponse(_templates.get_template("home.html").render(links=links, email=viewer.email))  # EVERYONE's is empty


async def published_file(request: Request) -> Response:
    viewer = _who_asks(request)
    if viewer is None:
        return _to_sign_in(request)
    deployment: _Deployment = request.app.state.deployment
    target = file_for(deployment.output_dir, request.url.path, viewer, deployment.indexes)
    if target is None:
        return HTMLResponse(_NOT_FOUND, status_code=404)
    request.state.file = target.relative_to(deployment.output_dir.resolve()).as_posix()
    return FileResponse(target)


async def allowed_links(request: Request) -> Response:
    """Of the paths a page links to (`{"paths": [...]}`, as the browser writes them, percent-encoded), those
    the viewer may open, and who is signed in: site.js turns every other link into plain text and shows the
    email with a sign-out link, so that no page offers a link that answers 404."""
    viewer = _who_asks(request)
    if viewer is None:  # as every request not signed in; the page's script then keeps its links
        return _to_sign_in(request, then="/")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LINKS_BODY_BYTES:
            return JSONResponse({"error": f"at most {MAX_LINKS_BODY_BYTES} bytes of paths"}, status_code=413)
    try:
        paths = json.loads(body)["paths"]
    except (ValueError, KeyError, TypeError):
        paths = None
    if not (isinstance(paths, list) and all(isinstance(path, str) for path in paths)):
        return JSONResponse({"error": 'expected {"paths": ["/latest/index.html", ...]}'}, status_code=400)
    deployment: _Deployment = request.app.state.deployment

    def may_open(path: str) -> bool:
        decoded = urllib.parse.unquote(path)
        return decoded in ("/", "/logout") or file_for(deployment.output_dir, decoded, viewer, deployment.indexes) is not None

    allowed = await run_in_threadpool(lambda: [path for path in dict.fromkeys(paths) if may_open(path)])
    return JSONResponse({"email": viewer.email, "allowed": allowed})


class SecurityHeaders:
    """The same security headers on every response, the 404s and redirects included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


class LogRequests:
    """Every request as a line of the access log, written as its response starts (before its body: whoever got
    a file is in the log by the time they have it), or with status 500 when none started."""

    def __init__(self, app: ASGIApp, log: AccessLog | None):
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.log is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logged = False

        def write(status: int) -> None:
            nonlocal logged
            logged = True
            state = scope.get("state", {})
            self.log.write(
                {
                    "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "peer": _peer(scope),
                    "email": state.get("email"),
                    "role": state.get("role"),
                    "method": scope["method"],
                    "path": scope["path"],
                    **({"file": state["file"]} if "file" in state else {}),
                    "status": status,
                    **({"event": state["event"]} if "event" in state else {}),
                }
            )

        async def send_and_log(message: Message) -> None:
            if message["type"] == "http.response.start" and not logged:
                write(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_log)
        finally:
            if not logged:
                write(500)


def build_app(output_dir: pathlib.Path, access: Access | None = None, secret: str | None = None) -> Starlette:
    """The server for `output_dir`: with `access` (and its `secret`), signed-in people only, each seeing what
    their role allows; without, everything to everyone."""
    routes = [
        Route("/", home, methods=["GET", "HEAD"]),
        Route("/login", sign_in_page, methods=["GET", "HEAD"]),
        Route("/login", sign_in, methods=["POST"]),
        Route("/logout", sign_out, methods=["GET", "POST"]),
        Route("/site.css", stylesheet, methods=["GET", "HEAD"]),
        Route(LINKS, allowed_links, methods=["POST"]),
        Route("/{path:path}", published_file, methods=["GET", "HEAD"]),
    ]
    middleware = [Middleware(LogRequests, log=AccessLog(access.access_log) if access else None), Middleware(SecurityHeaders)]
    if access is not None:
        if not secret:
            raise ValueError("signing session cookies needs a secret")
        middleware.append(
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie=SESSION_COOKIE,
                max_age=round(access.session_hours * 3600),
                same_site="lax",
                https_only=access.secure_cookies,
            )
        )
    app = Starlette(routes=routes, middleware=middleware)
    hasher = argon2.PasswordHasher()  # argon2id with the library's recommended cost
    app.state.deployment = _Deployment(
        output_dir=output_dir,
        access=access,
        users=Users(access.users_file) if access else None,
        sessions=Sessions(access.session_hours) if access else None,
        attempts=SignInAttempts(),
        indexes=SiteIndexes(output_dir),
        proxies=tuple(ipaddress.ip_network(p) for p in access.trusted_proxies) if access else (),
        hasher=hasher,
        unknown_user_hash=hasher.hash(secrets.token_urlsafe(16)),
    )
    return app


def server_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    """uvicorn as `serve` runs it: the peer address is the connection's own (no X-Forwarded-For rewriting,
    which `trusted_proxies` relies on), no server header, our access log instead of uvicorn's."""
    return uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False, access_log=False, log_level="warning")
