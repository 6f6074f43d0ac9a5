"""A run whenever the landing folder holds a file that is new or whose content changed, of those an input reads.

The decision is a pure function of the cursor (each file's SHA-256 at the last run request) and the
folder's listing; the decorated sensor only lists, hashes and stores the cursor, which the Dagster
instance keeps across daemon restarts. A file delivered again with the same bytes requests nothing.
"""

from __future__ import annotations

import json
import pathlib

import dagster as dg

from pipelines.hashing import sha256_of
from pipelines.ingestion import discover_files, is_inside
from pipelines.schedules import as_of_run_request
from pipelines.settings import InputSource, Settings

def changed_files(cursor: dict[str, str], listing: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(files whose content the cursor has not seen at that path, the cursor to keep): both keyed by path."""
    changed = sorted(path for path, sha256 in listing.items() if cursor.get(path) != sha256)
    return changed, dict(listing)


def landing_listing(landing_dir: pathlib.Path, sources: tuple[InputSource, ...]) -> dict[str, str]:
    """Every regular file inside the landing folder that an input's glob matches (path relative to it -> SHA-256),
    skipping hidden and Office lock files, and links, which a run never follows: a file no input reads starts no
    run. A file that cannot be read now is left for the next look."""
    listing = {}
    for path in sorted({entry.path for source in sources for entry in discover_files(landing_dir, source)}):
        relative = path.relative_to(landing_dir)
        if path.is_file() and is_inside(landing_dir, path) and not any(part.startswith((".", "~$")) for part in relative.parts):
            try:
                listing[relative.as_posix()] = sha256_of(path)
            except OSError:
                continue
    return listing


def landing_files_sensor(settings: Settings, job) -> dg.SensorDefinition:
    landing_dir = settings.landing_dir
    @dg.sensor(
        name="landing_files",
        job=job,
        minimum_interval_seconds=60,
        description=f"Run when a file in {landing_dir} is new or its content changed (by SHA-256).",
    )
    def landing_files(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        if not landing_dir.is_dir():
            return dg.SkipReason(f"the landing folder {landing_dir} does not exist")
        changed, cursor = changed_files(json.loads(context.cursor or "{}"), landing_listing(landing_dir, settings.input_sources))
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        if not changed:
            return dg.SkipReason(f"no new or changed file in {landing_dir}")
        context.log.info(f"{len(changed)} new or changed file(s): {', '.join(changed)}")
        # As of the day the run starts (it may wait in the queue past midnight): the run resolves it, once.
        return as_of_run_request(settings.config_file, None)

    return landing_files
