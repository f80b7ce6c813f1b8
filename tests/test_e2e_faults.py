"""The pipeline under faults, through `python pipeline/run_local.py` on the e2e data: drifted data, runs killed
with SIGKILL in Transform and in Trainer, two runs on one root at once, and code edits that must re-run the
components whose output that code shapes."""

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import contract as c
from components.atomic_pusher import PARTIAL_SUFFIX
from ingest import records
from pipeline.configs import SCHEMA_FILE
from runners.local.workspace import Workspace
from tests.e2e import REPO, flags, run_pipeline, states, trained_state, versions

pytestmark = pytest.mark.e2e


def _states_now(work) -> dict[str, str]:
    """Node states of the newest run while another process may be writing the store."""
    try:
        return states(work)
    except Exception:  # noqa: BLE001 - no store yet, or locked by the writer: ask again
        return {}


def _start(data, work) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "pipeline/run_local.py", *flags(data, work)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _kill_when_running(proc: subprocess.Popen, work, node: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while _states_now(work).get(node) != "RUNNING":
        assert proc.poll() is None, f"run ended before {node} started:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, f"{node} never started"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_an_export_two_magnitudes_fainter_is_drift_and_halts_before_transform(e2e_run, sim300, tmp_path):
    work, _ = e2e_run
    faint = tmp_path / "faint"
    with records.SplitWriter(faint) as w:
        for split in c.SPLITS:
            for o in records.read_split(sim300, split):
                w.write(dataclasses.replace(o, mags={b: v + 2.0 for b, v in o.mags.items()}), split)
    mine = tmp_path / "work"
    mine.mkdir()
    # The e2e history: its blessed model is the baseline.
    shutil.copy(Workspace(work).metadata_path, Workspace(mine).metadata_path)
    proc = run_pipeline(faint, mine, "--drift", "halt")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED in DriftCheck" in proc.stdout
    for band in c.BANDS:
        assert f"{band} (Jensen-Shannon" in proc.stdout
    assert "redshift (" not in proc.stdout and "class (" not in proc.stdout  # only the magnitudes moved
    assert "Transform" not in states(mine) and not versions(mine)


@pytest.fixture(scope="module")
def recovered(e2e_run, sim300, tmp_path_factory):
    """A fresh root where a run was killed in Transform, the next one in Trainer, and a third completed."""
    work = tmp_path_factory.mktemp("killed")
    first = _start(sim300, work)
    try:
        deadline = time.monotonic() + 300
        while _states_now(work).get("Transform") != "RUNNING":
            assert first.poll() is None and time.monotonic() < deadline, "Transform never started"
            time.sleep(0.2)
        concurrent = run_pipeline(sim300, work)  # a second run on the same root, while the first one works
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    second = _start(sim300, work)
    _kill_when_running(second, work, "Trainer")
    third = run_pipeline(sim300, work)
    return work, concurrent, third


def test_a_second_run_on_the_same_root_is_refused_while_one_runs(recovered):
    _, concurrent, _ = recovered
    assert concurrent.returncode == 2
    assert "error: another run is using" in concurrent.stderr and "pid " in concurrent.stderr


def test_runs_killed_in_transform_and_trainer_recover_and_push_the_same_model(recovered, e2e_run, sim300):
    work, _, third = recovered
    assert third.returncode == 0, third.stdout + third.stderr
    got = states(work)
    assert got["Transform"] == "CACHED" and got["Trainer"] == "COMPLETE" and got["Pusher"] == "COMPLETE", got
    (pushed,) = versions(work)
    assert (pushed / "saved_model.pb").exists()
    assert not list(pushed.parent.glob(f".*{PARTIAL_SUFFIX}"))
    # The same data, flags and seed as the uninterrupted e2e run: the same weights, trees and answers.
    e2e_model = versions(e2e_run[0])[0]
    for mine, theirs in zip(trained_state(pushed, sim300), trained_state(e2e_model, sim300), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def test_code_edits_re_run_exactly_the_components_they_shape(recovered, sim300, tmp_path):
    work, _, third = recovered
    assert third.returncode == 0
    copy = tmp_path / "repo"
    for folder in ("components", "evaluation", "ingest", "pipeline", "schema", "trainer"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "contract.py", copy / "contract.py")

    def run_edited(path: str) -> dict[str, str]:
        (copy / path).write_text((copy / path).read_text() + "\n# edited by a test\n")
        cmd = [sys.executable, str(copy / "pipeline" / "run_local.py"), *flags(sim300, work),
               "--schema-file", str(SCHEMA_FILE)]
        proc = subprocess.run(cmd, cwd=copy, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return {n for n, s in states(work).items() if s == "COMPLETE"}

    resolvers = {"baseline_resolver", "drift_baseline"}
    assert run_edited("evaluation/html_report.py") - resolvers == {"EvaluationReport"}
    assert run_edited("evaluation/argmax_metrics.py") - resolvers == {"Evaluator", "EvaluationReport", "Pusher"}
