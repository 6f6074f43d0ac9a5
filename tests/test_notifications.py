"""Reminders and digests by email (SPEC "Reminders and digests"), against a real SMTP server on 127.0.0.1
(aiosmtpd), on real warehouses: the whole graph through Dagster for the run's contract, the engine's SQL
models alone for the due rules (seconds each)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import email
import email.policy
import json
import socket
import textwrap

import dagster as dg
import duckdb
import pytest
from aiosmtpd.controller import Controller

from pipelines.cli import main
from pipelines.definitions import build_definitions
from pipelines.notifications.run import NOTIFICATION_COLUMNS, notify
from pipelines.settings import ConfigError, load_settings
from tests.support import BASE_CONFIG, DEFAULT_RULES, board_row, evaluate, license_row, make_deployment, materialize, roster_row

AS_OF = "2026-11-23"  # a Monday: digests are due
RULE = DEFAULT_RULES[0]  # TX LPC: 24 h in 24 months, 4 h ethics


@dataclasses.dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class Inbox:
    """An aiosmtpd handler keeping what it accepted; `refuse` makes it answer DATA with that reply instead."""

    def __init__(self):
        self.received: list[Received] = []
        self.refuse: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.rcpt_tos == [address]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def notifications_yaml(port: int, **overrides) -> str:
    section = {
        "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "timeout_seconds": 5},
        "sender": "CE Compliance <ce@example.org>",
        "site_url": "https://ce.example.org",
        "clinic_managers": {"North Clinic": ["nora@example.org"], "South Clinic": ["sam@example.org"]},
        "organisation": ["compliance@example.org"],
        "outbox": "outbox",
        **overrides,
    }
    return "notifications: " + json.dumps(section) + "\n"


# As of 2026-11-23: Ana's license is due in 7 days, Ben's in 53, Cy's was due 13 days ago; Dee's is far off.
PEOPLE = [
    roster_row("000001", first_name="Ana", last_name="Ruiz", license_expiration_date="2026-11-30"),
    roster_row("000002", first_name="Ben", last_name="Okafor", license_expiration_date="2027-01-15"),
    roster_row("000003", first_name="Cy", last_name="Lee", clinic="South Clinic", license_expiration_date="2026-11-10"),
    roster_row("000004", first_name="Dee", last_name="Park", clinic="South Clinic", license_expiration_date="2028-06-30"),
]


def today(date: str) -> dict:
    return {"ops": {"notifications": {"config": {"today": date}}}}


def read_csv(path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_a_run_on_its_own_date_sends_each_person_their_own_licenses_and_each_manager_their_clinic(tmp_path, smtp):
    controller, inbox = smtp
    config = make_deployment(
        tmp_path, roster=PEOPLE, board=[board_row("7000001", hours="20"), board_row("7000002", hours="3")],
        config=BASE_CONFIG + notifications_yaml(controller.port),
    )
    result = materialize(config, AS_OF, through_publish=True, run_config=today(AS_OF))
    assert result.success

    assert sorted(r.rcpt_tos[0] for r in inbox.received) == sorted(
        ["e000001@example.org", "e000002@example.org", "e000003@example.org", "nora@example.org", "sam@example.org", "compliance@example.org"]
    )
    for received in inbox.received:  # one recipient each, in the envelope and the headers
        assert len(received.rcpt_tos) == 1 and received.message["To"] == received.rcpt_tos[0]
        assert received.message["Cc"] is None and received.message["Bcc"] is None
        assert received.mail_from == "ce@example.org"

    [ana] = inbox.to("e000001@example.org")
    assert "within 7 days" in ana.message["Subject"]
    assert "TX LPC 7000001: deadline 2026-11-30, 7 days left (At risk)" in ana.text
    assert "- total: 4 h (20 of 24 h counted)" in ana.text and "- ethics: 4 h (0 of 4 h counted)" in ana.text
    assert "7000002" not in ana.text and "7000003" not in ana.text and "Ben" not in ana.text
    [ben] = inbox.to("e000002@example.org")
    assert "within 60 days" in ben.message["Subject"] and "7000001" not in ben.text
    [cy] = inbox.to("e000003@example.org")
    assert "overdue" in cy.message["Subject"].lower() and "13 days overdue" in cy.text

    [nora] = inbox.to("nora@example.org")
    assert "North Clinic" in nora.message["Subject"]
    assert "7000001" in nora.text and "7000002" in nora.text and "7000003" not in nora.text and "7000004" not in nora.text
    [sam] = inbox.to("sam@example.org")
    assert "7000003" in sam.text and "7000001" not in sam.text
    [organisation] = inbox.to("compliance@example.org")
    assert all(number in organisation.text for number in ("7000001", "7000002", "7000003"))

    site = tmp_path / "out" / AS_OF
    rows = read_csv(site / "notifications.csv")
    assert list(rows[0]) == list(NOTIFICATION_COLUMNS)
    assert [(r["kind"], r["recipient"], r["employee_id"], r["clinic"], r["licenses"], r["threshold_days"], r["status"]) for r in rows] == [
        ("clinic_digest", "nora@example.org", "", "North Clinic", "TX LPC 7000001;TX LPC 7000002", "", "sent"),
        ("clinic_digest", "sam@example.org", "", "South Clinic", "TX LPC 7000003", "", "sent"),
        ("organisation_digest", "compliance@example.org", "", "", "TX LPC 7000003;TX LPC 7000001;TX LPC 7000002", "", "sent"),
        ("overdue", "e000003@example.org", "000003", "", "TX LPC 7000003", "", "sent"),
        ("reminder", "e000001@example.org", "000001", "", "TX LPC 7000001", "7", "sent"),
        ("reminder", "e000002@example.org", "000002", "", "TX LPC 7000002", "60", "sent"),
    ]
    assert {r["message_id"] for r in rows} == {r.message["Message-ID"] for r in inbox.received}
    manifest = json.loads((site / "manifest.json").read_text())
    assert "notifications.csv" in [o["file"] for o in manifest["outputs"]]
    assert len(list((tmp_path / "outbox" / AS_OF).glob("*.eml"))) == 6

    # A second run the same day sends nothing, and the site still tells what the first one sent.
    assert materialize(config, AS_OF, through_publish=True, run_config=today(AS_OF)).success
    assert len(inbox.received) == 6
    assert [r["status"] for r in read_csv(site / "notifications.csv")] == ["sent"] * 6

    # An as-of rerun of an earlier date sends nothing and records its messages as previews.
    assert materialize(config, "2026-11-20", through_publish=True, run_config=today(AS_OF)).success
    assert len(inbox.received) == 6
    rerun = read_csv(tmp_path / "out" / "2026-11-20" / "notifications.csv")
    assert rerun and {r["status"] for r in rerun} == {"preview"}
    assert list((tmp_path / "outbox" / "2026-11-20" / "preview").glob("*.eml"))
