"""The blessing gate against a QSO-blind candidate, in the same pipeline root as the blessed e2e model."""

import json

import pytest
from tfx import v1 as tfx

from components.evaluation_report import SUMMARY_FILE
from evaluation import inspect_eval, results
from pipeline import metadata as md
from pipeline.assemble import assemble
from pipeline.configs import PIPELINE_NAME
from pipeline.run_config import RunConfig
from runners.beam import BeamOptions, beam_args
from runners.local.workspace import Workspace
from tests.e2e import versions

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def blind_run(e2e_run, sim300):
    work, _ = e2e_run
    pushed_before = versions(work)  # the e2e run's model, and the schema-edit rerun's if that ran first
    assert pushed_before
    # A real recall floor for this run; the e2e model was blessed with floors set for mechanics only.
    ws = Workspace(work)
    cfg = RunConfig(data_dir=str(sim300), pipeline_root=str(ws.pipeline_root), serving_dir=str(ws.serving_dir),
                    epochs=5, accuracy_floor=0.4, class_recall_floor=0.5)
    tfx.orchestration.LocalDagRunner().run(assemble(
        cfg, beam_pipeline_args=beam_args(BeamOptions()),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(ws.metadata_path)),
        trainer_run_fn="tests.qso_blind_trainer.run_fn"))
    store = md.open_store(str(Workspace(work).metadata_path))
    return work, store, md.latest_node_runs(store, PIPELINE_NAME), pushed_before, cfg


def test_qso_blind_candidate_keeps_accuracy_but_is_not_blessed(blind_run):
    _, store, runs, _, args = blind_run
    assert runs["Trainer"].state == runs["Evaluator"].state == "COMPLETE"  # a new model, really evaluated
    evaluation = md.artifacts(store, runs["Evaluator"].execution.id, "evaluation")[0]
    ev = results.load(evaluation.uri)
    qso = ev.candidate.per_class["QSO"]
    assert qso["support"] > 0 and qso["recall"] == 0.0
    assert ev.candidate.confusion[:, 2].sum() == 0  # never predicts QSO
    assert ev.candidate.accuracy >= args.accuracy_floor  # overall accuracy alone would let it through
    assert ev.blessed is False
    assert any(f.startswith("class=QSO: sparse_categorical_accuracy") for f in ev.failures), ev.failures
    assert not any(f.startswith("overall:") and "floor" in f for f in ev.failures), ev.failures
    blessing = md.artifacts(store, runs["Evaluator"].execution.id, "blessing")[0]
    assert blessing.custom_properties["blessed"].int_value == 0


def test_qso_blind_candidate_is_not_pushed_and_the_old_model_stays(blind_run):
    work, store, runs, pushed_before, _ = blind_run
    pushed = md.artifacts(store, runs["Pusher"].execution.id, "pushed_model")[0]
    assert pushed.custom_properties["pushed"].int_value == 0
    assert versions(work) == pushed_before
    assert all((v / "saved_model.pb").exists() for v in pushed_before)


def test_report_and_inspect_name_the_failed_qso_threshold(blind_run, capsys):
    work, store, runs, _, _ = blind_run
    report = md.artifacts(store, runs["EvaluationReport"].execution.id, "report")[0]
    with open(f"{report.uri}/{SUMMARY_FILE}") as fh:
        summary = json.load(fh)
    assert summary["blessed"] is False and summary["per_class"]["QSO"]["recall"] == 0.0
    assert "NOT BLESSED" in open(f"{report.uri}/report.html").read()
    assert inspect_eval.main(["--metadata-path", str(Workspace(work).metadata_path)]) == 0
    out = capsys.readouterr().out
    assert "candidate vs baseline" in out  # the blessed e2e model is the baseline
    assert "NOT BLESSED" in out and "class=QSO: sparse_categorical_accuracy 0.0000 is below the floor 0.5" in out
