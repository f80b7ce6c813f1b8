"""Running the real pipeline from tests: the command line, and what MLMD and the serving dir say afterwards."""

import subprocess
import sys
from pathlib import Path

import contract as c
from pipeline import metadata as md
from pipeline.configs import MODEL_NAME, MODEL_NAMES, PIPELINE_NAME
from runners.local.workspace import Workspace
from tests.helpers import REPO

REPO_ROOT = REPO  # the checkout under test

ALL_NODES = {"CuratedSchemaImporter", "ImportExampleGen", "StatisticsGen", "ExampleValidator", "AnomaliesGate",
             "drift_baseline", "DriftCheck", "Transform", "Trainer", "baseline_resolver", "Evaluator",
             "EvaluationReport", "Pusher"}
PHOTOMETRIC_MODEL = MODEL_NAMES[c.PHOTOMETRIC]  # where `--inputs photometric` pushes
RESOLVERS = {"baseline_resolver", "drift_baseline"}  # resolver nodes run on every run: nothing to cache


def flags(data_dir: Path, work: Path, *extra: str) -> list[str]:
    # Mechanics, not model quality, are under test: few epochs, low floors so the model is blessed.
    return Workspace(work).flags(data_dir, "--epochs", "5", "--accuracy-floor", "0.4", "--class-recall-floor", "0",
                                 *extra)


def run_pipeline(data_dir: Path, work: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "pipeline/run_local.py", *flags(data_dir, work, *extra)]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)


def states(work: Path) -> dict[str, str]:
    store = md.open_store(str(Workspace(work).metadata_path))
    return {n: r.state for n, r in md.latest_node_runs(store, PIPELINE_NAME).items()}


def versions(work: Path, name: str = MODEL_NAME) -> list[Path]:
    return sorted((Workspace(work).serving_dir / name).glob("*"))
