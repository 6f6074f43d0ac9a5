"""Messages as the standard `email` package builds them: plain text with an HTML alternative, rendered
from Jinja2 templates (HTML autoescaped), one recipient each, header values on one line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.policy
import email.utils
from email.message import EmailMessage

import jinja2

from pipelines.notifications.due import DigestMessage, PersonMessage, one_line
from pipelines.notifications.settings import NotificationSettings

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines.notifications", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One message of a run, with what notifications.csv and the warehouse record about it."""

    kind: str  # reminder | overdue | clinic_digest | organisation_digest | operator_alert
    recipient: str | None
    employee_id: str | None
    clinic: str | None
    licenses: tuple[str, ...]
    threshold_days: int | None
    iso_week: str | None
    message: EmailMessage | None  # None: no message can go (`error` says why)
    error: str | None = None
    source: PersonMessage | DigestMessage | None = None

    @property
    def message_id(self) -> str | None:
        return self.message["Message-ID"] if self.message is not None else None


def _build(settings: NotificationSettings, recipient: str, subject: str, template: str, context: dict, now: dt.datetime) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = settings.sender
    message["To"] = recipient  # exactly one: addresses were checked by one_address
    message["Subject"] = one_line(subject)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid(domain=settings.sender_address.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a robot
    context = {**context, "site_url": settings.site_url}
    message.set_content(_templates.get_template(f"{template}.txt").render(context))
    message.add_alternative(_templates.get_template(f"{template}.html").render(context), subtype="html")
    return message


def person_outgoing(settings: NotificationSettings, person: PersonMessage, as_of: dt.date, now: dt.datetime) -> Outgoing:
    kind = person.kind
    message = None
    if person.address is not None:
        if kind == "overdue":
            subject = "Continuing education overdue: a license deadline has passed"
        else:
            subject = f"Continuing education reminder: a license deadline within {person.threshold_days} days"
        message = _build(settings, person.address, subject, "person", {"person": person, "as_of": as_of, "kind": kind}, now)
    return Outgoing(
        kind=kind,
        recipient=person.address,
        employee_id=person.employee_id,
        clinic=None,
        licenses=tuple(lic.label for lic in person.licenses),
        threshold_days=person.threshold_days,
        iso_week=None,
        message=message,
        error=person.address_problem,
        source=person,
    )


def digest_outgoing(settings: NotificationSettings, digest: DigestMessage, as_of: dt.date, now: dt.datetime) -> Outgoing:
    scope = one_line(digest.clinic) if digest.clinic is not None else "the organisation"
    subject = f"CE compliance digest for {scope}, week {digest.iso_week}"
    context = {"digest": digest, "scope": scope, "as_of": as_of}
    return Outgoing(
        kind=digest.kind,
        recipient=digest.recipient,
        employee_id=None,
        clinic=digest.clinic,
        licenses=digest.licenses,
        threshold_days=None,
        iso_week=digest.iso_week,
        message=_build(settings, digest.recipient, subject, "digest", context, now),
        source=digest,
    )


def operator_alerts(
    settings: NotificationSettings, job_name: str, run_id: str, failures: list[tuple[str, str]], now: dt.datetime, run_url: str | None = None
) -> list[EmailMessage]:
    """One message per operator naming the failed run, each failed step and its error (docs/notifications.md)."""
    subject = f"CE compliance run failed: {job_name} {run_id[:8]}"
    context = {"job_name": job_name, "run_id": run_id, "failures": failures, "run_url": run_url}
    return [_build(settings, operator, subject, "operator_alert", context, now) for operator in settings.operators]
