"""The pipeline in-process against the same pipeline with its Beam components on Beam's portable runner.

    python -m benchmarks.portable [--data-dir data/simulated] [--epochs 15]

Portable: a local Beam job service and an external SDK worker pool on 127.0.0.1 (workers in separate
processes, the arrangement Flink and Spark use on Kubernetes). The two runs alternate on the same records
with empty pipeline roots; the time difference is what leaving the driver's process costs on one machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import runtime_env

from benchmarks.common import REPO, header, parse, parser, publish, run_local_cmd, timed
from pipeline import configs
from pipeline import metadata as md

TITLE = "Beam's portable runner on one machine against the in-process runner"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_services(logs: Path) -> tuple[str, str, list[subprocess.Popen]]:
    """(job endpoint, worker pool endpoint, processes): workers get the venv first on PATH and WORKER_ENV."""
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


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--data-dir", default=str(configs.DATA_DIR))
    args = parse(p, argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-portable-") as tmp:
        job, pool, procs = start_services(Path(tmp))
        try:
            for name, extra in (("in-process (direct, in_memory)", ()),
                                ("portable (job service + external worker pool)",
                                 ("--runner", "portable", "--job-endpoint", job, "--worker-pool", pool))):
                work = Path(tmp) / name.split()[0]
                run = timed(run_local_cmd(args.data_dir, work, "--epochs", str(args.epochs), *extra))
                if run.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{run.output[-3000:]}")
                store = md.open_store(str(work / "metadata.sqlite"))
                nodes = md.latest_node_runs(store, configs.PIPELINE_NAME)
                beam_s = {n: nodes[n].seconds for n in ("ImportExampleGen", "StatisticsGen", "Transform", "Evaluator")}
                rows.append(f"| {name} | {run.wall_s:.0f} | " + " | ".join(f"{v:.1f}" for v in beam_s.values())
                            + f" | {run.peak_rss_mb:.0f} |")
        finally:
            for proc in procs:
                os.killpg(proc.pid, 9)
    body = (header(args.command) + "\n"
            "| Beam components run | wall s | ImportExampleGen s | StatisticsGen s | Transform s | Evaluator s | "
            "driver peak RSS MB |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
            "Peak RSS is the driver process's; the portable run's workers are separate processes. Built-in "
            "(SIMULATED) data.\n")
    return publish(TITLE, body, args)


if __name__ == "__main__":
    main()
