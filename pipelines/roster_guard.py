"""The roster guard (docs/data_quality.md): a roster that collapsed stops the run before anything is published.

Collapsed: no accepted roster license at all (every roster file missing or rejected, e.g. after HR
renamed a column), or fewer than `min_roster_share` of the licenses of the last published run. Each
run's count is kept in the warehouse table `roster_checks` by the roster step, and `published_runs`
lists the runs whose site was published whole (written by the publish step): a run that stopped never
becomes the next run's baseline, and the count now and then is the same query over the same table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb

ROSTER_CHECKS_DDL = "create table if not exists roster_checks (run_id varchar, roster_licenses bigint)"
PUBLISHED_RUNS_DDL = "create table if not exists published_runs (run_id varchar, as_of_date date, published_at timestamp)"
# A license is its state and number (numbers match case-insensitively, as credits find them).
ROSTER_LICENSES_SQL = "select count(distinct (license_state, upper(license_number))) from roster"


@dataclasses.dataclass(frozen=True)
class RosterGuard:
    licenses_now: int
    licenses_before: int | None  # the last published run's (as-of date not after this run's); None: no such run
    before_as_of: dt.date | None
    min_share: float
    change_accepted: bool  # `--accept-roster-change`: the operator lets this drop through, once

    @property
    def share(self) -> float | None:
        return self.licenses_now / self.licenses_before if self.licenses_before else None

    @property
    def empty(self) -> bool:
        return self.licenses_now == 0

    @property
    def dropped(self) -> bool:
        return self.share is not None and self.share < self.min_share

    @property
    def passed(self) -> bool:
        # An empty roster is never let through: every status would vanish, there is nothing to publish.
        return not self.empty and (not self.dropped or self.change_accepted)

    def summary(self) -> str:
        before = (
            f"{self.licenses_before} in the last published run (as of {self.before_as_of.isoformat()})"
            if self.licenses_before is not None
            else "no published run to compare with"
        )
        figures = f"{self.licenses_now} accepted roster license(s) now, {before}"
        if self.share is not None:
            figures += f", a share of {self.share:.1%} against min_roster_share {self.min_share:.0%}"
        if self.empty:
            return f"roster_complete: no accepted roster row (every roster file missing or rejected): {figures}; nothing was published"
        if self.dropped and self.change_accepted:
            return f"roster_complete: the drop was accepted (--accept-roster-change): {figures}"
        if self.dropped:
            return (
                f"roster_complete: the roster collapsed: {figures}; nothing was published. If the drop is deliberate, "
                "run again with --accept-roster-change"
            )
        return f"roster_complete: {figures}"

    def metadata(self) -> dict:
        return {
            "licenses_now": self.licenses_now,
            "licenses_last_published": self.licenses_before if self.licenses_before is not None else "none",
            "last_published_as_of": self.before_as_of.isoformat() if self.before_as_of else "none",
            "share": round(self.share, 4) if self.share is not None else "none",
            "min_roster_share": self.min_share,
            "change_accepted": self.change_accepted,
            "summary": self.summary(),
        }


def judge_roster(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, min_share: float, change_accepted: bool
) -> RosterGuard:
    """Count this run's accepted roster licenses (table `roster`), keep the count, and compare it with the
    last published run's: the newest whose as-of date is not after this run's."""
    con.execute(ROSTER_CHECKS_DDL)
    con.execute(PUBLISHED_RUNS_DDL)
    (licenses_now,) = con.execute(ROSTER_LICENSES_SQL).fetchone()
    con.execute("begin transaction")
    con.execute("delete from roster_checks where run_id = ?", [run_id])
    con.execute("insert into roster_checks values (?, ?)", [run_id, licenses_now])
    con.execute("commit")
    before = con.execute(
        """
        select checks.roster_licenses, runs.as_of_date
        from published_runs as runs
        inner join roster_checks as checks using (run_id)
        where runs.as_of_date <= ? and checks.run_id <> ?
        order by runs.as_of_date desc, runs.published_at desc
        limit 1
        """,
        [as_of, run_id],
    ).fetchone()
    return RosterGuard(
        licenses_now=licenses_now,
        licenses_before=before[0] if before else None,
        before_as_of=before[1] if before else None,
        min_share=min_share,
        change_accepted=change_accepted,
    )


def record_published_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, published_at: dt.datetime) -> None:
    """This run's site is published: its roster count becomes the baseline of the next runs' guard."""
    con.execute(PUBLISHED_RUNS_DDL)
    con.execute("insert into published_runs values (?, ?, ?)", [run_id, as_of, published_at.astimezone(dt.UTC).replace(tzinfo=None)])
