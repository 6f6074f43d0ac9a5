"""Notify stage: reminders, overdue notices and digests by email after the site is published, and an
alert to the operators when a run fails (docs/notifications.md; logic in pipelines/notifications)."""

import datetime as dt
import zoneinfo

import dagster as dg
from pydantic import Field

from assets import markdown_list
from pipelines.notifications.messages import operator_alerts
from pipelines.notifications.run import notifications_frame, notify, write_into_site
from pipelines.notifications.smtp import SmtpSession
from pipelines.resources import WAREHOUSE_POOL, ComplianceDeployment
from pipelines.settings import Settings


class NotifyConfig(dg.Config):
    today: str = Field(
        default="",
        description=(
            "The run's own calendar date (YYYY-MM-DD) in the schedule's timezone; empty: the clock's. Messages go "
            "out only when the as-of date is this date; tests set it instead of the clock."
        ),
    )


def run_date(settings: Settings, config: NotifyConfig) -> dt.date:
    if config.today:
        return dt.date.fromisoformat(config.today)
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.schedule.timezone)).date()


@dg.asset(
    group_name="notify",
    kinds={"duckdb", "email"},
    pool=WAREHOUSE_POOL,
    deps=["published_site"],
    check_specs=[
        dg.AssetCheckSpec(
            "notifications_sent",
            asset="notifications",
            description="Every message due was accepted by the SMTP server; a failed one is tried again by the next run.",
        )
    ],
)
def notifications(context: dg.AssetExecutionContext, config: NotifyConfig, deployment: ComplianceDeployment) -> dg.MaterializeResult:
    """Reminders and overdue notices to clinicians, digests to clinic managers and the organisation, sent only
    on the run's own date; what became of each message, in the warehouse and the site's notifications.csv."""
    settings = deployment.settings()
    as_of = settings.resolved_as_of()
    if settings.notifications is None:
        return dg.MaterializeResult(
            metadata={"configured": False},
            check_results=[dg.AssetCheckResult(check_name="notifications_sent", passed=True, metadata={"configured": False})],
        )
    outcome = notify(settings.notifications, as_of, run_date(settings, config), context.run_id, deployment.warehouse)
    for line in outcome.summary():
        context.log.info(line)
    with deployment.warehouse() as con:
        frame = notifications_frame(con, as_of)
    write_into_site(settings.output_dir / as_of.isoformat(), frame)
    failed = outcome.failed
    return dg.MaterializeResult(
        metadata={"configured": True, "sending": outcome.sending, **{f"messages/{k}": v for k, v in outcome.by_status().items()}},
        check_results=[
            dg.AssetCheckResult(
                check_name="notifications_sent",
                passed=not failed,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "failed": len(failed),
                    "failures": markdown_list(f"{r.outgoing.kind} to {r.outgoing.recipient}: {r.error}" for r in failed[:50]),
                    "warnings": markdown_list(outcome.warnings),
                },
            )
        ],
    )


def operators_alert_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """Tells each address in `notifications.operators` of a failed run: the run, each failed step and its error.
    Running by default: configuring operators is asking for the alerts. None without operators."""
    notifications_settings = settings.notifications
    if notifications_settings is None or not notifications_settings.operators:
        return []

    @dg.run_failure_sensor(
        name="operators_alert",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Mail {', '.join(notifications_settings.operators)} when a run fails.",
    )
    def operators_alert(context: dg.RunFailureSensorContext) -> None:
        failures = [
            (event.step_key or "(run)", event.event_specific_data.error.to_string() if event.event_specific_data.error else event.message or "")
            for event in context.get_step_failure_events()
        ]
        if not failures and context.failure_event.message:
            failures = [("(run)", context.failure_event.message)]
        run = context.dagster_run
        messages = operator_alerts(notifications_settings, run.job_name, run.run_id, failures, dt.datetime.now(dt.UTC))
        with SmtpSession(notifications_settings.smtp) as session:
            for message in messages:
                operator = str(message["To"])
                error = session.send(message, notifications_settings.sender_address, operator)
                if error:
                    context.log.error(f"operator alert to {operator} failed: {error}")

    return [operators_alert]


notify_assets = [notifications]
