"""Running the real pipeline from tests: the command line, and what MLMD and the serving dir say afterwards."""

import subprocess
import sys
from pathlib import Path

import contract as c
from pipeline import metadata as md
from pipeline.configs import MODEL_NAME, MODEL_NAMES, PIPELINE_NAME
from runners.local.workspace import Workspace
from tests.helpers import REPO

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
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)


def states(work: Path) -> dict[str, str]:
    store = md.open_store(str(Workspace(work).metadata_path))
    return {n: r.state for n, r in md.latest_node_runs(store, PIPELINE_NAME).items()}


def versions(work: Path, name: str = MODEL_NAME) -> list[Path]:
    return sorted((Workspace(work).serving_dir / name).glob("*"))


# MLMD lineage walks that only tests read (pipeline/metadata.py keeps what the product reads).
def upstream_artifacts(store, artifact_id: int) -> list:
    """Every artifact that `artifact_id` was derived from, walking producer inputs back to the sources."""
    seen: dict = {}
    frontier = [artifact_id]
    while frontier:
        ex = md.producer(store, frontier.pop())
        if ex is None:
            continue
        ins = [ev.artifact_id for ev in store.get_events_by_execution_ids([ex.id])
               if ev.type == md.INPUT]
        for art in store.get_artifacts_by_id([i for i in ins if i not in seen]):
            seen[art.id] = art
            frontier.append(art.id)
    return list(seen.values())


def type_name(store, artifact) -> str:
    return store.get_artifact_types_by_id([artifact.type_id])[0].name


def trained_state(model_dir: Path, data_dir: Path) -> list:
    """What must repeat when a seeded run repeats: every variable (the networks' weights, the temperature) and the
    served probabilities on the data's eval split (a forest head's trees are assets, not variables)."""
    import numpy as np

    from evaluation.predictions import predict_examples, read_examples
    from inference.model import load_model

    model = load_model(str(model_dir))  # registers a forest head's ops first
    variables = [v.numpy() for v in sorted(model.variables, key=lambda v: v.name)]
    served = predict_examples(model, read_examples(str(data_dir / "eval" / c.RECORD_GLOB)))
    return [*variables, np.asarray(served)]
