"""Who may sign in to the dashboards, and which published file each of them may see (README "Serving").

`users.yaml` is a list of `{email, role, clinics, password_hash}`; `ce-compliance users add` writes it. What a
person may see is decided in one place, `file_for`, from the requested path and the person alone, over the
files publication writes: `/<as-of>/...` and `/latest/...`. Anything a role may not see is answered exactly
as a file that does not exist, so no answer tells whether a clinic or a person exists.

To know whose a personal page or a clinic page is, `file_for` reads the site's `access.json`, which
publication writes beside the pages (reports/site.py): clinic name -> page name, and for each personal page
the person's clinic pages and roster email. The site stays static files; the server only reads them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

import argon2
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from pipelines.names import clinic_key, clinic_spellings
from pipelines.yaml_files import read_yaml

ROLES = ("compliance_officer", "auditor", "clinic_manager", "clinician")
SEES_EVERYTHING = ("compliance_officer", "auditor")
SITE_INDEX = "access.json"
LINKS = "/links.json"  # the server's answer to which of a page's links its viewer may open (each page names it for site.js)
LATEST = "latest"
_SITE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class UsersFileError(ValueError):
    """users.yaml cannot be used; the message names the file, the entry and the key."""


def normal_email(text: str) -> str:
    """Emails compare without case or surrounding blanks: the roster's and the sign-in form's alike."""
    return text.strip().casefold()


def _email(value: str) -> str:
    email = normal_email(value)
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"{value!r} is not an email address such as nora@example.org")
    return email


def _argon2id_hash(value: str) -> str:
    """A hash no password could ever match (a bcrypt one, argon2i, a typo) would only ever say "wrong password"."""
    try:
        is_argon2id = argon2.extract_parameters(value).type is argon2.Type.ID
    except argon2.exceptions.InvalidHashError:
        is_argon2id = False
    if not is_argon2id:
        raise ValueError("must be an argon2id hash ($argon2id$...) as `ce-compliance users add` writes it")
    return value


class User(BaseModel):
    """One entry of users.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Annotated[str, AfterValidator(_email)]
    role: Literal[ROLES]  # type: ignore[valid-type]
    clinics: tuple[str, ...] = ()  # clinic names as the roster writes them; clinic_manager only
    password_hash: Annotated[str, AfterValidator(_argon2id_hash)] | None = None  # None: signs in through the single-sign-on proxy only

    @model_validator(mode="after")
    def _clinics_for_managers(self) -> User:
        if self.role == "clinic_manager" and not self.clinics:
            raise ValueError("a clinic_manager needs `clinics`: the names of the clinics they manage")
        if self.role != "clinic_manager" and self.clinics:
            raise ValueError(f"`clinics` is for clinic_manager only; a {self.role} sees what the role allows")
        return self


