"""Before a run touches anything: the folders it writes exist or can be made, take a file, and have room."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import tempfile

from pipelines.settings import ConfigError, Settings

# Room for what does not grow with the inputs: DuckDB's write-ahead log and checkpoint, the Data Docs
# pages, a site's scripts and stylesheets. The sample's first run writes about 25 MB in all.
MARGIN_BYTES = 32 << 20
# What a run writes grows with the landing folder it reads. Measured at 20,000 clinicians (131 MB of
# landing files): the archive copies each new file version once (1x); the warehouse came to 1.1x, and
# DuckDB's checkpoint writes new blocks beside the ones it replaces (2x), and the publish step's sort of
# the credit ledger spills to `<warehouse>.tmp` (2x more: 1.35 GB for 675 MB of landing files at 100k
# clinicians, assets/publish.py); one site came to 6x (the personal pages and the credit ledger), which a
# first run, with no `latest` to measure, is asked for.
WAREHOUSE_BYTES_PER_LANDING_BYTE = 4
SITE_BYTES_PER_LANDING_BYTE = 6


class StorageError(ConfigError):
    """A folder the configuration names cannot be written, or is full; the message names it."""


@dataclasses.dataclass(frozen=True)
class FolderNeed:
    key: str  # the configuration key that names the folder
    folder: pathlib.Path
    bytes_needed: int


def _nearest_existing(folder: pathlib.Path) -> pathlib.Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _bytes_under(path: pathlib.Path) -> int:
    """The size of a file, or of every file under a folder (following no link inside it)."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    # os.scandir, not Path.rglob: a site holds 100k files at 100k clinicians, and the folder listing says
    # which entries are files, so each costs one stat instead of two plus a Path (1.6 s -> 0.4 s a site).
    total, folders = 0, [path]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def room_needed(settings: Settings) -> list[FolderNeed]:
    """What a run may write into each folder, estimated from what is there before it starts:
    `output_dir` another site the size of `latest` (a first run: six times the landing folder),
    the warehouse folder its file again plus four times the landing folder, `archive_dir` the landing folder."""
    landing = _bytes_under(settings.landing_dir)
    site = _bytes_under(settings.output_dir / "latest") or SITE_BYTES_PER_LANDING_BYTE * landing
    return [
        FolderNeed("output_dir", settings.output_dir, MARGIN_BYTES + site),
        FolderNeed(
            "warehouse",
            settings.warehouse.parent,
            MARGIN_BYTES + _bytes_under(settings.warehouse) + WAREHOUSE_BYTES_PER_LANDING_BYTE * landing,
        ),
        FolderNeed("archive_dir", settings.archive_dir, MARGIN_BYTES + landing),
    ]


def room_left(settings: Settings) -> str:
    """Where a run that met a full disk writes, and the room each folder has now: its message names no path
    (Polars and DuckDB say only `No space left on device`)."""
    folders = []
    for need in room_needed(settings):
        existing = _nearest_existing(need.folder)
        free = shutil.disk_usage(existing).free if existing.is_dir() else 0
        folders.append(f"`{need.key}` {need.folder} {free >> 20} MB free")
    return "a disk the run writes on is full; " + ", ".join(folders) + ": free room there, or move the folder"


def check_storage(settings: Settings) -> None:
    """Raise StorageError naming the first folder the run could not write into, or without the room
    `room_needed` estimates for it."""
    for need in room_needed(settings):
        existing = _nearest_existing(need.folder)
        if not existing.is_dir():
            raise StorageError(f"{settings.config_file}: `{need.key}`: {existing} is not a folder, so {need.folder} cannot be made")
        try:
            with tempfile.TemporaryFile(dir=existing) as probe:
                probe.write(b"x")
        except OSError as error:
            raise StorageError(f"{settings.config_file}: `{need.key}`: cannot write into {existing} ({error.strerror})") from None
        free = shutil.disk_usage(existing).free
        if free < need.bytes_needed:
            raise StorageError(
                f"{settings.config_file}: `{need.key}`: {existing} has {free >> 20} MB free; "
                f"this run needs about {need.bytes_needed >> 20} MB there"
            )
