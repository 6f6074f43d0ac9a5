"""Before a run touches anything: the folders it writes exist or can be made, take a file, and have room."""

from __future__ import annotations

import pathlib
import shutil
import tempfile

from pipelines.settings import ConfigError, Settings

MIN_FREE_BYTES = 256 << 20  # DuckDB's write-ahead log and spills, the Data Docs, a small site


class StorageError(ConfigError):
    """A folder the configuration names cannot be written, or is full; the message names it."""


def _nearest_existing(folder: pathlib.Path) -> pathlib.Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _bytes_under(folder: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def check_storage(settings: Settings) -> None:
    """Raise StorageError naming the first folder the run could not write into, or without room for it:
    `output_dir` needs room for another site the size of `latest`, the warehouse and archive folders a margin."""
    folders = [
        ("output_dir", settings.output_dir, MIN_FREE_BYTES + _bytes_under(settings.output_dir / "latest")),
        ("warehouse", settings.warehouse.parent, MIN_FREE_BYTES),
        ("archive_dir", settings.archive_dir, MIN_FREE_BYTES),
    ]
    for key, folder, needed in folders:
        existing = _nearest_existing(folder)
        if not existing.is_dir():
            raise StorageError(f"{settings.config_file}: `{key}`: {existing} is not a folder, so {folder} cannot be made")
        try:
            with tempfile.TemporaryFile(dir=existing) as probe:
                probe.write(b"x")
        except OSError as error:
            raise StorageError(f"{settings.config_file}: `{key}`: cannot write into {existing} ({error.strerror})") from None
        free = shutil.disk_usage(existing).free
        if free < needed:
            raise StorageError(
                f"{settings.config_file}: `{key}`: {existing} has {free >> 20} MB free; a run needs at least {needed >> 20} MB there"
            )
