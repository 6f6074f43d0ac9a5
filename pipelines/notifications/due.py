"""What is due as of a date: reminders and overdue notices per person, digests per clinic and for the
organisation (docs/notifications.md), from the warehouse's tables as the run left them.

Reading is one step (`read_inputs`, under an open connection); deciding is a pure function of what was
read (`due_messages`), so the connection is never held while messages are built or sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import duckdb
import polars as pl

from pipelines.names import clinic_key, clinic_spellings
from pipelines.notifications.settings import NotificationSettings, one_address
from pipelines.warehouse import read_sql, run_sql
from reports.dashboards import STATUS_STYLES, requirement_label
from reports.plan_views import money_text

LICENSE_KEY = ("employee_id", "license_state", "license_type", "license_number")
ATTENTION_STATUSES = ("overdue", "at_risk")  # listed one by one in a digest


class StaleComplianceError(RuntimeError):
    """The warehouse holds compliance of another as-of date than the one notified about."""


def one_line(value: object) -> str:
    """Text from the data as one line: control characters (CR, LF, tab ...) become one space each run."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", "" if value is None else str(value)).strip()


def hours_text(hours: Decimal | None) -> str:
    """Exact hours without trailing zeros: 10.0000 -> "10", 3.3000 -> "3.3"."""
    if hours is None:
        return ""
    return format(Decimal(hours).normalize(), "f")


def license_label(state: str, license_type: str, number: str) -> str:
    """`STATE TYPE NUMBER`, as notifications.csv lists licenses."""
    return " ".join(one_line(part) for part in (state, license_type, number))


@dataclasses.dataclass(frozen=True)
class Need:
    requirement: str  # in words: "ethics", "one-time hiv aids"
    shortfall_hours: str
    counted_hours: str
    required_hours: str


@dataclasses.dataclass(frozen=True)
class DueLicense:
    label: str  # STATE TYPE NUMBER
    key: tuple[str, str, str, str]
    deadline: dt.date
    days_remaining: int
    status: str
    status_label: str
    kind: str  # reminder | overdue
    thresholds: tuple[int, ...]  # the reminder thresholds this message covers (none for a notice)
    hours_remaining: str
    needs: tuple[Need, ...]


@dataclasses.dataclass(frozen=True)
class PlannedCourse:
    course_id: str
    title: str
    hours: str
    cost: str
    currency: str  # the deployment's, as the plans were costed in
    complete_by: dt.date | None


@dataclasses.dataclass(frozen=True)
class PersonMessage:
    """One reminder or overdue notice: every due license of one person."""

    employee_id: str
    name: str
    address: str | None  # None: no message can go (see address_problem)
    address_problem: str | None
    licenses: tuple[DueLicense, ...]
    plan: tuple[PlannedCourse, ...]

    @property
    def kind(self) -> str:
        return "overdue" if any(lic.kind == "overdue" for lic in self.licenses) else "reminder"

    @property
    def threshold_days(self) -> int | None:
        """The smallest reminder threshold covered: the one the message names."""
        covered = [t for lic in self.licenses for t in lic.thresholds]
        return min(covered) if covered else None


@dataclasses.dataclass(frozen=True)
class DigestLine:
    name: str
    employee_id: str
    clinic: str
    label: str
    status: str
    status_label: str
    deadline: dt.date | None
    days_remaining: int | None
    still_needed: str  # "2 h ethics, 4 h total"
    previous_status_label: str = ""


@dataclasses.dataclass(frozen=True)
class DigestMessage:
    kind: str  # clinic_digest | organisation_digest
    recipient: str
    clinic: str | None  # None: the organisation
    iso_week: str  # 2026-W48
    counts: tuple[tuple[str, int], ...]  # (status label, licenses), most urgent first
    attention: tuple[DigestLine, ...]
    changed: tuple[DigestLine, ...]
    first_digest: bool  # no earlier digest of this scope to compare with
    statuses: pl.DataFrame  # the scope's license keys and statuses, kept when the digest went out

    @property
    def licenses(self) -> tuple[str, ...]:
        return tuple(line.label for line in self.attention)


@dataclasses.dataclass(frozen=True)
class Inputs:
    as_of: dt.date
    due: pl.DataFrame  # notification_due_licenses.sql
    compliance: pl.DataFrame
    needs: pl.DataFrame  # unmet requirements with their shortfall
    plans: pl.DataFrame
    previous_statuses: pl.DataFrame  # notification_digest_statuses
    digests_sent: frozenset[tuple[str, str, str | None]]  # (kind, recipient, clinic) already sent this ISO week