def _entries(path: pathlib.Path) -> list[Any]:
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"), path.name)
    except FileNotFoundError:
        raise UsersFileError(f"users file {path} does not exist: add users with `ce-compliance users add`") from None
    except OSError as error:
        raise UsersFileError(f"users file {path} cannot be read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UsersFileError(f"{path}: not valid YAML: {error}") from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise UsersFileError(f"{path}: the file must be a list of users ({{email, role, clinics, password_hash}}), got {type(raw).__name__}")
    return raw


def read_users(path: pathlib.Path) -> dict[str, User]:
    """email -> user; any problem raises UsersFileError naming the file, the entry and the key."""
    users: dict[str, User] = {}
    problems = []
    for number, entry in enumerate(_entries(path)):
        email = entry.get("email") if isinstance(entry, dict) else None
        where = f"{path}: entry [{number}]" + (f" ({email})" if isinstance(email, str) else "")
        try:
            user = User.model_validate(entry)
        except ValidationError as error:
            for e in error.errors():
                key = ".".join(str(part) for part in e["loc"])
                if e["type"] == "extra_forbidden":
                    problems.append(f"{where}: `{key}` is not a known key; allowed: {', '.join(User.model_fields)}")
                else:
                    problems.append(f"{where}: {f'`{key}` ' if key else ''}{e['msg'].removeprefix('Value error, ')}")
            continue
        if user.email in users:
            problems.append(f"{where}: {user.email} is listed twice")
        users[user.email] = user
    if problems:
        raise UsersFileError("\n".join(problems))
    return users


def add_user(path: pathlib.Path, user: User) -> str:
    """Add `user` to the users file, or replace the entry with its email; "added" or "updated". The file is
    replaced in one rename and readable by its owner only: it holds password hashes."""
    users = read_users(path) if path.exists() else {}
    outcome = "updated" if user.email in users else "added"
    users[user.email] = user
    entries = [u.model_dump(exclude_defaults=True) for u in users.values()]
    for entry in entries:
        if "clinics" in entry:
            entry["clinics"] = list(entry["clinics"])
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            yaml.safe_dump(entries, f, sort_keys=False, allow_unicode=True)
        os.replace(temporary, path)  # mkstemp's file is mode 0600
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    return outcome


class Users:
    """users.yaml as the server reads it: read again whenever the file changes, so a removed user loses access
    at their next request. A file that turns invalid keeps the last good list and says why on standard error."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users = read_users(path)
        self._stamp = self._stamp_now()

    def _stamp_now(self) -> tuple[int, int] | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_mtime_ns, status.st_size

    def get(self, email: str) -> User | None:
        with self._lock:
            stamp = self._stamp_now()
            if stamp != self._stamp:
                try:
                    self._users = read_users(self.path)
                except UsersFileError as error:
                    print(f"ce-compliance serve: keeping the users read before: {error}", file=sys.stderr, flush=True)
                self._stamp = stamp
            return self._users.get(normal_email(email))


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who is asking: a user of users.yaml, or a roster person signed in through the proxy (a clinician)."""

    email: str
    role: str
    clinics: tuple[str, ...] = ()


EVERYONE = Viewer(email="", role="compliance_officer")  # `serve` without an `access:` section


@dataclasses.dataclass(frozen=True)
class SiteIndex:
    """A site's access.json: who each clinic page and personal page belongs to."""

    clinic_pages: dict[str, str]  # clinic name -> page name without extension ("north-clinic")
    clinics_of_person: dict[str, frozenset[str]]  # personal page ("E001.html") -> the person's clinic page names
    pages_of_email: dict[str, frozenset[str]]  # roster email -> that person's personal pages
    spellings: dict[str, tuple[str, ...]]  # clinic_key -> the roster's spellings of that clinic, in name order

    @classmethod
    def read(cls, path: pathlib.Path) -> SiteIndex:
        data = json.loads(path.read_text(encoding="utf-8"))
        pages_of_email: dict[str, set[str]] = {}
        for person in data["people"]:
            for email in person["emails"]:
                pages_of_email.setdefault(email, set()).add(person["page"])
        return cls(
            clinic_pages=data["clinics"],
            spellings=clinic_spellings(data["clinics"]),
            clinics_of_person={person["page"]: frozenset(person["clinics"]) for person in data["people"]},
            pages_of_email={email: frozenset(pages) for email, pages in pages_of_email.items()},
        )

    def managed_pages(self, clinics: tuple[str, ...]) -> dict[str, str]:
        """The clinic pages (clinic name -> page name) of a manager listed for `clinics`: every roster spelling of
        each (`clinic_key`), as their digest takes them."""
        return {name: self.clinic_pages[name] for clinic in clinics for name in self.spellings.get(clinic_key(clinic), ())}


def site_index_of(clinic_pages: dict[str, str], people: list[tuple[str, list[str], list[str | None]]]) -> dict:
    """access.json's content: clinic name -> page name; for each personal page, the person's clinic page names
    and roster emails (normalised as sign-in compares them)."""
    return {
        "clinics": clinic_pages,
        "people": [
            {"page": page, "clinics": sorted(set(clinics)), "emails": sorted({normal_email(e) for e in emails if e and e.strip()})}
            for page, clinics, emails in people
        ],
    }


class SiteIndexes:
    """The access.json of each site, read once per published version of the site (a rerun replaces the folder)."""

    def __init__(self, output_dir: pathlib.Path):
        self.output_dir = output_dir
        self._lock = threading.Lock()
        self._read: dict[pathlib.Path, tuple[tuple[int, int], SiteIndex]] = {}

    def of(self, site: pathlib.Path) -> SiteIndex | None:
        """None when the site has no index (published before there was one): only everything-roles see it."""
        path = site / SITE_INDEX
        try:
            status = path.stat()
        except FileNotFoundError:
            return None
        stamp = (status.st_ino, status.st_mtime_ns)
        with self._lock:
            cached = self._read.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
        index = SiteIndex.read(path)
        with self._lock:
            if len(self._read) >= 4:  # a handful of sites are looked at: latest and the odd older one
                self._read.pop(next(iter(self._read)))
            self._read[path] = (stamp, index)
        return index

    def latest(self) -> SiteIndex | None:
        return self.of((self.output_dir / LATEST).resolve())


def may_see(viewer: Viewer, inside_site: tuple[str, ...], site_index: Callable[[], SiteIndex | None]) -> bool:
    """Whether `viewer` may see the file at `inside_site` (its path in one site, as parts) under their role;
    `site_index` reads the site's index, for the roles that need it."""
    if viewer.role in SEES_EVERYTHING:
        return True
    if len(inside_site) == 1 and inside_site[0].endswith((".css", ".js")):
        return True  # the stylesheets and scripts every page loads: no one's data in them
    index = site_index() if len(inside_site) == 2 else None
    if index is None:
        return False
    folder, name = inside_site
    if viewer.role == "clinic_manager":
        mine = set(index.managed_pages(viewer.clinics).values())
        if folder == "clinics":
            stem, _, extension = name.rpartition(".")
            return extension in ("html", "csv") and stem in mine
        if folder == "people":
            return bool(index.clinics_of_person.get(name, frozenset()) & mine)
    if viewer.role == "clinician" and folder == "people":
        return name in index.pages_of_email.get(viewer.email, frozenset())
    return False


def file_for(output_dir: pathlib.Path, path: str, viewer: Viewer, indexes: SiteIndexes) -> pathlib.Path | None:
    """The published file that `path` (the request's path, percent-decoded) names and `viewer` may see; None for
    anything else, which the server answers with 404: a path outside a site, a hidden entry (`.staging-*`,
    `.work`), a folder, a file outside the role, anything that resolves outside `output_dir` (`..`, a
    symbolic link out of it) and a path the file system cannot resolve (a name too long, a loop of links)."""
    parts = tuple(path.split("/")[1:]) if path.startswith("/") else ()
    if len(parts) < 2 or any(not part or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None
    site_name, inside_site = parts[0], parts[1:]
    if site_name != LATEST and not _SITE_NAME.fullmatch(site_name):
        return None
    root = output_dir.resolve()
    site = (root / site_name).resolve()
    if site.parent != root:
        return None
    if not may_see(viewer, inside_site, lambda: indexes.of(site)):
        return None
    try:
        target = site.joinpath(*inside_site).resolve()
        return target if target.is_relative_to(site) and target.is_file() else None
    except (OSError, RuntimeError):  # a name too long; a loop of links (RuntimeError from resolve() before Python 3.13)
        return None
