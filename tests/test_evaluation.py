"""Evaluation you can read: argmax metrics, the inspect command, the HTML report artifact, predict round trip."""

import collections
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import contract as c
from components.evaluation_report import REPORT_FILE, SUMMARY_FILE
from components.serving_layout import latest_version
from evaluation import argmax_metrics, inspect_eval, results
from ingest import records
from pipeline import metadata as md
from pipeline.configs import MODEL_NAME, PIPELINE_NAME
from runners.local.workspace import Workspace
from tests.e2e import REPO, versions
from trainer.calibration import expected_calibration_error


def test_per_class_metrics_from_a_confusion_matrix():
    # actual GALAXY: 8 right, 2 called STAR; STAR: 5 right; QSO: 1 right, 3 called GALAXY
    matrix = {(0, 0): 8, (0, 1): 2, (1, 1): 5, (2, 2): 1, (2, 0): 3}
    t = argmax_metrics.per_class(matrix, 3)
    assert t["recall"] == pytest.approx([0.8, 1.0, 0.25])
    assert t["precision"] == pytest.approx([8 / 11, 5 / 7, 1.0])
    assert t["f1"][2] == pytest.approx(2 * 0.25 / 1.25)
    assert t["support"] == [10, 5, 4]
    assert argmax_metrics.per_class({}, 3)["f1"] == [0.0, 0.0, 0.0]  # no division by zero


def test_expected_calibration_error():
    confident_right = np.array([[0.99, 0.005, 0.005]] * 10)
    assert expected_calibration_error(confident_right, [0] * 10) == pytest.approx(0.01)
    assert expected_calibration_error(confident_right, [1] * 10) == pytest.approx(0.99)


def _first_evaluation(work):
    store = md.open_store(str(Workspace(work).metadata_path))
    run = md.runs(store, PIPELINE_NAME)[0]
    evaluator = md.node_runs(store, run)["Evaluator"]
    return store, run, md.artifacts(store, evaluator.execution.id, "evaluation")[0]


@pytest.mark.e2e
def test_argmax_recall_agrees_with_class_slice_accuracy(e2e_run):
    _, _, evaluation = _first_evaluation(e2e_run[0])
    m = results.load(evaluation.uri).candidate
    assert set(m.per_class) == set(c.CLASS_NAMES)
    for name in c.CLASS_NAMES:
        acc, n = m.slice_accuracy[name]
        assert m.per_class[name]["recall"] == pytest.approx(acc, abs=1e-6)
        assert m.per_class[name]["support"] == n
        assert 0.0 <= m.per_class[name]["auc"] <= 1.0
    assert m.confusion.sum() == m.n
    assert m.macro_f1 == pytest.approx(np.mean([m.per_class[k]["f1"] for k in c.CLASS_NAMES]))


