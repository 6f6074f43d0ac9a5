"""One notify step: decide what is due, build the messages, write them to the outbox, send them (only on
the run's own date), record what happened in the warehouse, and list it in the site's notifications.csv.

A message is recorded `sent` only after the server accepted it, and records are written every
RECORD_EVERY messages: a run that dies in between may send a message again, never lose one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import datetime as dt
import json
import os
import pathlib
import re
from collections.abc import Callable, Iterator, Mapping

import duckdb
import polars as pl

from pipelines.notifications.due import LICENSE_KEY, digest_messages, person_messages, read_inputs
from pipelines.notifications.messages import Outgoing, digest_outgoing, person_outgoing
from pipelines.notifications.settings import NotificationSettings
from pipelines.notifications.smtp import SmtpSession
from pipelines.warehouse import run_sql
from reports.extracts import MANIFEST, NOTIFICATIONS, manifest_output, manifest_text, write_csv

KINDS = ("reminder", "overdue", "clinic_digest", "organisation_digest")
RECORD_EVERY = 50

Connect = Callable[[], contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclasses.dataclass(frozen=True)
class Record:
    outgoing: Outgoing
    status: str  # sent | failed | no_address | preview
    error: str | None


@dataclasses.dataclass(frozen=True)
class NotifyOutcome:
    as_of: dt.date
    sending: bool  # false: an as-of rerun of another date, or a preview
    records: tuple[Record, ...]
    outbox: pathlib.Path | None
    warnings: tuple[str, ...]

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.status == "failed"]

    def summary(self) -> list[str]:
        lines = [
            f"Notifications as of {self.as_of}: "
            + ("sent" if self.sending else "not sent (preview: a run sends only on its own date)")
        ]
        for kind in KINDS:
            of_kind = [r for r in self.records if r.outgoing.kind == kind]
            if of_kind:
                counts = {}
                for r in of_kind:
                    counts[r.status] = counts.get(r.status, 0) + 1
                lines.append(f"  {kind}: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
        if not self.records:
            lines.append("  nothing is due")
        for record in self.failed:
            lines.append(f"  failed: {record.outgoing.kind} to {record.outgoing.recipient}: {record.error}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.outbox is not None:
            lines.append(f"  outbox: {self.outbox}")
        return lines


def _file_name(outgoing: Outgoing) -> str:
    unique = re.sub(r"[^A-Za-z0-9]+", "-", (outgoing.message_id or "").strip("<>").partition("@")[0])
    who = re.sub(r"[^A-Za-z0-9@._+-]+", "_", outgoing.recipient or "")
    return f"{outgoing.kind}-{who}-{unique}.eml"


def write_outbox(outbox: pathlib.Path, item: Outgoing) -> str | None:
    """The message as an .eml file; returns the problem (a full disk must not stop the sending)."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        if item.message is not None:
            (outbox / _file_name(item)).write_bytes(item.message.as_bytes())
    except OSError as error:
        return f"cannot write the outbox {outbox}: {error}"
    return None


def _message_rows(records: list[Record], run_id: str, as_of: dt.date, run_date: dt.date, recorded_at: dt.datetime) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "run_id": run_id, "as_of_date": as_of, "run_date": run_date, "recorded_at": recorded_at,
                "kind": r.outgoing.kind, "recipient": r.outgoing.recipient, "employee_id": r.outgoing.employee_id,
                "clinic": r.outgoing.clinic, "licenses": ";".join(r.outgoing.licenses) or None,
                "threshold_days": r.outgoing.threshold_days, "iso_week": r.outgoing.iso_week, "status": r.status,
                "message_id": r.outgoing.message_id, "error": r.error,
            }
            for r in records
        ],
        schema={
            "run_id": pl.String, "as_of_date": pl.Date, "run_date": pl.Date, "recorded_at": pl.Datetime("us"),
            "kind": pl.String, "recipient": pl.String, "employee_id": pl.String, "clinic": pl.String, "licenses": pl.String,
            "threshold_days": pl.Int32, "iso_week": pl.String, "status": pl.String, "message_id": pl.String, "error": pl.String,
        },
    )


