"""A local Beam job service and an external SDK worker pool on 127.0.0.1: the portable runner's arrangement (the one
Flink and Spark use on Kubernetes), started the way the README tells a user to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import runtime_env

from tests.helpers import REPO


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_services(logs: Path) -> tuple[str, str, list[subprocess.Popen]]:
    """(job endpoint, worker pool endpoint, processes): workers inherit nothing from the driver, so they get the
    venv first on PATH and runtime_env.WORKER_ENV."""
    env = {**os.environ, **runtime_env.WORKER_ENV, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    job, pool = _port(), _port()
    procs = [subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                               "--port", str(job)], env=env, stdout=open(logs / "job.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True),
             subprocess.Popen([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                               f"--service_port={pool}"], env=env, cwd=REPO,
                              stdout=open(logs / "pool.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)]
    for port in (job, pool):
        deadline = time.monotonic() + 60
        while not _listening(port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {port}")
            time.sleep(0.2)
    return f"localhost:{job}", f"localhost:{pool}", procs
