"""The output folder's switches: a finished site into its dated place, `latest` onto the right site, and
the removal of what a run that died while publishing left behind (docs/data_quality.md: "Publication is atomic at every
instant"). No heavy imports: the run's resource calls `remove_leftovers` when a run starts.

Every step is one rename, so every instant leaves `latest` resolving to a whole site:

1. the new site is built whole in `.staging-<run id>`;
2. a new as-of date: `.staging-<run id>` is renamed to `<as_of_date>`; a same-date rerun: the two folders
   are exchanged in one step (renameat2 RENAME_EXCHANGE), so `<as_of_date>` holds the old site until the
   instant it holds the new one, and `.staging-<run id>` then holds the old one;
3. `latest` is pointed at the newest site whose as-of date is not after today: a relative link made as
   `.staging-<run id>-latest` and renamed over `latest`;
4. `.staging-<run id>` (the old site, or the half-built new one after a failure) is removed.

A run killed between two steps leaves only `.staging-*` entries besides whole sites; the next run
removes them before anything else.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import os
import pathlib
import shutil

LATEST = "latest"
STAGING_PREFIX = ".staging-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def staging_folder(output_dir: pathlib.Path, run_id: str) -> pathlib.Path:
    return output_dir / f"{STAGING_PREFIX}{run_id}"


def remove_leftovers(output_dir: pathlib.Path) -> list[str]:
    """Remove every `.staging-*` entry (a dead run's half-built or swapped-out site, or its temporary link);
    returns their names. Call it only while holding the run lock: a live run's staging folder is no leftover."""
    if not output_dir.is_dir():
        return []
    removed = []
    for entry in sorted(output_dir.iterdir()):
        if entry.name.startswith(STAGING_PREFIX):
            remove(entry)
            removed.append(entry.name)
    return removed


def remove(entry: pathlib.Path) -> None:
    if entry.is_symlink() or entry.is_file():
        entry.unlink(missing_ok=True)
    else:
        shutil.rmtree(entry, ignore_errors=True)


def _exchange(first: pathlib.Path, second: pathlib.Path) -> None:
    """Swap two directories in one atomic step. The standard library has no renameat2; glibc has had it since
    2.28 and Linux file systems since 3.15 (ext4, xfs, btrfs, tmpfs, overlayfs)."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(first))
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first), None, str(second))


def move_into_place(staging: pathlib.Path, site: pathlib.Path) -> bool:
    """Make the whole site in `staging` the site at `site` in one step; returns True when an older site was
    there, which `staging` then holds (to be removed)."""
    if not site.exists():
        staging.rename(site)
        return False
    try:
        _exchange(staging, site)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        # A file system without exchange (NFS, some FUSE): two renames, with an instant between them where
        # `site` is missing. The only path that is not atomic; the older site is set aside, never lost.
        aside = staging.with_name(f"{staging.name}-previous")
        site.rename(aside)
        staging.rename(site)
        aside.rename(staging)
    return True


def site_dates(output_dir: pathlib.Path) -> list[dt.date]:
    """The as-of dates of the published sites (folders named YYYY-MM-DD), in order."""
    dates = []
    for entry in output_dir.iterdir():
        try:
            date = dt.date.fromisoformat(entry.name)
        except ValueError:
            continue
        if entry.is_dir() and not entry.is_symlink():
            dates.append(date)
    return sorted(dates)


def point_latest(output_dir: pathlib.Path, today: dt.date, run_id: str) -> pathlib.Path | None:
    """Point `latest` at the newest site whose as-of date is not after `today` (a rerun for a future date
    never pins it), in one rename; returns the site it points at, None when there is none."""
    current = [d for d in site_dates(output_dir) if d <= today]
    if not current:
        return None
    target = current[-1].isoformat()
    latest = output_dir / LATEST
    if not (latest.is_symlink() and os.readlink(latest) == target):
        link = output_dir / f"{STAGING_PREFIX}{run_id}-{LATEST}"
        link.unlink(missing_ok=True)
        link.symlink_to(target, target_is_directory=True)
        os.replace(link, latest)
    return output_dir / target
