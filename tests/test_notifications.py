"""Reminders and digests by email (docs/notifications.md), against a real SMTP server on 127.0.0.1
(aiosmtpd), on real warehouses: the whole graph through Dagster for the run's contract, the engine's SQL
models alone for the due rules (seconds each)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import pathlib
import textwrap

import dagster as dg
import duckdb
import pytest

from pipelines.cli import main
from pipelines.definitions import build_definitions
from pipelines.notifications.run import notify
from pipelines.notifications.settings import NotificationSettings
from pipelines.settings import ConfigError, load_settings
from reports.extracts import NOTIFICATIONS
from tests.mail_server import Inbox, free_port, smtp_server
from tests.support import (
    BASE_CONFIG, DEFAULT_RULES, board_row, catalog_row, evaluate, license_row, make_deployment, materialize, roster_row, write_csv,
)

AS_OF = "2026-11-23"  # a Monday: digests are due
RULE = DEFAULT_RULES[0]  # TX LPC: 24 h in 24 months, 4 h ethics


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


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


def read_csv(path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:  # the byte-order mark is not part of the first column's name
        return list(csv.DictReader(f))


def test_a_run_on_its_own_date_sends_each_person_their_own_licenses_and_each_manager_their_clinic(tmp_path, smtp):
    controller, inbox = smtp
    config = make_deployment(
        tmp_path, roster=PEOPLE, board=[board_row("7000001", hours="20"), board_row("7000002", hours="3")],
        config=BASE_CONFIG + notifications_yaml(controller.port),
        catalog=[catalog_row("K-1", hours="4", cost="30", category="ethics"), catalog_row("K-2", hours="20", cost="100")],
    )
    result = materialize(config, AS_OF, through_publish=True)
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
    assert "- Catalog course K-1 (K-1): 4 h, cost 30.00 USD, complete by 2026-11-30" in ana.text and "K-2" not in ana.text
    assert "7000002" not in ana.text and "7000003" not in ana.text and "Ben" not in ana.text
    [ben] = inbox.to("e000002@example.org")
    assert "within 60 days" in ben.message["Subject"] and "7000001" not in ben.text
    [cy] = inbox.to("e000003@example.org")
    assert "overdue" in cy.message["Subject"].lower() and "13 days overdue" in cy.text
    assert "overdue since 2026-11-10: as soon as possible" in cy.text and "complete by" not in cy.text  # its plan

    [nora] = inbox.to("nora@example.org")
    assert "North Clinic" in nora.message["Subject"]
    assert "7000001" in nora.text and "7000002" in nora.text and "7000003" not in nora.text and "7000004" not in nora.text
    [sam] = inbox.to("sam@example.org")
    assert "7000003" in sam.text and "7000001" not in sam.text
    [organisation] = inbox.to("compliance@example.org")
    assert all(number in organisation.text for number in ("7000001", "7000002", "7000003"))

    site = tmp_path / "out" / AS_OF
    rows = read_csv(site / "notifications.csv")
    assert list(rows[0]) == list(NOTIFICATIONS.columns)
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
    assert 'href="notifications.csv"' in (site / "index.html").read_text(encoding="utf-8")
    assert len(list((tmp_path / "outbox" / AS_OF).glob("*.eml"))) == 6

    # A second run the same day sends nothing, and the site still tells what the first one sent.
    assert materialize(config, AS_OF, through_publish=True).success
    assert len(inbox.received) == 6
    assert [r["status"] for r in read_csv(site / "notifications.csv")] == ["sent"] * 6

    # An as-of rerun of an earlier date sends nothing and records its messages as previews.
    assert materialize(config, "2026-11-20", through_publish=True, now=f"{AS_OF}T12:00:00+00:00").success
    assert len(inbox.received) == 6
    rerun = read_csv(tmp_path / "out" / "2026-11-20" / "notifications.csv")
    assert rerun and {r["status"] for r in rerun} == {"preview"}
    assert list((tmp_path / "outbox" / "2026-11-20" / "preview").glob("*.eml"))


def test_a_refusing_server_leaves_messages_failed_the_run_still_publishes_and_the_next_run_sends_them(tmp_path, smtp, capsys):
    controller, inbox = smtp
    config = make_deployment(tmp_path, roster=PEOPLE[:1], config=BASE_CONFIG + notifications_yaml(controller.port, organisation=[], clinic_managers={}))
    inbox.refuse = "550 5.7.1 relaying denied"
    result = materialize(config, AS_OF, through_publish=True)
    assert result.success
    assert (tmp_path / "out" / "latest").resolve().name == AS_OF
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "notifications_sent"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    [row] = read_csv(tmp_path / "out" / AS_OF / "notifications.csv")
    assert (row["kind"], row["status"]) == ("reminder", "failed") and "550" in row["error"]
    assert inbox.received == []

    # The preview shows what is due (the failed reminder), sends nothing and records nothing.
    assert main(["notify", "--config", str(config), "--preview"]) == 0
    out = capsys.readouterr().out
    assert f"Notifications as of {AS_OF}: not sent" in out and "reminder: preview 1" in out
    assert inbox.received == []

    inbox.refuse = None
    assert materialize(config, AS_OF, through_publish=True).success
    [ana] = inbox.received
    assert ana.rcpt_tos == ["e000001@example.org"]
    [row] = read_csv(tmp_path / "out" / AS_OF / "notifications.csv")
    assert (row["status"], row["message_id"], row["error"]) == ("sent", ana.message["Message-ID"], "")


# ------------------------------------------------------------------------------------------------
# The due rules on the engine's own tables (support.evaluate), and notify() itself, in seconds
# ------------------------------------------------------------------------------------------------


def settings_of(port: int, **overrides) -> NotificationSettings:
    """The section notifications_yaml writes, without an outbox, as the configuration loader parses it."""
    section = json.loads(notifications_yaml(port, **overrides).removeprefix("notifications: "))
    section.pop("outbox")
    return NotificationSettings.model_validate(section)


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


def notify_on(con, settings, licenses, as_of: str, credits=(), today_: str | None = None, environ=None):
    """Evaluate the licenses as of `as_of` with the engine, then run the notify step on the same warehouse."""
    evaluate(con, [RULE], licenses, credits, as_of=as_of)
    day = dt.date.fromisoformat(as_of)
    return notify(
        settings, day, dt.date.fromisoformat(today_ or as_of), f"run-{as_of}", lambda: contextlib.nullcontext(con),
        environ=environ if environ is not None else {},
    )


def sent(outcome) -> list[tuple]:
    return [(r.outgoing.kind, r.outgoing.recipient, r.outgoing.threshold_days) for r in outcome.records if r.status == "sent"]


def test_each_threshold_fires_once_and_overdue_notices_repeat_every_n_days(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(controller.port, organisation=[], clinic_managers={})
    ben = [license_row("000002", expires="2027-01-15", email="ben@example.org")]
    expected = {
        "2026-11-23": [("reminder", "ben@example.org", 60)],  # 53 days: 90 and 60 fall due together, one message names 60
        "2026-11-24": [],
        "2026-12-16": [("reminder", "ben@example.org", 30)],
        "2026-12-17": [],
        "2027-01-08": [("reminder", "ben@example.org", 7)],
        "2027-01-15": [],  # 0 days left: every threshold has been sent
        "2027-01-16": [("overdue", "ben@example.org", None)],
        "2027-01-22": [],
        "2027-01-23": [("overdue", "ben@example.org", None)],  # 7 days after the last notice
    }
    for as_of, messages in expected.items():
        assert sent(notify_on(warehouse, settings, ben, as_of)) == messages, as_of
    assert len(inbox.received) == 5

    once = settings.model_copy(update={"overdue_every_days": 0})
    assert sent(notify_on(warehouse, once, ben, "2027-02-20")) == []


def test_a_person_gets_one_message_for_all_their_due_licenses_and_the_second_run_of_a_day_sends_nothing(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(controller.port, organisation=[], clinic_managers={})
    two = [
        license_row("000001", expires="2026-11-30", email="ana@example.org"),
        license_row("000001", expires="2026-11-10", email="ana@example.org", license_state="TX", license_type="LMFT", license_number="LMFT-1"),
    ]
    rules = [RULE, {**RULE, "license_type": "LMFT"}]
    evaluate(warehouse, rules, two, as_of=AS_OF)
    connect = lambda: contextlib.nullcontext(warehouse)  # noqa: E731
    first = notify(settings, dt.date(2026, 11, 23), dt.date(2026, 11, 23), "run-1", connect)
    assert [(r.outgoing.kind, r.outgoing.licenses, r.outgoing.threshold_days, r.status) for r in first.records] == [
        ("overdue", ("TX LMFT LMFT-1", "TX LPC 7000001"), 7, "sent")
    ]
    [ana] = inbox.received
    assert "TX LMFT LMFT-1: deadline 2026-11-10, 13 days overdue" in ana.text and "TX LPC 7000001: deadline 2026-11-30, 7 days left" in ana.text
    again = notify(settings, dt.date(2026, 11, 23), dt.date(2026, 11, 23), "run-2", connect)
    assert again.records == () and len(inbox.received) == 1


def test_an_as_of_rerun_of_another_date_sends_nothing_and_records_previews(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(controller.port)
    outcome = notify_on(warehouse, settings, [license_row("000001", expires="2026-11-30", email="ana@example.org")], "2026-11-23", today_="2026-11-25")
    assert not outcome.sending and {r.status for r in outcome.records} == {"preview"}
    assert inbox.received == []
    # A preview sent nothing, so the reminder is still due on the real run of that date.
    assert sent(notify_on(warehouse, settings, [license_row("000001", expires="2026-11-30", email="ana@example.org")], "2026-11-23"))


def test_no_message_without_one_valid_address_of_the_persons_own(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(controller.port, organisation=[], clinic_managers={})
    licenses = [
        license_row("000001", expires="2026-11-30", email=None),
        license_row("000002", expires="2026-11-30", email="a@example.org, b@example.org"),
        license_row("000003", expires="2026-11-30", email="shared@example.org"),
        license_row("000004", expires="2026-11-30", email="shared@example.org"),
        license_row("000005", expires="2026-11-30", email="eve@example.org\r\nBcc: victim@example.org"),
        license_row("000006", expires="2026-11-30", email=" Fay@Example.org "),
    ]
    outcome = notify_on(warehouse, settings, licenses, AS_OF)
    assert [(r.outgoing.employee_id, r.status, r.error) for r in outcome.records] == [
        ("000001", "no_address", "no email on the roster"),
        ("000002", "no_address", "invalid_email: the roster email is not one valid address"),
        ("000003", "no_address", "the roster gives this email to several people"),
        ("000004", "no_address", "the roster gives this email to several people"),
        ("000005", "no_address", "invalid_email: the roster email is not one valid address"),
        ("000006", "sent", None),
    ]
    assert [r.rcpt_tos for r in inbox.received] == [["fay@example.org"]]


def test_markup_or_line_breaks_in_names_cannot_inject_a_header_or_html(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(controller.port, organisation=[], clinic_managers={"North\r\nBcc: victim@example.org": ["nora@example.org"]})
    evil = license_row(
        "000001", expires="2026-11-30", email="eve@example.org",
        first_name="Eve\r\nBcc: victim@example.org", last_name="<script>alert(1)</script>", clinic="North\r\nBcc: victim@example.org",
    )
    notify_on(warehouse, settings, [evil], AS_OF)
    assert sorted(r.rcpt_tos[0] for r in inbox.received) == ["eve@example.org", "nora@example.org"]
    for received in inbox.received:
        # Data reached no header but the one-line subject: no Bcc, no other header, no folded line break.
        assert set(received.message.keys()) == {"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"}
        assert received.message["To"] in ("eve@example.org", "nora@example.org")
        assert "<script>" not in received.html and "&lt;script&gt;" in received.html
        assert "\n" not in received.message["Subject"]
    [eve] = inbox.to("eve@example.org")
    assert "Dear Eve Bcc: victim@example.org <script>alert(1)</script>," in eve.text


def test_a_managers_digest_holds_their_clinic_only_once_a_week_with_the_changes_since_the_last(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(controller.port, clinicians=False, organisation=[], digest_weekday="wednesday",
                           clinic_managers={"north clinic": ["nora@example.org"], "Closed Clinic": ["x@example.org"]})
    licenses = [
        license_row("000001", expires="2027-02-25"),  # 94 days on Monday 2026-11-23: on track; at risk a week later
        license_row("000002", expires="2026-12-31"),
        license_row("000003", expires="2026-12-01", clinic="South Clinic"),
    ]
    monday = notify_on(warehouse, settings, licenses, "2026-11-23")
    assert monday.records == ()  # before this week's digest day
    thursday = notify_on(warehouse, settings, licenses, "2026-11-26")
    assert [(r.outgoing.kind, r.outgoing.recipient, r.outgoing.clinic, r.status) for r in thursday.records] == [
        ("clinic_digest", "nora@example.org", "North Clinic", "sent")
    ]
    assert thursday.warnings == ("notifications.clinic_managers names 'Closed Clinic', which no current license is at: no digest",)
    [first] = inbox.received
    assert "7000002" in first.text and "7000003" not in first.text
    assert "first digest" in first.text
    assert notify_on(warehouse, settings, licenses, "2026-11-27").records == ()  # same ISO week

    notify_on(warehouse, settings, licenses, "2026-12-02")
    second = inbox.received[-1]
    assert "TX LPC 7000001: On track -> At risk" in second.text
    assert "7000002: " not in second.text.split("Status changed")[1]


def test_a_clinic_spelt_in_several_cases_gets_one_digest_of_all_its_licenses_and_an_address_listed_twice_one_copy(warehouse, smtp):
    controller, inbox = smtp
    settings = settings_of(
        controller.port, clinicians=False, organisation=["o@example.org", "O@example.org"],
        clinic_managers={"North Clinic": ["nora@example.org", "nora@example.org"], "NORTH CLINIC": ["Nora@example.org", "sam@example.org"]},
    )
    licenses = [
        license_row("000001", expires="2026-12-20", clinic="North Clinic"),
        license_row("000003", expires="2026-12-21", clinic="north clinic"),
    ]
    for _ in range(3):  # the same digest whichever spelling the roster happens to list first
        evaluate(warehouse, [RULE], licenses, as_of=AS_OF)
        warehouse.execute("drop table if exists notification_messages")  # so that this week's digest is due again
        outcome = notify(settings, dt.date(2026, 11, 23), dt.date(2026, 11, 23), "run", lambda: contextlib.nullcontext(warehouse))
        assert [(r.outgoing.kind, r.outgoing.recipient, r.outgoing.clinic, r.outgoing.licenses) for r in outcome.records] == [
            ("clinic_digest", "nora@example.org", "North Clinic", ("TX LPC 7000001", "TX LPC 7000003")),
            ("clinic_digest", "sam@example.org", "North Clinic", ("TX LPC 7000001", "TX LPC 7000003")),
            ("organisation_digest", "o@example.org", None, ("TX LPC 7000001", "TX LPC 7000003")),
        ]
    assert len(inbox.received) == 9


def test_notifications_csv_holds_a_persons_latest_message_of_the_date_whatever_address_it_had(tmp_path, smtp):
    controller, inbox = smtp
    # an email the roster check lets through would be no address to send to: it is warned as not one
    config = make_deployment(tmp_path, roster=[roster_row("000001", email="ana@example.org.", license_expiration_date="2026-11-30")],
                             config=BASE_CONFIG + notifications_yaml(controller.port, organisation=[], clinic_managers={}))
    assert materialize(config, AS_OF, through_publish=True, now=f"{AS_OF}T12:00:00+00:00").success
    site = tmp_path / "out" / AS_OF
    assert [(r["employee_id"], r["status"]) for r in read_csv(site / "notifications.csv")] == [("000001", "no_address")]
    assert [(r["source_row"], r["check"], r["value"]) for r in read_csv(site / "data_quality_exceptions.csv")] == [
        ("2", "invalid_email", "ana@example.org.")
    ]
    # HR corrects the email; the second run of the day sends the reminder
    write_csv(tmp_path / "landing" / "roster" / "roster.csv", list(roster_row()),
              [roster_row("000001", email="ana@example.org", license_expiration_date="2026-11-30")])
    assert materialize(config, AS_OF, through_publish=True, now=f"{AS_OF}T13:00:00+00:00").success
    assert [(r["employee_id"], r["recipient"], r["status"]) for r in read_csv(site / "notifications.csv")] == [
        ("000001", "ana@example.org", "sent")
    ]


def test_a_login_refused_fails_every_message_of_the_run_and_credentials_come_from_the_environment(tmp_path):
    from aiosmtpd.smtp import AuthResult

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"ce" and auth_data.password == b"secret", handled=False)

    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (controller, inbox):
        con = duckdb.connect(str(tmp_path / "w.duckdb"))
        smtp_settings = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "timeout_seconds": 5, "username_env": "CE_SMTP_USER", "password_env": "CE_SMTP_PASSWORD"}
        settings = settings_of(controller.port, smtp=smtp_settings, organisation=[], clinic_managers={})
        people = [license_row("000001", expires="2026-11-30", email="ana@example.org"), license_row("000002", expires="2026-11-30", email="ben@example.org")]
        refused = notify_on(con, settings, people, AS_OF, environ={"CE_SMTP_USER": "ce", "CE_SMTP_PASSWORD": "wrong"})
        assert [r.status for r in refused.records] == ["failed", "failed"]
        assert "refused the login of 'ce'" in refused.records[0].error
        missing = notify_on(con, settings, people, AS_OF, environ={})
        assert "CE_SMTP_USER" in missing.records[0].error
        accepted = notify_on(con, settings, people, AS_OF, environ={"CE_SMTP_USER": "ce", "CE_SMTP_PASSWORD": "secret"})
        assert [r.status for r in accepted.records] == ["sent", "sent"] and len(inbox.received) == 2
        con.close()


def test_the_configuration_names_a_misspelt_key_and_without_a_section_nothing_changes(tmp_path):
    config = make_deployment(tmp_path, roster=PEOPLE[:1])
    assert load_settings(config).notifications is None
    for section, expected in (
        ({"smtp": {"host": "h"}, "sender": "ce@example.org", "reminder_dayz": [30]}, "`notifications.reminder_dayz` is not a known key"),
        ({"smtp": {"hostt": "h"}, "sender": "ce@example.org"}, "`notifications.smtp.hostt` is not a known key; allowed under `notifications.smtp`: host, port"),
        ({"smtp": {"host": "h"}, "sender": "ce@example.org", "organisation": ["a@example.org; b@example.org"]}, "`notifications.organisation[0]` 'a@example.org; b@example.org' is not one email address"),
        ({"smtp": {"host": "h"}, "sender": "ce@example.org", "digest_weekday": "moonday"}, "`notifications.digest_weekday`"),
    ):
        (tmp_path / "config.yaml").write_text(textwrap.dedent(BASE_CONFIG) + "notifications: " + json.dumps(section) + "\n")
        with pytest.raises(ConfigError) as error:
            load_settings(config)
        assert str(config) in str(error.value) and expected in str(error.value)
    (tmp_path / "config.yaml").write_text(textwrap.dedent(BASE_CONFIG) + notifications_yaml(25, digest_weekday="Friday"))
    settings = load_settings(config).notifications
    assert settings.outbox == tmp_path / "outbox" and settings.reminder_days == (90, 60, 30, 7) and settings.digest_weekday == "friday"


def test_operators_are_told_which_step_of_a_failed_run_failed_and_why(tmp_path, smtp):
    controller, inbox = smtp
    config = make_deployment(tmp_path, roster=PEOPLE[:1], config=BASE_CONFIG + notifications_yaml(
        controller.port, operators=["ops@example.org", "oncall@example.org"]))
    (tmp_path / "landing" / "roster" / "roster.csv").unlink()
    defs = build_definitions(config)
    sensor = defs.resolve_sensor_def("operators_alert")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [a for a in defs.assets if "notify" not in a.group_names_by_key.values()],
            resources={"deployment": defs.resources["deployment"]}, instance=instance, raise_on_error=False,
        )
        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]
        context = dg.build_run_status_sensor_context(
            sensor_name="operators_alert", dagster_event=failure, dagster_instance=instance, dagster_run=result.dagster_run,
        ).for_run_failure()
        sensor(context)
    assert sorted(r.rcpt_tos[0] for r in inbox.received) == ["oncall@example.org", "ops@example.org"]
    for received in inbox.received:
        assert result.run_id[:8] in received.message["Subject"]
        # no roster file: the blocking roster_complete check stops the run at the roster step
        assert "Step roster:" in received.text and "blocking asset check failed" in received.text


def self_signed_certificate(folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=365 * 30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_verifies_the_servers_certificate_before_anything_is_sent(tmp_path, monkeypatch):
    import ssl

    cert_file, key_file = self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    with smtp_server(tls_context=tls, require_starttls=True) as (controller, inbox):
        con = duckdb.connect(str(tmp_path / "w.duckdb"))
        settings = settings_of(controller.port, organisation=[], clinic_managers={},
                               smtp={"host": "127.0.0.1", "port": controller.port, "starttls": True, "timeout_seconds": 5})
        ana = [license_row("000001", expires="2026-11-30", email="ana@example.org")]
        untrusted = notify_on(con, settings, ana, AS_OF)
        assert untrusted.records[0].status == "failed" and "CERTIFICATE_VERIFY_FAILED" in untrusted.records[0].error
        assert inbox.received == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # OpenSSL's own setting: trust the test's certificate
        assert [r.status for r in notify_on(con, settings, ana, AS_OF).records] == ["sent"]
        assert len(inbox.received) == 1
        con.close()


class SlowInbox(Inbox):
    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(1.5)
        return await super().handle_DATA(server, session, envelope)


def test_a_send_that_times_out_is_failed_and_the_relays_rate_limit_paces_the_sends(tmp_path):
    import time

    with smtp_server(SlowInbox()) as (controller, _):
        con = duckdb.connect(str(tmp_path / "w.duckdb"))
        smtp_settings = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "timeout_seconds": 0.3}
        settings = settings_of(controller.port, smtp=smtp_settings, organisation=[], clinic_managers={})
        outcome = notify_on(con, settings, [license_row("000001", expires="2026-11-30", email="ana@example.org")], AS_OF)
        assert outcome.records[0].status == "failed" and "timed out" in outcome.records[0].error
        con.close()

    with smtp_server() as (controller, _):
        con = duckdb.connect(str(tmp_path / "w2.duckdb"))
        paced = settings_of(controller.port, organisation=[], clinic_managers={},
                            smtp={"host": "127.0.0.1", "port": controller.port, "starttls": False, "max_per_minute": 300})
        people = [license_row(f"00000{i}", expires="2026-11-30", email=f"p{i}@example.org") for i in range(1, 5)]
        evaluate(con, [RULE], people, as_of=AS_OF)
        started = time.monotonic()
        outcome = notify(paced, dt.date(2026, 11, 23), dt.date(2026, 11, 23), "run", lambda: contextlib.nullcontext(con), environ={})
        assert [r.status for r in outcome.records] == ["sent"] * 4
        assert time.monotonic() - started >= 3 * 60 / 300  # four sends, three intervals of 0.2 s
        con.close()