_COMPLIANCE = """
select employee_id, first_name, last_name, lower(trim(email)) as email, clinic, license_state, license_type, license_number,
    deadline, days_remaining, status, hours_remaining, as_of_date
from clinician_compliance
order by employee_id, license_state, license_type, license_number
"""
_NEEDS = """
select employee_id, license_state, license_type, license_number, requirement, shortfall_hours, counted_hours, required_hours
from requirement_progress
where not met and shortfall_hours > 0
order by employee_id, license_state, license_type, license_number, requirement_order, requirement
"""
_PLANS = """
select employee_id, course_id, course_title, hours, cost, (select currency from learning_plan_info) as currency, complete_by
from learning_plans
order by employee_id, complete_by, course_id
"""


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def read_inputs(con: duckdb.DuckDBPyConnection, settings: NotificationSettings, as_of: dt.date) -> Inputs:
    run_sql(con, "notification_log")
    dates = [d for (d,) in con.execute("select distinct as_of_date from clinician_compliance").fetchall()]
    if dates and dates != [as_of]:
        raise StaleComplianceError(
            f"the warehouse holds compliance as of {', '.join(map(str, sorted(dates)))}, not {as_of}: "
            f"run `ce-compliance run --as-of {as_of}` first"
        )
    due = con.sql(
        read_sql("notification_due_licenses"),
        params={"as_of": as_of, "reminder_days": list(settings.reminder_days), "overdue_every_days": settings.overdue_every_days},
    ).pl()
    sent = con.execute(
        "select distinct kind, recipient, clinic from notification_messages "
        "where status = 'sent' and kind like '%digest' and iso_week = ? and as_of_date <= ?",
        [iso_week(as_of), as_of],
    ).fetchall()
    [(has_plans,)] = con.execute("select count(*) from information_schema.tables where table_name = 'learning_plans'").fetchall()
    return Inputs(
        as_of=as_of,
        due=due,
        compliance=con.sql(_COMPLIANCE).pl(),
        needs=con.sql(_NEEDS).pl(),
        plans=con.sql(_PLANS).pl() if has_plans else pl.DataFrame(schema=dict.fromkeys(("employee_id", "course_id"), pl.String)),
        previous_statuses=con.sql("select * from notification_digest_statuses").pl(),
        digests_sent=frozenset(sent),
    )


def _addresses(compliance: pl.DataFrame) -> dict[str, tuple[str | None, str | None]]:
    """employee_id -> (the address a message may go to, else None and why not)."""
    people_by_address: dict[str, set[str]] = {}
    addresses_by_person: dict[str, set[str]] = {}
    for employee_id, address in compliance.select("employee_id", "email").unique().iter_rows():
        addresses_by_person.setdefault(employee_id, set())
        if address:
            addresses_by_person[employee_id].add(address)
            people_by_address.setdefault(address, set()).add(employee_id)
    found = {}
    for employee_id, addresses in addresses_by_person.items():
        if not addresses:
            found[employee_id] = (None, "no email on the roster")
        elif len(addresses) > 1:
            found[employee_id] = (None, "the roster gives this person several emails")
        else:
            [address] = addresses
            if one_address(address) is None:
                found[employee_id] = (None, "invalid_email: the roster email is not one valid address")
            elif len(people_by_address[address]) > 1:
                # A shared inbox would show one person's licenses to the others.
                found[employee_id] = (None, "the roster gives this email to several people")
            else:
                found[employee_id] = (address, None)
    return found


def _needs_by_license(needs: pl.DataFrame) -> dict[tuple, tuple[Need, ...]]:
    found: dict[tuple, list[Need]] = {}
    for row in needs.iter_rows(named=True):
        found.setdefault(tuple(row[k] for k in LICENSE_KEY), []).append(
            Need(
                requirement_label(row["requirement"]),
                hours_text(row["shortfall_hours"]),
                hours_text(row["counted_hours"]),
                hours_text(row["required_hours"]),
            )
        )
    return {key: tuple(lines) for key, lines in found.items()}


def _still_needed(needs: tuple[Need, ...]) -> str:
    return ", ".join(f"{need.shortfall_hours} h {need.requirement}" for need in needs)