def _item_rows(records: list[Record], run_id: str, as_of: dt.date) -> pl.DataFrame:
    rows = []
    for r in records:
        if r.outgoing.kind not in ("reminder", "overdue"):
            continue
        for lic in r.outgoing.source.licenses:
            for threshold in lic.thresholds or (None,):
                rows.append(
                    dict(zip(LICENSE_KEY, lic.key, strict=True))
                    | {"run_id": run_id, "as_of_date": as_of, "message_id": r.outgoing.message_id, "kind": lic.kind,
                       "deadline": lic.deadline, "threshold_days": threshold, "status": r.status}
                )
    schema = {
        "run_id": pl.String, "as_of_date": pl.Date, "message_id": pl.String, "kind": pl.String,
        **dict.fromkeys(LICENSE_KEY, pl.String), "deadline": pl.Date, "threshold_days": pl.Int32, "status": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def record(con: duckdb.DuckDBPyConnection, records: list[Record], run_id: str, as_of: dt.date, run_date: dt.date) -> None:
    """Append the records, and for each digest that went out its licenses' statuses, in one transaction."""
    if not records:
        return
    recorded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        for table, frame in (
            ("notification_messages", _message_rows(records, run_id, as_of, run_date, recorded_at)),
            ("notification_items", _item_rows(records, run_id, as_of)),
        ):
            con.from_arrow(frame.to_arrow()).query("incoming", f"insert into {table} by name select * from incoming")
        done: set = set()
        for r in records:
            digest = r.outgoing.source
            if r.status != "sent" or r.outgoing.kind not in ("clinic_digest", "organisation_digest") or digest.clinic in done:
                continue
            done.add(digest.clinic)
            con.execute("delete from notification_digest_statuses where clinic is not distinct from ?", [digest.clinic])
            statuses = digest.statuses.with_columns(clinic=pl.lit(digest.clinic, pl.String), as_of_date=pl.lit(as_of))
            con.from_arrow(statuses.to_arrow()).query("incoming", "insert into notification_digest_statuses by name select * from incoming")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def notify(
    settings: NotificationSettings,
    as_of: dt.date,
    today: dt.date,
    run_id: str,
    connect: Connect,
    preview: bool = False,
    keep_records: bool = True,
    environ: Mapping[str, str] | None = None,
) -> NotifyOutcome:
    """What is due as of `as_of`, sent when `as_of` is `today` (the run's own calendar date) and not `preview`;
    `keep_records=False` records nothing; `environ` holds the SMTP login (default: os.environ)."""
    now = dt.datetime.now(dt.UTC)
    with connect() as con:
        inputs = read_inputs(con, settings, as_of)
    people = person_messages(inputs) if settings.clinicians else []
    digests, warnings = digest_messages(inputs, settings)
    # built one at a time and let go once sent: at 100k reminders, holding every MIME message took 15 GB
    outgoing = itertools.chain(
        (person_outgoing(settings, p, as_of, now) for p in people), (digest_outgoing(settings, d, as_of, now) for d in digests)
    )

    sending = as_of == today and not preview
    outbox = None
    if settings.outbox is not None:
        outbox = settings.outbox / as_of.isoformat() / ("" if sending else "preview")

    records: list[Record] = []
    pending: list[Record] = []

    def flush() -> None:
        if keep_records and pending:
            with connect() as con:
                record(con, pending, run_id, as_of, today)
        records.extend(pending)
        pending.clear()

    with SmtpSession(settings.smtp, os.environ if environ is None else environ) if sending else contextlib.nullcontext() as session:
        for item in outgoing:
            if outbox is not None and (problem := write_outbox(outbox, item)) and problem not in warnings:
                warnings.append(problem)
            if item.message is None:
                pending.append(Record(item, "no_address", item.error))
            elif session is None:
                pending.append(Record(item.without_message(), "preview", None))
            else:
                error = session.send(item.message, settings.sender_address, item.recipient)
                pending.append(Record(item.without_message(), "failed" if error else "sent", error))
            if len(pending) >= RECORD_EVERY:
                flush()
        flush()
    return NotifyOutcome(as_of=as_of, sending=sending, records=tuple(records), outbox=outbox, warnings=tuple(warnings))


def notifications_frame(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """notifications.csv's rows for the as-of date: the latest record of each message of that date."""
    run_sql(con, "notification_log")
    return con.sql(NOTIFICATIONS.sql, params={"as_of": as_of}).pl()


def write_into_site(site: pathlib.Path, frame: pl.DataFrame) -> pathlib.Path:
    """notifications.csv into an already published site, and into its manifest's outputs; each file is
    replaced whole (written beside it, then renamed), so a reader never sees half of one."""
    path = site / NOTIFICATIONS.file
    with _replaced(path) as temporary:
        rows = write_csv([frame], NOTIFICATIONS.columns, temporary)
    manifest_path = site / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        outputs = [o for o in manifest.get("outputs", []) if o.get("file") != NOTIFICATIONS.file]
        outputs.append(manifest_output(site, NOTIFICATIONS.file, rows))
        manifest["outputs"] = sorted(outputs, key=lambda o: o["file"])
        with _replaced(manifest_path) as temporary:
            temporary.write_text(manifest_text(manifest), encoding="utf-8")
    return path


@contextlib.contextmanager
def _replaced(path: pathlib.Path) -> Iterator[pathlib.Path]:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
