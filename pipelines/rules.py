"""The requirement rules catalog: loaded, validated, flattened to the tables the engine's SQL reads.

A catalog is a YAML list of entries, or a mapping `{version: ..., rules: [...]}`. Besides a cycle's
total, category minimums and delivery caps, an entry may express the shapes real boards use (the
README's catalog reference): versions by `effective_date`, caps as a fraction of the total, prorated
first renewals, one-time topics, minimums due every Nth cycle or for a role, a share of hours from
listed providers, a shortest credit per accreditation, and carry-over. Keys the format does not know
are refused by name at every level, so a misspelt `min_hours_by_catgory` never silently drops a
requirement; what a board requires beyond the format goes into an entry's `not_modeled`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import fractions
import hashlib
import pathlib
import re
from typing import Any

import polars as pl
import yaml

from pipelines.settings import CATEGORIES, DELIVERIES
from pipelines.yaml_files import read_yaml

ENTRY_FIELDS = {
    "license_state",
    "license_type",
    "cycle_months",
    "total_hours",
    "min_hours_by_category",
    "max_hours_by_delivery",
    "max_fraction_by_delivery",
    "first_renewal",
    "once_by_category",
    "every_nth_cycle",
    "conditional",
    "min_share_from",
    "min_credit_hours",
    "carry_over",
    "accepted_accreditations",
    "source",
    "effective_date",
    "not_modeled",
}
REQUIRED_FIELDS = ("license_state", "license_type", "cycle_months", "total_hours", "source")
FIRST_RENEWAL_WORDS = ("full", "exempt")
FIRST_RENEWAL_HOURS = ("total_hours", "hours_per_month")
ANY_ACCREDITATION = "*"
HOURS_SCALE = decimal.Decimal("0.0001")
HOURS = pl.Decimal(18, 4)


class RulesCatalogError(ValueError):
    """The rules catalog cannot be used; the message names the file, the entry and the field."""


@dataclasses.dataclass(frozen=True)
class DueMinimums:
    """Category minimums that apply only in every Nth cycle counted from `anchor`."""

    every: int
    anchor: dt.date
    min_hours_by_category: dict[str, decimal.Decimal]


@dataclasses.dataclass(frozen=True)
class RoleRequirement:
    """Requirements of licenses whose roster row lists `role`: minimums, and a total that replaces the entry's."""

    role: str
    min_hours_by_category: dict[str, decimal.Decimal]
    total_hours: decimal.Decimal | None = None


@dataclasses.dataclass(frozen=True)
class ShareFrom:
    """At least `fraction` of the required total counted from credits of these accreditations."""

    accreditations: tuple[str, ...]
    fraction: fractions.Fraction


@dataclasses.dataclass(frozen=True)
class Rule:
    license_state: str
    license_type: str
    cycle_months: int
    total_hours: decimal.Decimal
    min_hours_by_category: dict[str, decimal.Decimal]
    max_hours_by_delivery: dict[str, decimal.Decimal]
    first_renewal: str  # full | exempt | total_hours | hours_per_month
    accepted_accreditations: tuple[str, ...] | None
    source: str
    effective_date: dt.date | None
    not_modeled: str | None
    first_renewal_hours: decimal.Decimal | None = None  # with first_renewal total_hours / hours_per_month
    max_fraction_by_delivery: dict[str, fractions.Fraction] = dataclasses.field(default_factory=dict)
    once_by_category: dict[str, decimal.Decimal] = dataclasses.field(default_factory=dict)
    every_nth_cycle: tuple[DueMinimums, ...] = ()
    conditional: tuple[RoleRequirement, ...] = ()
    min_share_from: ShareFrom | None = None
    min_credit_hours: dict[str, decimal.Decimal] = dataclasses.field(default_factory=dict)  # accreditation or "*"
    carry_over_max_hours: decimal.Decimal | None = None


def _frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


