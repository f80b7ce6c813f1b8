"""One run at a time per pipeline root and metadata store, on this machine.

Two LocalDagRunner runs on one pipeline root would both resolve "the latest
blessed model", race on the SQLite store and both push. The second run is
refused with the first one's pid and start time instead. The lock is an
flock on `<metadata_path>.lock`, which the kernel drops when its process dies
(kill -9 included), so a crashed run never blocks the next. It guards local
runs only; orchestrators (Kubeflow, Vertex) serialize runs themselves.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class RunInProgress(RuntimeError):
    pass


@contextlib.contextmanager
def exclusive_run(metadata_path: str, pipeline_root: str) -> Iterator[None]:
    lock_path = Path(f"{metadata_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            raise RunInProgress(f"another run is using {pipeline_root} and {metadata_path} ({holder}); wait for "
                                "it to finish, or give this run its own --pipeline-root and --metadata-path") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
