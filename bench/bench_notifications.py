"""Benchmark: the notify step for N due reminders against a local SMTP server (aiosmtpd on 127.0.0.1).

Generates N licenses of N people, each 7 days from its deadline with two unmet requirements, in a scratch
warehouse; then times deciding and building the messages alone (a preview), and a whole real run (deciding and
building again, then sending over one SMTP connection and recording). Prints seconds and messages per
second; asserts nothing.

    .venv/bin/python bench/bench_notifications.py [--reminders 2000,10000] [--outbox]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import pathlib
import socket
import tempfile
import time

import duckdb
from aiosmtpd.controller import Controller

from pipelines.notifications.run import notify
from pipelines.notifications.settings import NotificationSettings

AS_OF = dt.date(2026, 11, 23)
_GENERATE = """
create or replace table clinician_compliance as
select
    getvariable('as_of')::date as as_of_date, printf('%07d', i) as employee_id,
    ['María', 'Tom', 'Aisha', 'Li'][1 + i % 4] as first_name, ['García', 'O''Neil', 'Khan', 'Nguyễn'][1 + i % 4] as last_name,
    printf('e%07d@example.org', i) as email, printf('Clinic %03d', i // 200) as clinic,
    'TX' as license_state, 'LPC' as license_type, printf('7%07d', i) as license_number,
    getvariable('as_of')::date + 7 as deadline, 7 as days_remaining, 'at_risk' as status, 6::decimal(18, 4) as hours_remaining
from range(getvariable('n')) t(i);
create or replace table requirement_progress as
select employee_id, license_state, license_type, license_number, r.requirement, r.requirement_order,
    r.required::decimal(18, 4) as required_hours, (r.required - 6)::decimal(18, 4) as counted_hours, false as met,
    6::decimal(18, 4) as shortfall_hours
from clinician_compliance, (values ('total', 0, 24), ('ethics', 1, 6)) r(requirement, requirement_order, required);
"""


class Counter:
    def __init__(self):
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        self.accepted += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench(n: int, work: pathlib.Path, outbox: bool) -> None:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=free_port())
    controller.start()
    con = duckdb.connect(str(work / f"warehouse-{n}.duckdb"))
    try:
        con.execute("set variable as_of = ?", [AS_OF])
        con.execute("set variable n = ?", [n])
        con.execute(_GENERATE)
        section = {
            "smtp": {"host": "127.0.0.1", "port": controller.port, "starttls": False},
            "sender": "CE Compliance <ce@example.org>",
            **({"outbox": str(work / f"outbox-{n}")} if outbox else {}),
        }
        settings = NotificationSettings.model_validate(section)
        connect = lambda: contextlib.nullcontext(con)  # noqa: E731
        started = time.perf_counter()
        previewed = notify(settings, AS_OF, AS_OF, "bench-preview", connect, preview=True, keep_records=False)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        outcome = notify(settings, AS_OF, AS_OF, "bench-send", connect, environ={})
        send_s = time.perf_counter() - started
        sent = outcome.by_status().get("sent", 0)
        print(
            f"{n:>8,} reminders: decide + build {build_s:6.2f} s ({len(previewed.records) / build_s:8,.0f}/s); "
            f"decide + build + send + record {send_s:6.2f} s ({sent / send_s:8,.0f} messages/s); server accepted {counter.accepted:,}"
            + (" (with outbox)" if outbox else "")
        )
    finally:
        con.close()
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", default="2000,10000", help="comma-separated sizes")
    parser.add_argument("--outbox", action="store_true", help="also write every message to an outbox folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for n in (int(size) for size in args.reminders.split(",")):
            bench(n, pathlib.Path(work), args.outbox)


if __name__ == "__main__":
    main()
