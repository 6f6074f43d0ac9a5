"""The deployment's configuration file (SPEC "Running it"), loaded and validated once.

Every path is resolved here, so the rest of the code never joins strings into paths. A problem
raises `ConfigError` naming the key and what was expected: a bad configuration stops the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import re
import zoneinfo
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pipelines.notifications.settings import NotificationSettings

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
# A credit file must carry at least one way to name its person (SPEC: person key).
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
        date_format="%Y-%m-%d",
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
    """One kind of input file: the roster, a CE provider, or the course catalog."""

    kind: str  # roster | provider | course_catalog | adjustments
    name: str
    path: str  # glob, relative to landing_dir
    columns: dict[str, str]  # canonical column -> the file's header
    date_format: str = "%Y-%m-%d"
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
    adjustments: InputSource | None = None  # the compliance officer's file of board decisions
    as_of: dt.date | None = None  # None: today, decided when a run starts
    schedule: Schedule = Schedule()
    regions: dict[str, pathlib.Path] = dataclasses.field(default_factory=dict)  # region -> its deployment file
    warehouse_memory_limit: str | None = None  # DuckDB's memory_limit, e.g. "2GB"; None: DuckDB's default (80% of RAM)
    notifications: NotificationSettings | None = None  # reminders and digests by email; None: nothing is sent

    def resolved_as_of(self) -> dt.date:
        return self.as_of or dt.date.today()

    @property
    def work_dir(self) -> pathlib.Path:
        """Scratch space of a run (validation reports before publication); never published as is."""
        return self.output_dir / ".work"

    @property
    def data_docs_dir(self) -> pathlib.Path:
        return self.work_dir / "data-docs"


def _mapping(value: Any, where: str, config_file: pathlib.Path) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{config_file}: `{where}` must be a mapping, got {type(value).__name__}")
    return value


def _vocabulary_map(raw: Any, vocabulary: tuple[str, ...], where: str, config_file: pathlib.Path) -> dict[str, str]:
    mapped = {}
    for source_value, target in _mapping(raw, where, config_file).items():
        if target not in vocabulary:
            raise ConfigError(
                f"{config_file}: `{where}` maps {source_value!r} to {target!r}, which is not one of: {', '.join(vocabulary)}"
            )
        mapped[str(source_value).strip().casefold()] = target
    return mapped


def _check_date_format(fmt: Any, where: str, config_file: pathlib.Path) -> str:
    if not isinstance(fmt, str) or "%" not in fmt:
        raise ConfigError(f"{config_file}: `{where}` must be a strftime pattern such as \"%m/%d/%Y\", got {fmt!r}")
    return fmt


def _check_columns(columns: dict, known: tuple[str, ...], where: str, config_file: pathlib.Path) -> dict[str, str]:
    unknown = sorted(set(columns) - set(known))
    if unknown:
        raise ConfigError(
            f"{config_file}: `{where}` names unknown canonical column(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return {str(k): str(v) for k, v in columns.items()}


def _whole_days(value: Any, where: str, config_file: pathlib.Path, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{config_file}: `{where}` must be a whole number of days >= {minimum}, got {value!r}")
    return value


def _schedule(raw: Any, config_file: pathlib.Path) -> Schedule:
    raw = _mapping(raw, "schedule", config_file)
    schedule = Schedule(**{k: raw[k] for k in ("cron", "timezone") if k in raw})
    if not isinstance(schedule.cron, str) or len(schedule.cron.split()) != 5:
        raise ConfigError(f"{config_file}: `schedule.cron` must be a cron expression such as \"0 2 * * *\", got {schedule.cron!r}")
    try:
        zoneinfo.ZoneInfo(str(schedule.timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{config_file}: `schedule.timezone` must be an IANA timezone such as America/Chicago, got {schedule.timezone!r}") from None
    return schedule


def _provider(raw: Any, index: int, config_file: pathlib.Path) -> InputSource:
    where = f"providers[{index}]"
    raw = _mapping(raw, where, config_file)
    name = raw.get("name")
    if not name or not isinstance(name, str):
        raise ConfigError(f"{config_file}: `{where}.name` is required (a short name for the provider)")
    where = f"providers[{index}] ({name})"
    if not raw.get("path"):
        raise ConfigError(f"{config_file}: `{where}.path` is required (a glob under landing_dir)")
    layout_name = raw.get("layout")
    if layout_name is not None and layout_name not in BUILT_IN_LAYOUTS:
        raise ConfigError(
            f"{config_file}: `{where}.layout` is {layout_name!r}; built-in layouts: {', '.join(BUILT_IN_LAYOUTS)}"
        )
    layout = BUILT_IN_LAYOUTS.get(layout_name) if layout_name else None
    if layout is None and not raw.get("columns"):
        raise ConfigError(f"{config_file}: `{where}` needs either `layout` ({', '.join(BUILT_IN_LAYOUTS)}) or `columns`")
    columns = dict(layout.columns) if layout else {}
    columns.update(_check_columns(_mapping(raw.get("columns"), f"{where}.columns", config_file), CREDIT_COLUMNS, f"{where}.columns", config_file))
    unit = raw.get("credit_unit", layout.credit_unit if layout else "hours")
    if unit not in CREDIT_UNITS and not (isinstance(unit, str) and unit.startswith("column:") and len(unit) > 7):
        raise ConfigError(f"{config_file}: `{where}.credit_unit` is {unit!r}; expected hours, CEU or column:<header>")
    return InputSource(
        kind="provider",
        name=name,
        path=str(raw["path"]),
        columns=columns,
        date_format=_check_date_format(raw.get("date_format", layout.date_format if layout else "%Y-%m-%d"), f"{where}.date_format", config_file),
        credit_unit=unit,
        categories=_vocabulary_map(raw.get("categories"), CATEGORIES, f"{where}.categories", config_file),
        delivery=_vocabulary_map(raw.get("delivery"), DELIVERIES, f"{where}.delivery", config_file),
        max_age_days=_whole_days(raw.get("max_age_days", DEFAULT_MAX_AGE_DAYS), f"{where}.max_age_days", config_file, minimum=1),
    )


def load_settings(config_file: str | pathlib.Path, as_of: dt.date | str | None = None) -> Settings:
    from pipelines.notifications.settings import parse_notifications  # imports ConfigError from here

    config_file = pathlib.Path(config_file).resolve()
    try:
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {config_file} does not exist") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{config_file}: not valid YAML: {error}") from None
    raw = _mapping(raw, "(top level)", config_file)
    base = config_file.parent

    def path(key: str, default: str) -> pathlib.Path:
        value = raw.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{config_file}: `{key}` must be a path, got {value!r}")
        return (base / value).resolve()

    memory_limit = raw.get("warehouse_memory_limit")
    if memory_limit is not None and not (isinstance(memory_limit, str) and re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory_limit.strip())):
        raise ConfigError(f"{config_file}: `warehouse_memory_limit` must be a size such as \"2GB\", got {memory_limit!r}")

    at_risk_days = raw.get("at_risk_days", 90)
    if not isinstance(at_risk_days, int) or isinstance(at_risk_days, bool) or at_risk_days < 0:
        raise ConfigError(f"{config_file}: `at_risk_days` must be a whole number of days >= 0, got {at_risk_days!r}")

    roster_raw = _mapping(raw.get("roster"), "roster", config_file)
    roster = InputSource(
        kind="roster",
        name="roster",
        path=str(roster_raw.get("path", "roster/*")),
        columns=_check_columns(_mapping(roster_raw.get("columns"), "roster.columns", config_file), ROSTER_COLUMNS, "roster.columns", config_file),
        date_format=_check_date_format(roster_raw.get("date_format", "%Y-%m-%d"), "roster.date_format", config_file),
    )

    providers_raw = raw.get("providers") or []
    if not isinstance(providers_raw, list):
        raise ConfigError(f"{config_file}: `providers` must be a list")
    providers = tuple(_provider(p, i, config_file) for i, p in enumerate(providers_raw))
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{config_file}: provider names must be unique, got {names}")

    catalog = None
    if raw.get("course_catalog") is not None:
        c = _mapping(raw["course_catalog"], "course_catalog", config_file)
        if not c.get("path"):
            raise ConfigError(f"{config_file}: `course_catalog.path` is required")
        catalog = InputSource(
            kind="course_catalog",
            name="course_catalog",
            path=str(c["path"]),
            columns=_check_columns(_mapping(c.get("columns"), "course_catalog.columns", config_file), COURSE_CATALOG_COLUMNS, "course_catalog.columns", config_file),
            categories=_vocabulary_map(c.get("categories"), CATEGORIES, "course_catalog.categories", config_file),
            delivery=_vocabulary_map(c.get("delivery"), DELIVERIES, "course_catalog.delivery", config_file),
        )
    adjustments = None
    if raw.get("adjustments") is not None:
        a = _mapping(raw["adjustments"], "adjustments", config_file)
        if not a.get("path"):
            raise ConfigError(f"{config_file}: `adjustments.path` is required (a glob under landing_dir)")
        adjustments = InputSource(
            kind="adjustments",
            name="adjustments",
            path=str(a["path"]),
            columns=_check_columns(_mapping(a.get("columns"), "adjustments.columns", config_file), ADJUSTMENT_COLUMNS, "adjustments.columns", config_file),
            date_format=_check_date_format(a.get("date_format", "%Y-%m-%d"), "adjustments.date_format", config_file),
        )
    budget = _mapping(raw.get("training_budget"), "training_budget", config_file).get("per_clinician")
    if budget is not None and (not isinstance(budget, (int, float)) or budget < 0):
        raise ConfigError(f"{config_file}: `training_budget.per_clinician` must be a number >= 0, got {budget!r}")

    regions = {}
    for region, region_file in _mapping(raw.get("regions"), "regions", config_file).items():
        if not isinstance(region_file, str) or not region_file:
            raise ConfigError(f"{config_file}: `regions.{region}` must be the path of that region's configuration file")
        regions[str(region)] = (base / region_file).resolve()

    as_of = as_of or raw.get("as_of") or None  # the command line's --as-of wins over the file's
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise ConfigError(f"{config_file}: as_of {as_of!r} is not a date in the form YYYY-MM-DD") from None
    if as_of is not None and not isinstance(as_of, dt.date):
        raise ConfigError(f"{config_file}: as_of must be a date in the form YYYY-MM-DD, got {as_of!r}")
    return Settings(
        config_file=config_file,
        landing_dir=path("landing_dir", "landing"),
        rules_catalog=path("rules_catalog", "rules.yaml"),
        output_dir=path("output_dir", "published"),
        warehouse=path("warehouse", "warehouse.duckdb"),
        at_risk_days=at_risk_days,
        warehouse_memory_limit=memory_limit.strip() if memory_limit else None,
        roster=roster,
        providers=providers,
        course_catalog=catalog,
        training_budget_per_clinician=budget,
        adjustments=adjustments,
        as_of=as_of,
        schedule=_schedule(raw.get("schedule"), config_file),
        regions=regions,
        notifications=parse_notifications(raw.get("notifications"), config_file),
    )