@pytest.mark.e2e
def test_inspect_prints_the_tables_and_writes_html(e2e_run, tmp_path, capsys):
    work, _ = e2e_run
    _, run, evaluation = _first_evaluation(work)
    m = results.load(evaluation.uri).candidate
    html = tmp_path / "report.html"
    code = inspect_eval.main(["--metadata-path", str(Workspace(work).metadata_path), "--run-id", run.name,
                              "--html", str(html)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"run {run.name}" in out and "BLESSED, every threshold passed" in out
    qso_line = next(line for line in out.splitlines() if line.startswith("QSO "))
    assert f"{m.per_class['QSO']['recall']:.4f}" in qso_line
    assert qso_line.split()[-1] == str(int(m.per_class["QSO"]["support"]))
    assert "actual GALAXY" in out and "pred QSO" in out
    page = html.read_text()
    assert page.count("src='data:image/png;base64,") >= 3  # confusion, per-class bars, curves (+ cutouts)
    assert "SIMULATED" in page and "Training curves" in page and "Misclassified cutouts" in page
    assert inspect_eval.main(["--metadata-path", str(Workspace(work).metadata_path), "--run-id", "no-such-run"]) == 2


@pytest.mark.e2e
def test_the_pipeline_writes_the_report_artifact(e2e_run):
    work, console = e2e_run
    store, run, evaluation = _first_evaluation(work)
    reporter = md.node_runs(store, run)["EvaluationReport"]
    report = md.artifacts(store, reporter.execution.id, "report")[0]
    assert f"report: {report.uri}/{REPORT_FILE}" in console
    with open(f"{report.uri}/{SUMMARY_FILE}") as fh:
        summary = json.load(fh)
    m = results.load(evaluation.uri).candidate
    assert summary["accuracy"] == pytest.approx(m.accuracy) and summary["n"] == m.n
    assert summary["misclassified"] == round(m.n * (1 - m.accuracy))


@pytest.mark.e2e
def test_slices_by_brightness_and_redshift_count_the_eval_objects_and_reach_the_report(e2e_run, sim300):
    from trainer import features as f

    work, _ = e2e_run
    store, run, evaluation = _first_evaluation(work)
    m = results.load(evaluation.uri).candidate
    objs = list(records.read_split(sim300, "eval"))
    for name, (key, edges) in f.BINS.items():
        labels = f.bin_labels(key, edges)
        expected = collections.Counter(labels[int(np.searchsorted(edges, o.mags.get(key, o.redshift), side="right"))]
                                       for o in objs)
        got = {label: cell["all"][1] for (feature, label), cell in m.binned.items() if feature == name}
        assert got == dict(expected), name
        for label, cell in m.binned.items():
            if label[0] == name:  # recall per class in a bin: its n are that bin's objects of the class
                assert sum(n for k, (_, n) in cell.items() if k != "all") == cell["all"][1]
    reporter = md.node_runs(store, run)["EvaluationReport"]
    page = open(f"{md.artifacts(store, reporter.execution.id, 'report')[0].uri}/{REPORT_FILE}").read()
    assert "By r magnitude (eval split; recall per class in each bin)" in page and "By redshift" in page


@pytest.mark.e2e
def test_predict_reproduces_tfma_recall_on_the_eval_split(e2e_run, sim300, tmp_path):
    work, _ = e2e_run
    store, run, evaluation = _first_evaluation(work)
    pusher = md.node_runs(store, run)["Pusher"]
    pushed = md.artifacts(store, pusher.execution.id, "pushed_model")[0]
    model_dir = pushed.custom_properties["pushed_destination"].string_value  # the model that evaluation blessed
    objs = list(records.read_split(sim300, "eval"))
    images = tmp_path / "cutouts"
    images.mkdir()
    rows_csv = tmp_path / "rows.csv"
    with open(rows_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objid", "ra", "dec", *c.BANDS, "redshift", "class"])
        for o in objs:
            (images / f"{o.objid}.jpg").write_bytes(o.image_jpeg)
            w.writerow([o.objid, repr(o.ra), repr(o.dec), *(repr(o.mags[b]) for b in c.BANDS), repr(o.redshift),
                        o.label])
        w.writerow(["bad1", 10.0, 1.0, "nan", 18, 18, 18, 18, 0.1, "STAR"])  # one bad row: reported, not fatal
        far = objs[0]  # a real cutout with photometry far past the simulated training data: flagged, not refused
        w.writerow(["far1", 10.0, 1.0, 29.5, *(repr(far.mags[b]) for b in c.BANDS[1:]), 7.4, far.label])
        (images / "far1.jpg").write_bytes(far.image_jpeg)
    out = tmp_path / "pred.csv"
    proc = subprocess.run([sys.executable, "-m", "inference.predict", "--csv", str(rows_csv), "--images", str(images),
                           "--model-dir", model_dir, "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr  # some rows failed, the rest predicted
    assert f"line {len(objs) + 2}, field 'u': bad_magnitude" in proc.stderr
    # The documented script and the installed console script are the same CLI: the same rows, byte for byte.
    for launcher in ([sys.executable, "pipeline/predict.py"], [str(Path(sys.executable).parent / "sdss-predict")]):
        again = tmp_path / "again.csv"
        rerun = subprocess.run([*launcher, "--csv", str(rows_csv), "--images", str(images), "--model-dir", model_dir,
                                "--out", str(again)], cwd=REPO, capture_output=True, text=True)
        assert (rerun.returncode, rerun.stdout) == (3, proc.stdout), launcher + [rerun.stderr[-2000:]]
        assert again.read_bytes() == out.read_bytes()
    assert f"read {len(objs) + 2}, predicted {len(objs) + 1}, failed 1" in proc.stdout
    assert f"model: {model_dir}" in proc.stdout
    far_line = str(len(objs) + 3)
    assert "[outside training range: u, redshift]" in proc.stdout
    with open(out) as fh:
        predicted = [r for r in csv.DictReader(fh) if not r["error"] and r["line"] != far_line]
    with open(out) as fh:
        assert next(r for r in csv.DictReader(fh) if r["line"] == far_line)["outside_training_range"] == "u redshift"
    assert sum(bool(r["outside_training_range"]) for r in predicted) < len(predicted) / 5  # eval is like train
    tfma_recall = results.load(evaluation.uri).candidate.per_class
    for name in c.CLASS_NAMES:
        mine = [r for r in predicted if r["catalogue_class"] == name]
        recall = sum(r["predicted"] == name for r in mine) / len(mine)
        assert recall == pytest.approx(tfma_recall[name]["recall"], abs=1e-9), name


@pytest.mark.e2e
def test_predict_defaults_to_the_newest_pushed_version(e2e_run, tmp_path):
    work, _ = e2e_run
    assert latest_version(str(Workspace(work).serving_dir / MODEL_NAME)) == str(versions(work)[-1])
    with pytest.raises(FileNotFoundError, match="no pushed model versions"):
        latest_version(str(tmp_path))


def test_predict_with_a_missing_or_wrong_model_dir_is_a_usage_error(tmp_path, capsys):
    import tensorflow as tf

    from inference import predict

    image = tmp_path / "x.jpg"
    image.write_bytes(b"not read: the model is checked first")
    values = ["--u", "19", "--g", "18", "--r", "17.5", "--i", "17.3", "--z", "17.2", "--redshift", "0.1",
              "--image", str(image)]
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    other = tmp_path / "other_model"
    module = tf.Module()
    module.f = tf.function(lambda x: x + 1, input_signature=[tf.TensorSpec([], tf.float32)])
    tf.saved_model.save(module, str(other), signatures={"serving_default": module.f})
    for folder, says in ((tmp_path / "nowhere", "no such folder"), (not_a_model, "not a SavedModel"),
                         (other, "no 'serving_raw' signature")):
        assert predict.main(["--model-dir", str(folder), *values]) == 2
        err = capsys.readouterr().err
        assert f"error: --model-dir {folder}: {says}" in err and "Traceback" not in err
