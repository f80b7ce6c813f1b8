"""The pipeline's Beam components on Beam's portable runner: a local job service, and SDK workers in separate
processes started by an external worker pool on 127.0.0.1, the arrangement Flink and Spark use on Kubernetes."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from runners.local.workspace import Workspace
from tests.beam_services import start_services
from tests.e2e import ALL_NODES, REPO, flags, states, trained_state, versions

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def beam_services(tmp_path_factory):
    """(job endpoint, worker pool endpoint, log dir), started as the README says: workers get
    the venv's python first on PATH and runtime_env.WORKER_ENV, since they inherit nothing from the driver."""
    logs = tmp_path_factory.mktemp("beam_services")
    job, pool, procs = start_services(logs)
    try:
        yield job, pool, logs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
            p.wait()


def test_the_pipeline_runs_on_the_portable_runner_and_trains_the_same_model(beam_services, sim300, e2e_run,
                                                                          tmp_path):
    job, pool, logs = beam_services
    work = tmp_path / "portable"
    cmd = [sys.executable, "pipeline/run_local.py", *flags(sim300, work),
           "--runner", "portable", "--job-endpoint", job, "--worker-pool", pool]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
    wall = time.monotonic() - t0
    assert proc.returncode == 0, (proc.stdout + proc.stderr + (Workspace(work).log_file).read_text()[-4000:]
                                  + (logs / "pool.log").read_text()[-2000:])
    assert states(work) == {n: "COMPLETE" for n in ALL_NODES}
    assert "PortableRunner" in Workspace(work).log_file.read_text()  # the Beam components went through the job service
    print(f"portable run: {wall:.0f} s")
    # Beam ran the analysis elsewhere, so Transform's statistics and hence the trained weights must not change.
    (mine,) = versions(work)
    theirs = versions(e2e_run[0])[0]
    for a, b in zip(trained_state(mine, sim300), trained_state(theirs, sim300), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
