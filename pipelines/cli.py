"""`ce-compliance`: run the whole graph once through Dagster, serve the published sites, manage who may see them."""

import argparse
import datetime as dt
import os
import pathlib
import sys
import uuid

import dagster as dg
import duckdb

from pipelines.definitions import CONFIG_ENV_VAR, SAMPLE_CONFIG, build_definitions, ce_compliance_job
from pipelines.progress import root_cause
from pipelines.rules import RulesCatalogError, load_rules_catalog
from pipelines.settings import ConfigError, Settings, load_settings
from pipelines.storage import check_storage, room_left
from reports.access import ROLES

EXIT_RUN_FAILED = 1
EXIT_BAD_CONFIGURATION = 2


def _as_of(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def _instance() -> dg.DagsterInstance:
    """The instance DAGSTER_HOME names (runs then show in the UI), else a throw-away one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _summary(settings: Settings) -> list[str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        by_status = con.execute(
            "select status, count(*) from clinician_compliance group by all order by count(*) desc, status"
        ).fetchall()
        by_file = con.execute(
            """
            select source_file, count(*) filter (where action = 'rejected') as rejected,
                   count(distinct source_row) filter (where action = 'quarantined') as quarantined,
                   count(*) filter (where action = 'warned') as warned
            from data_quality_exceptions group by all order by source_file
            """
        ).fetchall()
        # the rows each check lists, as its asset check's metadata and the overview count them
        by_check = con.execute(
            'select "check", action, count(*) from data_quality_exceptions group by all order by count(*) desc, "check"'
        ).fetchall()
    finally:
        con.close()
    lines = ["", "Licenses by status: " + (", ".join(f"{status} {n}" for status, n in by_status) or "none")]
    lines.append("Data-quality exceptions by file:" if by_file else "Data-quality exceptions: none")
    for source_file, rejected, quarantined, warned in by_file:
        what = "file rejected" if rejected else f"{quarantined} row(s) quarantined, {warned} warning(s)"
        lines.append(f"  {source_file}: {what}")
    if by_check:
        lines.append("Rows per check: " + ", ".join(f"{check} {n} ({action})" for check, action, n in by_check))
    return lines


def _roster_guard(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation | None:
    return next((e for e in result.get_asset_check_evaluations() if e.check_name == "roster_complete"), None)


def _why_it_stopped(result: dg.ExecuteInProcessResult) -> str:
    """The roster guard's figures (and the roster files it rejected, a line each), else the failed step and its
    error, else why the run did not start."""
    guard = _roster_guard(result)
    if guard is not None and not guard.passed:
        files = next((e for e in result.get_asset_check_evaluations() if e.check_name == "roster_files_readable"), None)
        rejected = "" if files is None or files.passed else f"\nroster files:\n{files.metadata['rejections'].value}"
        return f"ce-compliance: stopped by {guard.metadata['summary'].value}{rejected}"
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            return f"ce-compliance: step {event.step_key} failed: {root_cause(event.step_failure_data.error)}"
        if event.event_type_value == "RESOURCE_INIT_FAILURE":
            return f"ce-compliance: the run could not start: {root_cause(event.event_specific_data.error)}"
    return "ce-compliance: the run did not finish; see the Dagster logs"


def run(config: pathlib.Path, as_of: dt.date | None, accept_roster_change: bool = False) -> int:
    settings = load_settings(config, as_of=as_of)
    try:
        load_rules_catalog(settings.rules_catalog)
    except RulesCatalogError as error:
        raise RulesCatalogError(f"{settings.config_file}: `rules_catalog`: {error}") from None
    if not settings.landing_dir.is_dir():
        raise ConfigError(f"{settings.config_file}: `landing_dir` {settings.landing_dir} does not exist")
    check_storage(settings)
    as_of_date = settings.resolved_as_of()
    print(f"CE compliance run as of {as_of_date.isoformat()} with {settings.config_file}")
    job = build_definitions(settings.config_file).resolve_job_def(ce_compliance_job.name)
    result = job.execute_in_process(
        run_config={
            "resources": {
                "deployment": {
                    "config": {
                        "config_path": str(settings.config_file),
                        "as_of": as_of_date.isoformat(),
                        "now": settings.started_at.isoformat(),  # today, as checked above, for the whole run
                        "accept_roster_change": accept_roster_change,
                    }
                }
            },
            "loggers": {"progress": {}},
        },
        instance=_instance(),
        run_id=str(uuid.uuid4()),
        raise_on_error=False,
    )
    if not result.success:
        print(
            "ce-compliance: the run failed; nothing new was published and the previous site stays in place "
            f"(run {result.run_id}).",
            file=sys.stderr,
        )
        why = _why_it_stopped(result)
        print(why, file=sys.stderr)
        if "No space left on device" in why or "os error 28" in why:
            print(f"ce-compliance: {room_left(settings)}", file=sys.stderr)
        return EXIT_RUN_FAILED
    guard = _roster_guard(result)
    if accept_roster_change and guard is not None:
        print(f"\n{guard.metadata['summary'].value}")
    for line in _summary(settings):
        print(line)
    site = settings.output_dir / as_of_date.isoformat()
    print(f"\nPublished site:  {site}")
    print(f"Latest site:     {settings.output_dir / 'latest'}")
    print(f"Dashboards:      {settings.output_dir / 'latest' / 'index.html'}")
    print(f"Extracts:        {site}/*.csv and {site / 'manifest.json'}")
    return 0


def rebuild(config: pathlib.Path) -> int:
    from pipelines.landing import RebuildError, rebuild_warehouse

    settings = load_settings(config)
    try:
        print("\n".join(rebuild_warehouse(settings.warehouse, settings.archive_dir)))
    except RebuildError as error:
        print(f"ce-compliance: {error}", file=sys.stderr)
        return EXIT_RUN_FAILED
    return 0


LOCALHOST = "127.0.0.1"


def serve(config: pathlib.Path, host: str | None, port: int) -> int:
    import uvicorn

    from reports.access import UsersFileError
    from reports.serve import MIN_SECRET_CHARACTERS, build_app, server_config

    settings = load_settings(config)
    access = settings.access
    if access is None:
        if host not in (None, LOCALHOST, "localhost"):
            print(
                f"ce-compliance: {settings.config_file} has no `access:` section, so `serve` shows everything to "
                f"everyone and binds {LOCALHOST} only, not {host}: add `access:` (README \"Serving\") to serve others",
                file=sys.stderr,
            )
            return EXIT_BAD_CONFIGURATION
        app, host = build_app(settings.output_dir), LOCALHOST
        print(
            f"No `access:` section in {settings.config_file}: everyone who reaches http://{host}:{port}/ sees "
            "everything (every clinic, every person); serving on this machine only.",
            flush=True,
        )
    else:
        secret = os.environ.get(access.secret_env, "")
        if len(secret) < MIN_SECRET_CHARACTERS:
            raise ConfigError(
                f"{settings.config_file}: `access.secret_env` names {access.secret_env}, "
                f"which must hold at least {MIN_SECRET_CHARACTERS} random characters to sign session cookies "
                f"({'it is not set' if not secret else f'it holds {len(secret)}'}; make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        try:
            app = build_app(settings.output_dir, access, secret)
        except UsersFileError as error:
            print(f"ce-compliance: users file error: {error}", file=sys.stderr)
            return EXIT_BAD_CONFIGURATION
        host = host or LOCALHOST
        print(
            f"Serving {settings.output_dir} at http://{host}:{port}/ to the users of {access.users_file}"
            + (f" and, through {access.trusted_header} from {', '.join(access.trusted_proxies)}, single sign-on" if access.trusted_header else "")
            + f"; access log {access.access_log} (Ctrl+C to stop)",
            flush=True,
        )
    uvicorn.Server(server_config(app, host, port)).run()
    return 0


def users_add(config: pathlib.Path, email: str, role: str, clinics: list[str], password_stdin: bool) -> int:
    import getpass

    import argon2
    import pydantic

    from reports.access import User, UsersFileError, add_user

    settings = load_settings(config)
    if settings.access is None:
        print(f"ce-compliance: {settings.config_file} has no `access:` section naming the users file (README \"Serving\")", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {email}: ")
        if getpass.getpass("The same again: ") != password:
            print("ce-compliance: the two passwords differ; nothing was changed", file=sys.stderr)
            return EXIT_BAD_CONFIGURATION
    if not password:
        print("ce-compliance: an empty password; nothing was changed", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    try:
        user = User(email=email, role=role, clinics=tuple(clinics), password_hash=argon2.PasswordHasher().hash(password))
        outcome = add_user(settings.access.users_file, user)
    except pydantic.ValidationError as error:
        print(f"ce-compliance: {'; '.join(e['msg'].removeprefix('Value error, ') for e in error.errors())}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    except UsersFileError as error:
        print(f"ce-compliance: users file error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    print(f"{outcome} {user.email} ({user.role}{': ' + ', '.join(user.clinics) if user.clinics else ''}) in {settings.access.users_file}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ce-compliance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    default_config = os.environ.get(CONFIG_ENV_VAR) or str(SAMPLE_CONFIG)

    run_parser = commands.add_parser("run", help="materialise the whole graph once and publish the site")
    run_parser.add_argument("--config", type=pathlib.Path, default=default_config, help=f"deployment YAML (default: ${CONFIG_ENV_VAR} or the bundled sample)")
    run_parser.add_argument("--as-of", type=_as_of, default=None, help="evaluate as of this date, YYYY-MM-DD (default: the file's as_of, else today)")
    run_parser.add_argument(
        "--accept-roster-change",
        action="store_true",
        help="let this run publish although its roster has fewer than min_roster_share of the last published run's licenses",
    )

    serve_parser = commands.add_parser("serve", help="serve the published sites to signed-in people (on 127.0.0.1 only without `access:`)")
    serve_parser.add_argument("--config", type=pathlib.Path, default=default_config)
    serve_parser.add_argument("--host", default=None, help=f"address to bind (default {LOCALHOST})")
    serve_parser.add_argument("--port", type=int, default=8000)

    users_parser = commands.add_parser("users", help="who may sign in to `serve`")
    users_commands = users_parser.add_subparsers(dest="users_command", required=True)
    add_parser = users_commands.add_parser("add", help="add a user to the users file, or replace their entry")
    add_parser.add_argument("--config", type=pathlib.Path, default=default_config)
    add_parser.add_argument("email")
    add_parser.add_argument("--role", required=True, choices=ROLES)
    add_parser.add_argument("--clinic", action="append", default=[], help="a clinic a clinic_manager manages, as the roster names it (repeat for more)")
    add_parser.add_argument("--password-stdin", action="store_true", help="read the password from one line of standard input instead of prompting")

    rebuild_parser = commands.add_parser("rebuild", help="recreate a lost or corrupt warehouse from the landing archive")
    rebuild_parser.add_argument("--config", type=pathlib.Path, default=default_config)

    notify_parser = commands.add_parser("notify", help="write the reminders and digests due to the outbox and sum them up; sends nothing")
    notify_parser.add_argument("--config", type=pathlib.Path, default=default_config)
    notify_parser.add_argument("--as-of", type=_as_of, default=None, help="as of this date (default: the warehouse's last run)")
    notify_parser.add_argument("--preview", action="store_true", required=True, help="send nothing, record nothing")

    args = parser.parse_args(argv)
    try:
        return _command(args)
    except (ConfigError, RulesCatalogError) as error:  # before anything ran: the command checks first
        print(f"ce-compliance: configuration error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION


def _command(args: argparse.Namespace) -> int:
    if args.command == "rebuild":
        return rebuild(args.config)
    if args.command == "notify":
        from pipelines.notifications.cli import preview

        return preview(args.config, args.as_of)
    if args.command == "run":
        return run(args.config, args.as_of, args.accept_roster_change)
    if args.command == "users":
        return users_add(args.config, args.email, args.role, args.clinic, args.password_stdin)
    return serve(args.config, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
