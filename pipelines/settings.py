"""The deployment's configuration file (docs/configuration.md), read once per run.

Two layers: the file as written, pydantic models (`DeploymentFile` and its sections) that refuse any
key they do not declare; and the `Settings` a run uses, with paths resolved, layouts applied,
vocabularies case-folded and the run's today. Every path is resolved here, so the rest of the code
never joins strings into paths. A problem raises `ConfigError` naming the file, where the key stands
and what was expected: a bad configuration stops the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import pathlib
import re
import typing
import zoneinfo
from typing import Annotated, Any

import polars as pl
import yaml
from dagster._utils.schedules import is_valid_cron_string
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator

from pipelines.notifications.settings import NotificationSettings
from pipelines.yaml_files import read_yaml

CATEGORIES = (
    "general",
    "ethics",
    "law",
    "cultural_competency",
    "suicide_prevention",
    "supervision",
    "substance_use",
    "domestic_violence",
    "pain_management",
    "hiv_aids",
    "implicit_bias",
    "human_trafficking",
    "professional_boundaries",
    "medical_errors",
    "sexual_harassment_prevention",
    "telehealth",
    "crisis_management",
    "dementia",
    "child_abuse",
)
DELIVERIES = ("live", "live_online", "self_study")
CREDIT_UNITS = ("hours", "CEU")
HOURS_PER_CEU = 10  # IACET: one CEU is ten contact hours

ROSTER_COLUMNS = (
    "employee_id",
    "first_name",
    "last_name",
    "email",
    "clinic",
    "job_title",
    "employment_status",
    "termination_date",
    "license_type",
    "license_state",
    "license_number",
    "license_issue_date",
    "license_expiration_date",
    "roles",
)
ROSTER_REQUIRED_COLUMNS = (
    "employee_id",
    "first_name",
    "last_name",
    "clinic",
    "employment_status",
    "license_type",
    "license_state",
    "license_number",
    "license_expiration_date",
)
CREDIT_COLUMNS = (
    "license_number",
    "license_state",
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "course_id",
    "course_title",
    "provider",
    "accreditation",
    "completion_date",
    "hours",
    "category",
    "delivery",
)
CREDIT_REQUIRED_COLUMNS = ("course_title", "completion_date", "hours")
# A credit file must carry at least one way to name its person (docs/inputs.md).
CREDIT_PERSON_KEYS = (("license_state", "license_number"), ("employee_id",), ("email",))
COURSE_CATALOG_COLUMNS = (
    "course_id",
    "course_title",
    "provider",
    "accreditation",
    "hours",
    "category",
    "delivery",
    "cost",
    "states",
)
COURSE_CATALOG_REQUIRED_COLUMNS = ("course_id", "hours", "cost")
ADJUSTMENT_COLUMNS = (
    "employee_id",
    "license_state",
    "license_type",
    "kind",
    "requirement",
    "hours",
    "until",
    "cycle_end",
    "reference",
    "entered_by",
    "entered_on",
    "note",
)
ADJUSTMENT_REQUIRED_COLUMNS = ("employee_id", "license_state", "license_type", "kind", "reference")
ADJUSTMENT_KINDS = ("extension", "waiver", "exemption", "prior_completion", "carry_over")
# A provider whose newest completion is older than this many days (before the as-of date) is stale:
# monthly exports plus a few days' slack.
DEFAULT_MAX_AGE_DAYS = 35
ISO_DATE = "%Y-%m-%d"  # the date format of a file whose configuration names none


@dataclasses.dataclass(frozen=True)
class Layout:
    """How a provider's files name the canonical columns, and how they write dates and credit."""

    columns: dict[str, str]
    date_format: str
    credit_unit: str  # hours | CEU | column:<header>