@dataclasses.dataclass(frozen=True)
class RulesCatalog:
    path: pathlib.Path | None
    version: str
    sha256: str
    rules: tuple[Rule, ...]
    data: bytes = dataclasses.field(repr=False)  # the file as read: the site publishes this copy

    def tables(self) -> dict[str, pl.DataFrame]:
        """The catalog as the engine's tables, each keyed by `rule_id` (the entry's position, from 1)."""
        rules = list(enumerate(self.rules, start=1))
        key = {"rule_id": pl.Int32}
        return {
            "rules": _frame(
                [
                    {
                        "rule_id": i,
                        "license_state": r.license_state,
                        "license_type": r.license_type,
                        "effective_date": r.effective_date,
                        "cycle_months": r.cycle_months,
                        "total_hours": r.total_hours,
                        "first_renewal": r.first_renewal,
                        "first_renewal_hours": r.first_renewal_hours,
                        "restricts_accreditation": r.accepted_accreditations is not None,
                        "carry_over_max_hours": r.carry_over_max_hours,
                        "listed_share_numerator": r.min_share_from.fraction.numerator if r.min_share_from else None,
                        "listed_share_denominator": r.min_share_from.fraction.denominator if r.min_share_from else None,
                        "source": r.source,
                        "not_modeled": r.not_modeled,
                    }
                    for i, r in rules
                ],
                {
                    **key,
                    "license_state": pl.String,
                    "license_type": pl.String,
                    "effective_date": pl.Date,
                    "cycle_months": pl.Int32,
                    "total_hours": HOURS,
                    "first_renewal": pl.String,
                    "first_renewal_hours": HOURS,
                    "restricts_accreditation": pl.Boolean,
                    "carry_over_max_hours": HOURS,
                    "listed_share_numerator": pl.Int64,
                    "listed_share_denominator": pl.Int64,
                    "source": pl.String,
                    "not_modeled": pl.String,
                },
            ),
            # origin: `base` every cycle, `every_nth_cycle` in due cycles (every, anchor), `conditional` for a role
            "rule_category_minimums": _frame(
                [
                    {"rule_id": i, "category": c, "min_hours": h, "origin": "base", "every": None, "anchor": None, "role": None}
                    for i, r in rules
                    for c, h in sorted(r.min_hours_by_category.items())
                ]
                + [
                    {"rule_id": i, "category": c, "min_hours": h, "origin": "every_nth_cycle", "every": d.every, "anchor": d.anchor, "role": None}
                    for i, r in rules
                    for d in r.every_nth_cycle
                    for c, h in sorted(d.min_hours_by_category.items())
                ]
                + [
                    {"rule_id": i, "category": c, "min_hours": h, "origin": "conditional", "every": None, "anchor": None, "role": q.role}
                    for i, r in rules
                    for q in r.conditional
                    for c, h in sorted(q.min_hours_by_category.items())
                ],
                {**key, "category": pl.String, "min_hours": HOURS, "origin": pl.String, "every": pl.Int32, "anchor": pl.Date, "role": pl.String},
            ),
            "rule_conditional_totals": _frame(
                [{"rule_id": i, "role": q.role, "total_hours": q.total_hours} for i, r in rules for q in r.conditional if q.total_hours is not None],
                {**key, "role": pl.String, "total_hours": HOURS},
            ),
            "rule_delivery_caps": _frame(
                [
                    {
                        "rule_id": i,
                        "delivery": d,
                        "max_hours": r.max_hours_by_delivery.get(d),
                        "fraction_numerator": r.max_fraction_by_delivery[d].numerator if d in r.max_fraction_by_delivery else None,
                        "fraction_denominator": r.max_fraction_by_delivery[d].denominator if d in r.max_fraction_by_delivery else None,
                    }
                    for i, r in rules
                    for d in sorted(set(r.max_hours_by_delivery) | set(r.max_fraction_by_delivery))
                ],
                {**key, "delivery": pl.String, "max_hours": HOURS, "fraction_numerator": pl.Int64, "fraction_denominator": pl.Int64},
            ),
            "rule_once_minimums": _frame(
                [{"rule_id": i, "category": c, "min_hours": h} for i, r in rules for c, h in sorted(r.once_by_category.items())],
                {**key, "category": pl.String, "min_hours": HOURS},
            ),
            "rule_accepted_accreditations": _frame(
                [{"rule_id": i, "accreditation": a} for i, r in rules for a in (r.accepted_accreditations or ())],
                {**key, "accreditation": pl.String},
            ),
            "rule_listed_accreditations": _frame(
                [{"rule_id": i, "accreditation": a} for i, r in rules if r.min_share_from for a in r.min_share_from.accreditations],
                {**key, "accreditation": pl.String},
            ),
            "rule_min_credit_hours": _frame(
                [{"rule_id": i, "accreditation": a, "min_hours": h} for i, r in rules for a, h in sorted(r.min_credit_hours.items())],
                {**key, "accreditation": pl.String, "min_hours": HOURS},
            ),
        }


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


def _mapping(raw: Any, where: str, example: str) -> dict:
    if not isinstance(raw, dict):
        raise RulesCatalogError(f"{where} must be a mapping such as {example}, got {raw!r}")
    return raw