def person_messages(inputs: Inputs) -> list[PersonMessage]:
    """One message per person with a due license, in employee_id order."""
    if inputs.due.is_empty():
        return []
    addresses = _addresses(inputs.compliance)
    needs = _needs_by_license(inputs.needs)
    licenses = {tuple(row[k] for k in LICENSE_KEY): row for row in inputs.compliance.iter_rows(named=True)}
    plans: dict[str, list[PlannedCourse]] = {}
    for row in inputs.plans.iter_rows(named=True):
        plans.setdefault(row["employee_id"], []).append(
            PlannedCourse(one_line(row["course_id"]), one_line(row["course_title"]), hours_text(row["hours"]), money_text(row["cost"]), row["currency"], row["complete_by"])
        )
    due_by_person: dict[str, list[DueLicense]] = {}
    for row in inputs.due.iter_rows(named=True):
        key = tuple(row[k] for k in LICENSE_KEY)
        lic = licenses[key]
        due_by_person.setdefault(row["employee_id"], []).append(
            DueLicense(
                label=license_label(*key[1:]),
                key=key,
                deadline=lic["deadline"],
                days_remaining=lic["days_remaining"],
                status=lic["status"],
                status_label=STATUS_STYLES[lic["status"]].label,
                kind=row["kind"],
                thresholds=tuple(row["thresholds"]),
                hours_remaining=hours_text(lic["hours_remaining"]),
                needs=needs.get(key, ()),
            )
        )
    messages = []
    for employee_id, due in sorted(due_by_person.items()):
        first = licenses[due[0].key]
        address, problem = addresses[employee_id]
        messages.append(
            PersonMessage(
                employee_id=employee_id,
                name=one_line(f"{first['first_name'] or ''} {first['last_name'] or ''}"),
                address=address,
                address_problem=problem,
                licenses=tuple(due),
                plan=tuple(plans.get(employee_id, ())),
            )
        )
    return messages


def _digest_lines(scope: pl.DataFrame, needs: dict[tuple, tuple[Need, ...]], previous: dict[tuple, str] | None) -> tuple[list, list]:
    attention, changed = [], []
    for row in scope.iter_rows(named=True):
        key = tuple(row[k] for k in LICENSE_KEY)
        line = DigestLine(
            name=one_line(f"{row['first_name'] or ''} {row['last_name'] or ''}"),
            employee_id=one_line(row["employee_id"]),
            clinic=one_line(row["clinic"]),
            label=license_label(*key[1:]),
            status=row["status"],
            status_label=STATUS_STYLES[row["status"]].label,
            deadline=row["deadline"],
            days_remaining=row["days_remaining"],
            still_needed=_still_needed(needs.get(key, ())),
        )
        if row["status"] in ATTENTION_STATUSES:
            attention.append(line)
        if previous is not None and previous.get(key) != row["status"]:
            before = previous.get(key)
            changed.append(dataclasses.replace(line, previous_status_label=STATUS_STYLES[before].label if before in STATUS_STYLES else "new"))
    urgency = {status: style.urgency for status, style in STATUS_STYLES.items()}
    attention.sort(key=lambda line: (urgency[line.status], line.deadline or dt.date.max, line.clinic, line.employee_id, line.label))
    changed.sort(key=lambda line: (urgency[line.status], line.clinic, line.employee_id, line.label))
    return attention, changed


def digest_messages(inputs: Inputs, settings: NotificationSettings) -> tuple[list[DigestMessage], list[str]]:
    """The digests due this run, and warnings (a configured clinic no license belongs to)."""
    if inputs.as_of.weekday() < settings.digest_weekday_number:
        return [], []
    week = iso_week(inputs.as_of)
    needs = _needs_by_license(inputs.needs)
    # a configured clinic is every roster spelling of it (`clinic_key`: `North Clinic`, `north clinic`), named by the
    # first in sort order, so that its digest and the week's record of it do not depend on which the roster lists first
    spellings = clinic_spellings(inputs.compliance.get_column("clinic").unique().drop_nulls())
    scopes: list[tuple[str, str | None, tuple[str, ...], pl.DataFrame]] = []
    warnings = []
    for configured, recipients in sorted(settings.clinic_managers.items()):
        names = spellings.get(clinic_key(configured))
        if names is None:
            warnings.append(f"notifications.clinic_managers names {configured!r}, which no current license is at: no digest")
            continue
        scopes.append(("clinic_digest", names[0], recipients, inputs.compliance.filter(pl.col("clinic").is_in(names))))
    if settings.organisation:
        scopes.append(("organisation_digest", None, settings.organisation, inputs.compliance))
    digests = []
    for kind, clinic, recipients, scope in scopes:
        due_to = [r for r in recipients if (kind, r, clinic) not in inputs.digests_sent]
        if not due_to:
            continue
        kept = inputs.previous_statuses.filter(pl.col("clinic").is_null() if clinic is None else pl.col("clinic") == clinic)
        previous = {tuple(row[k] for k in LICENSE_KEY): row["status"] for row in kept.iter_rows(named=True)} if kept.height else None
        attention, changed = _digest_lines(scope, needs, previous)
        counts = scope.group_by("status").len()
        by_status = dict(counts.iter_rows())
        ordered = sorted(STATUS_STYLES.items(), key=lambda item: item[1].urgency)
        statuses = scope.select(*LICENSE_KEY, "status")
        for recipient in due_to:
            digests.append(
                DigestMessage(
                    kind=kind,
                    recipient=recipient,
                    clinic=clinic,
                    iso_week=week,
                    counts=tuple((style.label, by_status.get(status, 0)) for status, style in ordered),
                    attention=tuple(attention),
                    changed=tuple(changed),
                    first_digest=previous is None,
                    statuses=statuses,
                )
            )
    return digests, warnings