BUILT_IN_LAYOUTS: dict[str, Layout] = {
    "board_report": Layout(
        columns={
            "license_number": "License Number",
            "license_state": "License State",
            "first_name": "First Name",
            "last_name": "Last Name",
            "course_title": "Course Title",
            "course_id": "Course ID",
            "provider": "Provider Name",
            "accreditation": "Accreditation",
            "completion_date": "Completion Date",
            "hours": "Hours",
            "category": "Subject Area",
            "delivery": "Delivery Method",
        },
        date_format=ISO_DATE,
        credit_unit="hours",
    ),
    "lms_export": Layout(
        columns={
            "employee_id": "Employee ID",
            "email": "Email",
            "course_title": "Course Title",
            "course_id": "Course Code",
            "completion_date": "Completed On",
            "hours": "Credits",
            "category": "Category",
            "delivery": "Format",
        },
        date_format="%m/%d/%Y",
        credit_unit="column:Credit Unit",
    ),
}


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the key."""


@dataclasses.dataclass(frozen=True)
class InputSource:
    """One kind of input file: the roster, a CE provider, the course catalog or the adjustments.

    Its fields are the fingerprint that decides whether a landed file is staged again
    (`pipelines.ingestion.source_fingerprint`), so they stay what the file means, not how it is spelt."""

    kind: str  # roster | provider | course_catalog | adjustments
    name: str
    path: str  # glob, relative to landing_dir
    columns: dict[str, str]  # canonical column -> the file's header
    date_format: str = ISO_DATE
    credit_unit: str = "hours"
    categories: dict[str, str] = dataclasses.field(default_factory=dict)  # case-folded file value -> vocabulary
    delivery: dict[str, str] = dataclasses.field(default_factory=dict)
    max_age_days: int = DEFAULT_MAX_AGE_DAYS  # providers: freshness limit of their newest export

    def header_for(self, canonical: str) -> str:
        return self.columns.get(canonical, canonical)

    @property
    def unit_column(self) -> str | None:
        return self.credit_unit.removeprefix("column:") if self.credit_unit.startswith("column:") else None


@dataclasses.dataclass(frozen=True)
class Schedule:
    """When the nightly run starts: a cron expression in an IANA timezone."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"


@dataclasses.dataclass(frozen=True)
class Access:
    """Who may sign in to `ce-compliance serve` and how (README "Serving"); paths resolved."""

    users_file: pathlib.Path
    secret_env: str  # the environment variable that holds the key signing session cookies
    trusted_header: str | None  # identity set by an authenticating reverse proxy; None: sign-in form only
    trusted_proxies: tuple[str, ...]  # addresses or networks whose trusted_header is believed
    session_hours: float
    secure_cookies: bool
    access_log: pathlib.Path


DEFAULT_MIN_ROSTER_SHARE = 0.8
DEFAULT_CURRENCY = "USD"


@dataclasses.dataclass(frozen=True)
class Settings:
    config_file: pathlib.Path
    landing_dir: pathlib.Path
    rules_catalog: pathlib.Path
    output_dir: pathlib.Path
    warehouse: pathlib.Path
    at_risk_days: int
    roster: InputSource
    providers: tuple[InputSource, ...]
    course_catalog: InputSource | None
    training_budget_per_clinician: float | None
    started_at: dt.datetime  # the run's clock (UTC): when these settings were loaded
    today: dt.date  # started_at's date in schedule.timezone
    adjustments: InputSource | None = None  # the compliance officer's file of board decisions
    as_of: dt.date | None = None  # None: today
    schedule: Schedule = Schedule()
    regions: dict[str, pathlib.Path] = dataclasses.field(default_factory=dict)  # region -> its deployment file
    warehouse_memory_limit: str | None = None  # DuckDB's memory_limit, e.g. "2GB"; None: DuckDB's default (80% of RAM)
    min_roster_share: float = DEFAULT_MIN_ROSTER_SHARE  # of the last published run's roster licenses, or the run stops
    archive_dir: pathlib.Path | None = None  # every landing file version staged, by SHA-256; load_settings: <warehouse folder>/landing-archive
    notifications: NotificationSettings | None = None  # reminders and digests by email; None: nothing is sent
    access: Access | None = None  # signed-in serving; None: `serve` shows everything, on 127.0.0.1 only
    currency: str = DEFAULT_CURRENCY  # of course costs and the training budget, shown beside every cost

    def resolved_as_of(self) -> dt.date:
        return self.as_of or self.today

    def history_cutoff(self) -> dt.datetime | None:
        """For an as-of date before today: the instant that date ended in schedule.timezone, as the landing
        history stores instants (naive UTC); a rerun reads the file versions first seen before it. None
        for a run as of today, which reads the landing folder as it is."""
        as_of = self.resolved_as_of()
        if as_of >= self.today:
            return None
        day_after = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), zoneinfo.ZoneInfo(self.schedule.timezone))
        return day_after.astimezone(dt.UTC).replace(tzinfo=None)

    @property
    def input_sources(self) -> tuple[InputSource, ...]:
        """Every input the configuration reads from the landing folder."""
        return tuple(s for s in (self.roster, *self.providers, self.course_catalog, self.adjustments) if s is not None)

    @property
    def work_dir(self) -> pathlib.Path:
        """Scratch space of a run (validation reports before publication); never published as is."""
        return self.output_dir / ".work"

    @property
    def data_docs_dir(self) -> pathlib.Path:
        return self.work_dir / "data-docs"