def _hours_by(raw: Any, vocabulary: tuple[str, ...], where: str) -> dict[str, decimal.Decimal]:
    if raw is None:
        return {}
    result = {}
    for key, value in _mapping(raw, where, "{ethics: 6}").items():
        if key not in vocabulary:
            raise RulesCatalogError(f"{where} names {key!r}, which is not one of: {', '.join(vocabulary)}")
        result[key] = _hours(value, f"{where}.{key}")
    return result


def _fraction(value: Any, where: str) -> fractions.Fraction:
    """A fraction in (0, 1]: a decimal (`0.5`) or `"n/d"` (`"1/3"`), kept exact."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d+(\.\d+)?|\.\d+|\d+\s*/\s*\d+", text):
        raise RulesCatalogError(f"{where} must be a fraction such as 0.5 or \"1/3\", got {value!r}")
    try:
        fraction = fractions.Fraction(text.replace(" ", ""))
    except ZeroDivisionError:
        raise RulesCatalogError(f"{where} must be a fraction such as 0.5 or \"1/3\", got {value!r}") from None
    if not 0 < fraction <= 1:
        raise RulesCatalogError(f"{where} must be a fraction above 0 and at most 1, got {value!r}")
    return fraction


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RulesCatalogError(f"{where} must be a date YYYY-MM-DD, got {value!r}") from None


def _known_keys(raw: dict, known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(known), key=str)
    if unknown:
        raise RulesCatalogError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")


def _accreditations(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(a, str) and a.strip() for a in raw):
        raise RulesCatalogError(f"{where} must be a non-empty list of names, got {raw!r}")
    return tuple(a.strip().upper() for a in raw)


def _list_of(raw: Any, where: str) -> list[dict]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise RulesCatalogError(f"{where} must be a list of mappings, got {raw!r}")
    return raw


def _first_renewal(raw: Any, where: str) -> tuple[str, decimal.Decimal | None]:
    if raw in FIRST_RENEWAL_WORDS:
        return raw, None
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in FIRST_RENEWAL_HOURS:
        kind, hours = next(iter(raw.items()))
        return kind, _hours(hours, f"{where}.{kind}")
    raise RulesCatalogError(f"{where} must be full, exempt, {{total_hours: H}} or {{hours_per_month: H}}, got {raw!r}")


def _items(raw: Any, where: str, known: tuple[str, ...], parse) -> tuple:
    """A list of mappings, each with only `known` keys, each parsed by `parse(item, where_it_stands)`."""
    items = []
    for n, item in enumerate(_list_of(raw, where)):
        at = f"{where}[{n}]"
        _known_keys(item, known, at)
        items.append(parse(item, at))
    return tuple(items)


def _due_minimums(item: dict, at: str) -> DueMinimums:
    every = item.get("every")
    if isinstance(every, bool) or not isinstance(every, int) or every < 2:
        raise RulesCatalogError(f"{at}.every must be a whole number of cycles >= 2, got {every!r}")
    if "anchor" not in item:
        raise RulesCatalogError(f"{at}.anchor is missing: the end of a cycle in which the minimums were due")
    minimums = _hours_by(item.get("min_hours_by_category"), CATEGORIES, f"{at}.min_hours_by_category")
    if not minimums:
        raise RulesCatalogError(f"{at}.min_hours_by_category must name at least one category")
    return DueMinimums(every, _date(item["anchor"], f"{at}.anchor"), minimums)


def _role_requirement(item: dict, at: str) -> RoleRequirement:
    role = item.get("role")
    if not isinstance(role, str) or not re.fullmatch(r"[^;\s]+", role.strip()):
        raise RulesCatalogError(f"{at}.role must be one roster role token such as supervisor, got {role!r}")
    minimums = _hours_by(item.get("min_hours_by_category"), CATEGORIES, f"{at}.min_hours_by_category")
    total = _hours(item["total_hours"], f"{at}.total_hours") if item.get("total_hours") is not None else None
    if not minimums and total is None:
        raise RulesCatalogError(f"{at} must give min_hours_by_category or total_hours")
    return RoleRequirement(role.strip().lower(), minimums, total)


def _min_share_from(raw: Any, where: str) -> ShareFrom:
    _known_keys(_mapping(raw, where, "{accreditations: [NBCC], fraction: 0.5}"), ("accreditations", "fraction"), where)
    if "fraction" not in raw:
        raise RulesCatalogError(f"{where}.fraction is missing")
    return ShareFrom(_accreditations(raw.get("accreditations"), f"{where}.accreditations"), _fraction(raw["fraction"], f"{where}.fraction"))


def _min_credit_hours(raw: Any, where: str) -> dict[str, decimal.Decimal]:
    result = {}
    for key, value in _mapping(raw, where, '{NBCC: 1, "*": 0.5}').items():
        if not isinstance(key, str) or not key.strip():
            raise RulesCatalogError(f"{where} keys must be accreditation names or \"*\", got {key!r}")
        result[key.strip().upper()] = _hours(value, f"{where}.{key}")
    return result


def _carry_over(raw: Any, where: str) -> decimal.Decimal:
    _known_keys(_mapping(raw, where, "{max_hours: 10}"), ("max_hours",), where)
    if "max_hours" not in raw:
        raise RulesCatalogError(f"{where}.max_hours is missing")
    return _hours(raw["max_hours"], f"{where}.max_hours")


def _entry(raw: Any, index: int, path: pathlib.Path) -> Rule:
    if not isinstance(raw, dict):
        raise RulesCatalogError(f"{path}: entry {index + 1} must be a mapping, got {raw!r}")
    label = f"{raw.get('license_state', '?')} {raw.get('license_type', '?')}"
    where = f"{path}: entry {index + 1} ({label})"
    _known_keys(raw, tuple(sorted(ENTRY_FIELDS)), where)
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
    fraction_caps = {}
    for delivery, value in _mapping(raw.get("max_fraction_by_delivery") or {}, f"{where}: `max_fraction_by_delivery`", '{self_study: "1/3"}').items():
        if delivery not in DELIVERIES:
            raise RulesCatalogError(f"{where}: `max_fraction_by_delivery` names {delivery!r}, which is not one of: {', '.join(DELIVERIES)}")
        fraction_caps[delivery] = _fraction(value, f"{where}: `max_fraction_by_delivery.{delivery}`")
    first_renewal, first_renewal_hours = _first_renewal(raw.get("first_renewal", "full"), f"{where}: `first_renewal`")
    accreditations = raw.get("accepted_accreditations")
    if accreditations is not None:
        accreditations = _accreditations(accreditations, f"{where}: `accepted_accreditations`")
    effective = raw.get("effective_date")
    not_modeled = raw.get("not_modeled")
    if isinstance(not_modeled, list):
        not_modeled = "; ".join(str(item) for item in not_modeled)
    optional = {
        "every_nth_cycle": lambda raw, at: _items(raw, at, ("every", "anchor", "min_hours_by_category"), _due_minimums),
        "conditional": lambda raw, at: _items(raw, at, ("role", "min_hours_by_category", "total_hours"), _role_requirement),
        "min_share_from": _min_share_from,
        "min_credit_hours": _min_credit_hours,
        "carry_over": _carry_over,
    }
    shapes = {field: parse(raw[field], f"{where}: `{field}`") for field, parse in optional.items() if raw.get(field) is not None}
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
        effective_date=None if effective is None else _date(effective, f"{where}: `effective_date`"),
        not_modeled=str(not_modeled).strip() if not_modeled else None,
        first_renewal_hours=first_renewal_hours,
        max_fraction_by_delivery=fraction_caps,
        once_by_category=_hours_by(raw.get("once_by_category"), CATEGORIES, f"{where}: `once_by_category`"),
        every_nth_cycle=shapes.get("every_nth_cycle", ()),
        conditional=shapes.get("conditional", ()),
        min_share_from=shapes.get("min_share_from"),
        min_credit_hours=shapes.get("min_credit_hours", {}),
        carry_over_max_hours=shapes.get("carry_over"),
    )


def load_rules_catalog(path: pathlib.Path) -> RulesCatalog:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RulesCatalogError(f"rules catalog {path} does not exist") from None
    except OSError as error:
        raise RulesCatalogError(f"rules catalog {path} cannot be read: {error.strerror}") from None
    try:
        raw = read_yaml(data.decode("utf-8-sig"), path.name)
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
    seen: dict[tuple[str, str, dt.date | None], int] = {}
    for i, rule in enumerate(rules):
        key = (rule.license_state, rule.license_type, rule.effective_date)
        if key in seen:
            since = f"effective {rule.effective_date}" if rule.effective_date else "without an effective_date"
            raise RulesCatalogError(
                f"{path}: entries {seen[key] + 1} and {i + 1} both define {key[0]} {key[1]} {since}: "
                "one entry per state, license type and effective date"
            )
        seen[key] = i
    return RulesCatalog(path=path, version=version, sha256=sha256, rules=rules, data=data)
