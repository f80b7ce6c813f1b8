"""Stops a local Spark cluster's daemons when the process that started them is gone without stopping them (SIGKILL,
a test run killed by its time limit), so no master or worker outlives its owner as an orphan.

    python -m inference.drivers.spark_watchdog OWNER_PID OWNER_START_TIME PGID [PGID ...]

inference/drivers/spark_cluster.start runs one per cluster, in a session of its own. It polls the owner every
POLL_S; the owner is gone when its pid is gone, a zombie, or a new process with another start time (a reused pid).
Then each daemon's process group (the daemon and what it started: a worker's executors) gets SIGTERM, and SIGKILL
after GRACE_S. It exits on its own once every daemon is gone (Cluster.stop kills it first).
"""

from __future__ import annotations

import os
import signal
import sys
import time

POLL_S = 0.5
GRACE_S = 5.0


def alive(pid: int, start_time: float | None = None) -> bool:
    """The process is running (not a zombie), and is the same one when `start_time` is given."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and (start_time is None
                                                         or abs(proc.create_time() - start_time) < 0.01)
    except psutil.NoSuchProcess:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return alive(pgid)


def stop_groups(pgids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in pgids:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + GRACE_S
        while sig == signal.SIGTERM and time.monotonic() < deadline and any(_group_alive(g) for g in pgids):
            time.sleep(0.1)


def watch(owner: int, owner_start: float, pgids: list[int]) -> None:
    while any(_group_alive(g) for g in pgids):
        if not alive(owner, owner_start):
            stop_groups(pgids)
            return
        time.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    watch(int(args[0]), float(args[1]), [int(a) for a in args[2:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