def today_in(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """The calendar day `now` (default: this instant) falls on in `timezone`."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(zoneinfo.ZoneInfo(timezone)).date()


# --- The file as written: every section a pydantic model that refuses keys it does not declare. ---
# A validator raises ValueError with what was expected; `_config_error` puts the file and the key path
# in front, so each message is written once, next to the rule it states.


def _text(value: Any) -> Any:
    """YAML reads a header such as 2024 or a value such as 1 as a number; in a mapping they are text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _one_of(allowed: tuple[str, ...], what: str):
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"is {value!r}, which is not {what}: {', '.join(allowed)}")
        return value

    return AfterValidator(check)


def _whole_days(minimum: int):
    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"must be a whole number of days >= {minimum}, got {value!r}")
        return value

    return BeforeValidator(check)


# A day, month and year apart from each other: a date format that reads it back names all three.
_FORMAT_PROBE = dt.date(2031, 12, 25)


def _date_format(value: Any) -> str:
    """A pattern that reads a date back as the files' parser (Polars) reads it: `%Q/%d` or a stray `%`
    would otherwise make every date of the input unreadable, run after run."""
    expected = f"must be a strftime pattern of a day, month and year such as \"%m/%d/%Y\", got {value!r}"
    if not isinstance(value, str) or "%" not in value:
        raise ValueError(expected)
    try:
        read_back = pl.Series([_FORMAT_PROBE.strftime(value)]).str.to_date(value, strict=False).item()
    except (ValueError, pl.exceptions.PolarsError):
        read_back = None
    if read_back != _FORMAT_PROBE:
        raise ValueError(expected)
    return value


