"""Atomic output folders: a reader sees a complete dataset or none, never a half-written one.

Records, rejects and summary are written into a hidden sibling
(`.<name>.partial-<pid>`) and renamed into place only once all of them are
complete. An interrupted write (Ctrl-C, kill -9, a full disk) leaves only that
sibling, which the next write to the same folder removes. A non-empty target
is replaced whole, and only when asked, so old and new shards never mix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

PARTIAL = ".partial-"


class OutputExists(FileExistsError):
    pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out: Path) -> None:
    """Removes siblings left by writers that died (their pid no longer runs)."""
    for p in out.parent.glob(f".{out.name}{PARTIAL}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def check_target(out: Path, overwrite: bool) -> None:
    """Refuses a non-empty `out` unless `overwrite`, before any work is done."""
    if out.exists() and not out.is_dir():
        raise OutputExists(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputExists(f"--out {out} is not empty: pass --overwrite to replace it whole, or choose a new folder "
                           "(old and new records are never mixed)")


@contextlib.contextmanager
def staged(out_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yields an empty folder to write into; on a clean exit it becomes `out_dir`, on an exception it is removed."""
    out = Path(out_dir)
    check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    tmp = out.parent / f".{out.name}{PARTIAL}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.parent / f".{out.name}.replaced-{os.getpid()}"
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)
