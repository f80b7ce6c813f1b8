"""The photometric mode end to end: records without a redshift, a model that never reads one, serving signatures
that do not ask for it, and the run summary, report, `sdss-inspect` and `sdss-predict` saying so."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import contract as c
from evaluation.predictions import predict_examples
from inference.model import load_model, predict_raw_with_ranges
from ingest import records
from pipeline import metadata as md
from pipeline.configs import PIPELINE_NAME
from runners.local.workspace import Workspace
from tests.e2e import ALL_NODES, PHOTOMETRIC_MODEL, REPO, states, versions
from tests.helpers import write_photometric_csv

pytestmark = pytest.mark.e2e


def test_records_without_redshift_train_and_push_a_photometric_model(photometric_run, sim300_no_redshift):
    work, console = photometric_run
    assert not any(c.REDSHIFT in tf.train.Example.FromString(r.numpy()).features.feature
                   for r in tf.data.TFRecordDataset(
                       [str(p) for p in (sim300_no_redshift / "train").glob(c.RECORD_GLOB)], "GZIP"))
    assert states(work) == {n: "COMPLETE" for n in ALL_NODES}
    assert "inputs photometric" in console
    assert "model inputs: photometric (u g r i z image; no redshift" in console
    assert "calibration: " in console and "blessed: YES" in console
    info = json.loads((versions(work, PHOTOMETRIC_MODEL)[0] / c.MODEL_INFO_FILE).read_text())
    assert info["inputs"] == c.PHOTOMETRIC and info["serving_raw_inputs"] == [*c.BANDS, c.IMAGE]
    assert info["temperature"] > 0 and isinstance(info["calibration"]["kept"], bool)
    assert info["calibration"]["n"] == sum(1 for _ in records.read_split(sim300_no_redshift, "eval"))


def test_serving_asks_for_no_redshift_and_both_signatures_agree(photometric_run, sim300_no_redshift):
    work, _ = photometric_run
    model = load_model(str(versions(work, PHOTOMETRIC_MODEL)[0]))
    assert set(model.signatures[c.SERVING_RAW].structured_input_signature[1]) == {*c.BANDS, c.IMAGE}
    objs = list(records.read_split(sim300_no_redshift, "test"))
    probs, flags = predict_raw_with_ranges(model, objs)
    assert flags.shape == (len(objs), len(c.BANDS))  # one outside-range flag per input the model reads
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    accuracy = np.mean([c.CLASS_NAMES[k] == o.label for k, o in zip(probs.argmax(axis=1), objs)])
    assert accuracy > 0.5, accuracy  # 5 epochs on 200 objects: far from good, far from chance
    # tf.Examples without redshift (and without class) through serving_default give the same probabilities.
    serialized = [records.to_example(o) for o in objs]
    for ex in serialized:
        del ex.features.feature[c.LABEL]
        assert c.REDSHIFT not in ex.features.feature
    by_example = predict_examples(model, [ex.SerializeToString() for ex in serialized])
    assert np.allclose(by_example, probs, atol=1e-5)


def test_report_and_inspect_say_which_inputs_and_how_calibrated(photometric_run):
    work, _ = photometric_run
    store = md.open_store(str(Workspace(work).metadata_path))
    reporter = md.latest_node_runs(store, PIPELINE_NAME)["EvaluationReport"]
    folder = md.artifacts(store, reporter.execution.id, "report")[0].uri
    page = open(f"{folder}/report.html").read()
    assert "model inputs: photometric" in page
    assert "Calibration (eval split" in page and "reliability diagrams" in page and "P &gt;= 0.99" in page
    assert "no redshift</td>" in page  # the redshift slice of records that have none
    summary = json.loads(open(f"{folder}/summary.json").read())
    assert summary["inputs"] == c.PHOTOMETRIC and summary["calibration"]["temperature"] > 0
    proc = subprocess.run([sys.executable, "-m", "evaluation.inspect_eval",
                           "--metadata-path", str(Workspace(work).metadata_path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "model inputs: photometric" in proc.stdout and "calibration: " in proc.stdout


def test_predict_takes_a_csv_without_a_redshift_column(photometric_run, sim300_no_redshift, tmp_path):
    work, _ = photometric_run
    model_dir = str(versions(work, PHOTOMETRIC_MODEL)[0])
    objs = list(records.read_split(sim300_no_redshift, "test"))[:40]
    rows, images = write_photometric_csv(objs, tmp_path)
    out = tmp_path / "pred.csv"
    proc = subprocess.run([sys.executable, "-m", "inference.predict", "--csv", str(rows),
                           "--images", str(images), "--model-dir", model_dir, "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "model inputs: photometric" in proc.stdout
    assert f"read {len(objs)}, predicted {len(objs)}, failed 0" in proc.stdout
    expected = predict_raw_with_ranges(load_model(model_dir), objs)[0]
    with open(out) as fh:
        got = np.array([[float(r[f"p_{n}"]) for n in c.CLASS_NAMES] for r in csv.DictReader(fh)])
    assert np.allclose(got, expected, atol=1e-5)