def _glob(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a glob under landing_dir such as providers/acme/*.csv, got {value!r}")
    glob = pathlib.PurePath(value)
    if glob.is_absolute() or ".." in glob.parts:
        raise ValueError(f"must be a glob relative to landing_dir and inside it (no leading / and no ..), got {value!r}")
    return value


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a path, got {value!r}")
    return value


def _fraction(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
        raise ValueError(f"must be a fraction greater than 0 and at most 1 (such as 0.8), got {value!r}")
    return float(value)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
_SIZE_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _memory_limit(value: Any) -> str:
    if not (isinstance(value, str) and _SIZE.fullmatch(value.strip())):
        raise ValueError(f"must be a size such as \"2GB\", got {value!r}")
    return value.strip()


def size_in_bytes(size: str) -> int:
    """A size as DuckDB reads it ("2GB" is 2 * 1000^3 bytes, "2GiB" 2 * 1024^3)."""
    number, unit = _SIZE.fullmatch(size.strip()).groups()
    return int(float(number) * _SIZE_UNITS[unit])


def _credit_unit(value: Any) -> str:
    if value not in CREDIT_UNITS and not (isinstance(value, str) and value.startswith("column:") and len(value) > 7):
        raise ValueError(f"is {value!r}; expected hours, CEU or column:<header>")
    return value


def _cron(value: Any) -> str:
    # Dagster's own check, which the schedule's definition applies: a field out of range (`99 2 * * *`) fails here.
    if not isinstance(value, str) or len(value.split()) != 5 or not is_valid_cron_string(value):
        raise ValueError(f"must be a cron expression such as \"0 2 * * *\", got {value!r}")
    return value


def _timezone(value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA timezone such as America/Chicago, got {value!r}") from None
    return str(value)


def _as_of(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    elif value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    raise ValueError(f"must be a date in the form YYYY-MM-DD, got {value!r}")


def _region_file(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be the path of that region's configuration file")
    return value


def _budget(value: Any) -> int | float | None:
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
        raise ValueError(f"must be a number >= 0, got {value!r}")
    return value


def _proxy(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise ValueError(f"must be an IP address or network such as 127.0.0.1 or 10.0.0.0/24, got {value!r}") from None


def _header_name(value: Any) -> str:
    if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9-]+", value)):
        raise ValueError(f"must be an HTTP header name such as X-Forwarded-Email, got {value!r}")
    return value


def _variable_name(value: Any) -> str:
    if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value)):
        raise ValueError(f"must be the name of an environment variable such as CE_SESSION_SECRET, got {value!r}")
    return value


def _hours(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a number of hours greater than 0, got {value!r}")
    return float(value)


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(f"must be a three-letter ISO 4217 currency code such as USD or EUR, got {value!r}")
    return value


def _mapping_or_empty(value: Any) -> Any:
    """`key:` with nothing after it (YAML null) means the section's defaults."""
    return {} if value is None else value


Text = Annotated[str, BeforeValidator(_text)]
PathText = Annotated[str, BeforeValidator(_path)]
Glob = Annotated[str, BeforeValidator(_glob)]
DateFormat = Annotated[str, BeforeValidator(_date_format)]
Category = Annotated[Text, _one_of(CATEGORIES, "a category")]
Delivery = Annotated[Text, _one_of(DELIVERIES, "a delivery")]
Categories = Annotated[dict[Text, Category], BeforeValidator(_mapping_or_empty)]
Deliveries = Annotated[dict[Text, Delivery], BeforeValidator(_mapping_or_empty)]


def _columns(known: tuple[str, ...]):
    """canonical column -> the file's header, where the canonical names are `known`."""

    def check(name: str) -> str:
        if name not in known:
            raise ValueError(f"is not a canonical column; known: {', '.join(known)}")
        return name

    canonical = Annotated[str, AfterValidator(check)]
    return Annotated[dict[canonical, Text], BeforeValidator(_mapping_or_empty)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RosterFile(_Section):
    path: Glob = "roster/*"
    columns: _columns(ROSTER_COLUMNS) = {}
    date_format: DateFormat = ISO_DATE


class ProviderFile(_Section):
    name: Text = Field(min_length=1, description="a short name for the provider")
    path: Glob = Field(description="a glob under landing_dir")
    layout: Annotated[Text, _one_of(tuple(BUILT_IN_LAYOUTS), "a built-in layout")] | None = None
    columns: _columns(CREDIT_COLUMNS) = {}
    date_format: DateFormat | None = None  # None: the layout's, else ISO
    credit_unit: Annotated[Text, BeforeValidator(_credit_unit)] | None = None
    categories: Categories = {}
    delivery: Deliveries = {}
    max_age_days: Annotated[int, _whole_days(1)] = DEFAULT_MAX_AGE_DAYS

    @model_validator(mode="after")
    def _layout_or_columns(self) -> ProviderFile:
        if self.layout is None and not self.columns:
            raise ValueError(f"needs either `layout` ({', '.join(BUILT_IN_LAYOUTS)}) or `columns`")
        return self


class CourseCatalogFile(_Section):
    path: Glob = Field(description="a glob under landing_dir")
    columns: _columns(COURSE_CATALOG_COLUMNS) = {}
    categories: Categories = {}
    delivery: Deliveries = {}


class AdjustmentsFile(_Section):
    path: Glob = Field(description="a glob under landing_dir")
    columns: _columns(ADJUSTMENT_COLUMNS) = {}
    date_format: DateFormat = ISO_DATE


class TrainingBudget(_Section):
    per_clinician: Annotated[int | float | None, BeforeValidator(_budget)] = None


class ScheduleFile(_Section):
    cron: Annotated[str, BeforeValidator(_cron)] = Schedule.cron
    timezone: Annotated[str, BeforeValidator(_timezone)] = Schedule.timezone


class AccessFile(_Section):
    users: PathText = "users.yaml"
    secret_env: Annotated[str, BeforeValidator(_variable_name)] = Field(
        description="the environment variable holding the key that signs session cookies, such as CE_SESSION_SECRET"
    )
    trusted_header: Annotated[str, BeforeValidator(_header_name)] | None = None
    trusted_proxies: Annotated[list[Annotated[str, BeforeValidator(_proxy)]], BeforeValidator(lambda v: [] if v is None else v)] = ["127.0.0.1/32"]
    session_hours: Annotated[float, BeforeValidator(_hours)] = 8
    secure_cookies: StrictBool = True
    access_log: PathText = "access.log"


class DeploymentFile(_Section):
    """The whole configuration file (docs/configuration.md)."""

    landing_dir: PathText = "landing"
    rules_catalog: PathText = "rules.yaml"
    output_dir: PathText = "published"
    warehouse: PathText = "warehouse.duckdb"
    archive_dir: PathText | None = None  # default: landing-archive beside the warehouse
    warehouse_memory_limit: Annotated[str, BeforeValidator(_memory_limit)] | None = None
    at_risk_days: Annotated[int, _whole_days(0)] = 90
    min_roster_share: Annotated[float, BeforeValidator(_fraction)] = DEFAULT_MIN_ROSTER_SHARE
    as_of: Annotated[dt.date | None, BeforeValidator(_as_of)] = None
    schedule: Annotated[ScheduleFile, BeforeValidator(_mapping_or_empty)] = ScheduleFile()
    regions: Annotated[dict[Text, Annotated[str, BeforeValidator(_region_file)]], BeforeValidator(_mapping_or_empty)] = {}
    roster: Annotated[RosterFile, BeforeValidator(_mapping_or_empty)] = RosterFile()
    providers: Annotated[list[ProviderFile], BeforeValidator(lambda v: [] if v is None else v)] = []
    course_catalog: CourseCatalogFile | None = None
    adjustments: AdjustmentsFile | None = None
    training_budget: Annotated[TrainingBudget, BeforeValidator(_mapping_or_empty)] = TrainingBudget()
    currency: Annotated[str, BeforeValidator(_currency)] = DEFAULT_CURRENCY
    notifications: NotificationSettings | None = None
    access: Annotated[AccessFile | None, BeforeValidator(_mapping_or_empty)] = None  # `access:` alone still needs secret_env

    @field_validator("providers")
    @classmethod
    def _unique_names(cls, providers: list[ProviderFile]) -> list[ProviderFile]:
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"must have unique names, got {names}")
        return providers


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The section model that the key path `loc` stands in (what lists its allowed keys)."""
    model: type[BaseModel] | None = DeploymentFile
    for item in loc:
        if isinstance(item, str) and model is not None:
            field = model.model_fields.get(item)
            model = _model_in(field.annotation) if field else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, typing.get_args(annotation)) if m is not None), None)


def _key_path(raw: Any, loc: tuple) -> str:
    """`providers[1] (lms).date_fromat`: where the key stands, with the provider's name when it has one."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if item == "[key]":  # pydantic's marker for a mapping key that failed, after the key itself
            continue
        if isinstance(item, int) and parts:
            node = node[item] if isinstance(node, list) and item < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            parts[-1] += f"[{item}]" + (f" ({name})" if isinstance(name, str) and name else "")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(str(item))
    return ".".join(parts)


def _problem(raw: Any, error: dict) -> str:
    loc = error["loc"]
    where = f"`{_key_path(raw, loc)}`" if loc else "the file"
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else "none"
        section = f"under `{_key_path(raw, loc[:-1])}`" if loc[:-1] else "at the top level"
        return f"{where} is not a known key; allowed {section}: {allowed}"
    if kind == "missing":
        field = _model_at(loc[:-1]).model_fields[loc[-1]]
        return f"{where} is required" + (f" ({field.description})" if field.description else "")
    if kind == "value_error":
        return f"{where} {error['ctx']['error']}"
    if kind in ("model_type", "dict_type"):
        return f"{where} must be a mapping, got {type(value).__name__}"
    if kind == "list_type":
        return f"{where} must be a list, got {type(value).__name__}"
    if kind == "string_type":
        return f"{where} must be text, got {value!r}"
    if kind == "string_too_short":
        field = _model_at(loc[:-1]).model_fields[loc[-1]]
        return f"{where} is required" + (f" ({field.description})" if field.description else "")
    return f"{where}: {error['msg'][0].lower()}{error['msg'][1:]}, got {value!r}"


def _config_error(config_file: pathlib.Path, raw: Any, error: ValidationError) -> ConfigError:
    return ConfigError("\n".join(f"{config_file}: {_problem(raw, e)}" for e in error.errors()))


def parse_deployment_file(config_file: pathlib.Path) -> DeploymentFile:
    try:
        raw = read_yaml(config_file.read_text(encoding="utf-8"), config_file.name)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {config_file} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"configuration file {config_file} is a folder: name the YAML file, such as config.yaml") from None
    except OSError as error:
        raise ConfigError(f"configuration file {config_file} cannot be read: {error.strerror}") from None
    except (yaml.YAMLError, ValueError) as error:  # PyYAML raises ValueError for a date such as 2026-13-01
        raise ConfigError(f"{config_file}: not valid YAML: {error}") from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_file}: the file must be a mapping of keys (landing_dir, roster, providers, ...), got {type(raw).__name__}")
    try:
        return DeploymentFile.model_validate(raw)
    except ValidationError as error:
        raise _config_error(config_file, raw, error) from None


# --- The file as the run uses it: paths resolved, layouts applied, vocabularies case-folded. ---


def _vocabulary(mapping: dict[str, str]) -> dict[str, str]:
    return {value.strip().casefold(): target for value, target in mapping.items()}


def _provider(provider: ProviderFile) -> InputSource:
    layout = BUILT_IN_LAYOUTS.get(provider.layout) if provider.layout else None
    return InputSource(
        kind="provider",
        name=provider.name,
        path=provider.path,
        columns={**(layout.columns if layout else {}), **provider.columns},
        date_format=provider.date_format or (layout.date_format if layout else ISO_DATE),
        credit_unit=provider.credit_unit or (layout.credit_unit if layout else "hours"),
        categories=_vocabulary(provider.categories),
        delivery=_vocabulary(provider.delivery),
        max_age_days=provider.max_age_days,
    )


def load_settings(
    config_file: str | pathlib.Path, as_of: dt.date | str | None = None, now: dt.datetime | None = None
) -> Settings:
    """Parse and check the configuration file; `as_of` (the command line's or the run's) wins over the file's.

    `now` is the run's clock (default: this instant; UTC if it names no offset); `today` is its date in the
    schedule's timezone, and an as-of date after it is a configuration error."""
    config_file = pathlib.Path(config_file).resolve()
    file = parse_deployment_file(config_file)
    try:
        as_of = _as_of(as_of) or file.as_of
    except ValueError as error:
        raise ConfigError(f"{config_file}: the as-of date {error}") from None
    now = now or dt.datetime.now(dt.UTC)
    started_at = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    today = today_in(file.schedule.timezone, started_at)
    if as_of is not None and as_of > today:
        raise ConfigError(
            f"{config_file}: the as-of date {as_of.isoformat()} is after today, {today.isoformat()} in "
            f"{file.schedule.timezone} (schedule.timezone): a run cannot evaluate a day that has not come"
        )
    base = config_file.parent
    catalog, adjustments = file.course_catalog, file.adjustments
    output_dir = (base / file.output_dir).resolve()
    warehouse = (base / file.warehouse).resolve()
    if warehouse.is_dir():
        raise ConfigError(f"{config_file}: `warehouse` {warehouse} is a folder: name the DuckDB file, such as warehouse.duckdb")
    landing_dir, rules_catalog = (base / file.landing_dir).resolve(), (base / file.rules_catalog).resolve()
    if landing_dir.exists() and not landing_dir.is_dir():
        raise ConfigError(f"{config_file}: `landing_dir` {landing_dir} is a file: name the folder HR and the providers drop their files in")
    if rules_catalog.is_dir():
        raise ConfigError(f"{config_file}: `rules_catalog` {rules_catalog} is a folder: name the YAML file, such as rules.yaml")
    archive_dir = (base / (file.archive_dir or pathlib.Path(file.warehouse).parent / "landing-archive")).resolve()
    outbox = file.notifications and file.notifications.outbox and (base / file.notifications.outbox).resolve()
    written = {"output_dir": output_dir, "warehouse": warehouse, "archive_dir": archive_dir}
    if outbox:
        written["notifications.outbox"] = outbox
    for key, path in written.items():
        if path.is_relative_to(landing_dir):
            raise ConfigError(
                f"{config_file}: `{key}` {path} is inside landing_dir {landing_dir}: every run would write there, and the "
                "landing sensor, taking that for new input, would start the next run; put it beside landing_dir"
            )
    regions = {region: (base / region_file).resolve() for region, region_file in file.regions.items()}
    for region, region_file in regions.items():
        if not region_file.is_file():
            raise ConfigError(f"{config_file}: `regions.{region}`: {region_file} is not a configuration file")
    return Settings(
        config_file=config_file,
        landing_dir=landing_dir,
        rules_catalog=rules_catalog,
        output_dir=output_dir,
        warehouse=warehouse,
        archive_dir=archive_dir,
        at_risk_days=file.at_risk_days,
        warehouse_memory_limit=file.warehouse_memory_limit,
        min_roster_share=file.min_roster_share,
        roster=InputSource(
            kind="roster", name="roster", path=file.roster.path, columns=dict(file.roster.columns), date_format=file.roster.date_format
        ),
        providers=tuple(map(_provider, file.providers)),
        course_catalog=catalog and InputSource(
            kind="course_catalog",
            name="course_catalog",
            path=catalog.path,
            columns=dict(catalog.columns),
            categories=_vocabulary(catalog.categories),
            delivery=_vocabulary(catalog.delivery),
        ),
        adjustments=adjustments and InputSource(
            kind="adjustments", name="adjustments", path=adjustments.path, columns=dict(adjustments.columns), date_format=adjustments.date_format
        ),
        training_budget_per_clinician=file.training_budget.per_clinician,
        currency=file.currency,
        started_at=started_at,
        today=today,
        as_of=as_of,
        schedule=Schedule(cron=file.schedule.cron, timezone=file.schedule.timezone),
        regions=regions,
        notifications=file.notifications and file.notifications.model_copy(update={"outbox": outbox}),
        access=file.access and _access(file.access, base, output_dir, config_file),
    )


def _access(access: AccessFile, base: pathlib.Path, output_dir: pathlib.Path, config_file: pathlib.Path) -> Access:
    log = (base / access.access_log).resolve()
    if log.is_relative_to(output_dir):
        raise ConfigError(
            f"{config_file}: `access.access_log` {log} is inside output_dir {output_dir}, where it could be served: "
            "name a file outside it"
        )
    return Access(
        users_file=(base / access.users).resolve(),
        secret_env=access.secret_env,
        trusted_header=access.trusted_header,
        trusted_proxies=tuple(access.trusted_proxies),
        session_hours=access.session_hours,
        secure_cookies=access.secure_cookies,
        access_log=log,
    )
