"""The requirement rules catalog (SPEC "Requirement rules catalog"): loaded, validated, flattened to tables.

A catalog is a YAML list of entries, or a mapping `{version: ..., rules: [...]}`. Keys this version
does not know are refused by name, so a misspelt `min_hours_by_catgory` never silently drops a
requirement; shapes the format cannot express yet go into an entry's `not_modeled`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import hashlib
import pathlib
import re
from typing import Any

import polars as pl
import yaml

from pipelines.settings import CATEGORIES, DELIVERIES

ENTRY_FIELDS = {
    "license_state",
    "license_type",
    "cycle_months",
    "total_hours",
    "min_hours_by_category",
    "max_hours_by_delivery",
    "first_renewal",
    "accepted_accreditations",
    "source",
    "effective_date",
    "not_modeled",
}
REQUIRED_FIELDS = ("license_state", "license_type", "cycle_months", "total_hours", "source")
FIRST_RENEWAL = ("full", "exempt")
HOURS_SCALE = decimal.Decimal("0.0001")


class RulesCatalogError(ValueError):
    """The rules catalog cannot be used; the message names the file, the entry and the field."""


@dataclasses.dataclass(frozen=True)
class Rule:
    license_state: str
    license_type: str
    cycle_months: int
    total_hours: decimal.Decimal
    min_hours_by_category: dict[str, decimal.Decimal]
    max_hours_by_delivery: dict[str, decimal.Decimal]
    first_renewal: str
    accepted_accreditations: tuple[str, ...] | None
    source: str
    effective_date: dt.date | None
    not_modeled: str | None


@dataclasses.dataclass(frozen=True)
class RulesCatalog:
    path: pathlib.Path
    version: str
    sha256: str
    rules: tuple[Rule, ...]

    def rules_table(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "license_state": r.license_state,
                    "license_type": r.license_type,
                    "cycle_months": r.cycle_months,
                    "total_hours": r.total_hours,
                    "first_renewal": r.first_renewal,
                    "restricts_accreditation": r.accepted_accreditations is not None,
                    "source": r.source,
                    "effective_date": r.effective_date,
                    "not_modeled": r.not_modeled,
                }
                for r in self.rules
            ],
            schema={
                "license_state": pl.String,
                "license_type": pl.String,
                "cycle_months": pl.Int32,
                "total_hours": pl.Decimal(18, 4),
                "first_renewal": pl.String,
                "restricts_accreditation": pl.Boolean,
                "source": pl.String,
                "effective_date": pl.Date,
                "not_modeled": pl.String,
            },
        )

    def category_minimums_table(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {"license_state": r.license_state, "license_type": r.license_type, "category": c, "min_hours": h}
                for r in self.rules
                for c, h in sorted(r.min_hours_by_category.items())
            ],
            schema={"license_state": pl.String, "license_type": pl.String, "category": pl.String, "min_hours": pl.Decimal(18, 4)},
        )

    def delivery_caps_table(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {"license_state": r.license_state, "license_type": r.license_type, "delivery": d, "max_hours": h}
                for r in self.rules
                for d, h in sorted(r.max_hours_by_delivery.items())
            ],
            schema={"license_state": pl.String, "license_type": pl.String, "delivery": pl.String, "max_hours": pl.Decimal(18, 4)},
        )

    def accepted_accreditations_table(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {"license_state": r.license_state, "license_type": r.license_type, "accreditation": a}
                for r in self.rules
                for a in (r.accepted_accreditations or ())
            ],
            schema={"license_state": pl.String, "license_type": pl.String, "accreditation": pl.String},
        )


def _hours(value: Any, where: str) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RulesCatalogError(f"{where} must be a number of hours, got {value!r}")
    try:
        hours = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise RulesCatalogError(f"{where} must be a number of hours, got {value!r}") from None
    if not hours.is_finite() or hours < 0:
        raise RulesCatalogError(f"{where} must be a number of hours >= 0, got {value!r}")
    return hours.quantize(HOURS_SCALE)


def _hours_by(raw: Any, vocabulary: tuple[str, ...], where: str) -> dict[str, decimal.Decimal]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RulesCatalogError(f"{where} must be a mapping such as {{ethics: 6}}, got {raw!r}")
    result = {}
    for key, value in raw.items():
        if key not in vocabulary:
            raise RulesCatalogError(f"{where} names {key!r}, which is not one of: {', '.join(vocabulary)}")
        result[key] = _hours(value, f"{where}.{key}")
    return result


def _entry(raw: Any, index: int, path: pathlib.Path) -> Rule:
    if not isinstance(raw, dict):
        raise RulesCatalogError(f"{path}: entry {index + 1} must be a mapping, got {raw!r}")
    label = f"{raw.get('license_state', '?')} {raw.get('license_type', '?')}"
    where = f"{path}: entry {index + 1} ({label})"
    unknown = sorted(set(raw) - ENTRY_FIELDS)
    if unknown:
        raise RulesCatalogError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(ENTRY_FIELDS))}")
    for field in REQUIRED_FIELDS:
        if raw.get(field) in (None, ""):
            what = "a citation: the board rule or statute, with URL" if field == "source" else "required"
            raise RulesCatalogError(f"{where}: `{field}` is missing ({what})")
    state = str(raw["license_state"]).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise RulesCatalogError(f"{where}: `license_state` must be a two-letter state code, got {raw['license_state']!r}")
    cycle_months = raw["cycle_months"]
    if isinstance(cycle_months, bool) or not isinstance(cycle_months, int) or not 1 <= cycle_months <= 120:
        raise RulesCatalogError(f"{where}: `cycle_months` must be a whole number of months from 1 to 120, got {cycle_months!r}")
    total = _hours(raw["total_hours"], f"{where}: `total_hours`")
    minimums = _hours_by(raw.get("min_hours_by_category"), CATEGORIES, f"{where}: `min_hours_by_category`")
    caps = _hours_by(raw.get("max_hours_by_delivery"), DELIVERIES, f"{where}: `max_hours_by_delivery`")
    for delivery, cap in caps.items():
        if cap > total:
            raise RulesCatalogError(f"{where}: `max_hours_by_delivery.{delivery}` ({cap.normalize()}) is larger than `total_hours` ({total.normalize()})")
    first_renewal = raw.get("first_renewal", "full")
    if first_renewal not in FIRST_RENEWAL:
        raise RulesCatalogError(f"{where}: `first_renewal` must be one of {', '.join(FIRST_RENEWAL)}, got {first_renewal!r}")
    accreditations = raw.get("accepted_accreditations")
    if accreditations is not None:
        if not isinstance(accreditations, list) or not accreditations or not all(isinstance(a, str) and a.strip() for a in accreditations):
            raise RulesCatalogError(f"{where}: `accepted_accreditations` must be a non-empty list of names, got {accreditations!r}")
        accreditations = tuple(a.strip().upper() for a in accreditations)
    effective = raw.get("effective_date")
    if effective is not None and not isinstance(effective, dt.date):
        try:
            effective = dt.date.fromisoformat(str(effective))
        except ValueError:
            raise RulesCatalogError(f"{where}: `effective_date` must be a date YYYY-MM-DD, got {effective!r}") from None
    not_modeled = raw.get("not_modeled")
    if isinstance(not_modeled, list):
        not_modeled = "; ".join(str(item) for item in not_modeled)
    return Rule(
        license_state=state,
        license_type=str(raw["license_type"]).strip().upper(),
        cycle_months=cycle_months,
        total_hours=total,
        min_hours_by_category=minimums,
        max_hours_by_delivery=caps,
        first_renewal=first_renewal,
        accepted_accreditations=accreditations,
        source=str(raw["source"]).strip(),
        effective_date=effective,
        not_modeled=str(not_modeled).strip() if not_modeled else None,
    )


def load_rules_catalog(path: pathlib.Path) -> RulesCatalog:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RulesCatalogError(f"rules catalog {path} does not exist") from None
    try:
        raw = yaml.safe_load(data.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise RulesCatalogError(f"{path}: not a readable YAML file: {error}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    version = sha256[:12]
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"version", "rules"})
        if unknown or "rules" not in raw:
            raise RulesCatalogError(f"{path}: expected a list of entries or {{version: ..., rules: [...]}}; unknown keys: {', '.join(unknown) or 'none'}")
        version = str(raw.get("version") or version)
        raw = raw["rules"]
    if not isinstance(raw, list) or not raw:
        raise RulesCatalogError(f"{path}: expected a non-empty list of rule entries")
    rules = tuple(_entry(entry, i, path) for i, entry in enumerate(raw))
    seen: dict[tuple[str, str], int] = {}
    for i, rule in enumerate(rules):
        key = (rule.license_state, rule.license_type)
        if key in seen:
            raise RulesCatalogError(f"{path}: entries {seen[key] + 1} and {i + 1} both define {key[0]} {key[1]}: one entry per state and license type")
        seen[key] = i
    return RulesCatalog(path=path, version=version, sha256=sha256, rules=rules)
