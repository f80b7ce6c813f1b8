"""Real pixels through the pipeline: labelled real cutouts -> image encoder (TFX) -> fusion Trainer's base model,
then serving and predict.py on real cutouts end to end."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2

from ingest import contract as c
from ingest import records
from ingest.cutout import to_contract
from ingest.labelled_cutouts import import_cutouts
from pipeline import metadata as md
from pipeline.configs import ENCODER_MODEL_NAME, PIPELINE_NAME, REPO_ROOT
from tests.e2e import run_pipeline, states, versions
from trainer import features as f
from trainer.model import EMBEDDING_LAYER

pytestmark = pytest.mark.e2e
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def real_slice(tmp_path_factory) -> Path:
    """60 real cutouts per class as image-only records (centre field at 0.4"/px)."""
    if not (SHARED / "real_cutouts" / "labels.csv").exists():
        pytest.skip(f"real cutouts not found under {SHARED} (CI provides ../shared)")
    out = tmp_path_factory.mktemp("real_slice")
    report = import_cutouts(str(SHARED / "real_cutouts" / "labels.csv"), str(SHARED / "real_cutouts" / "images"),
                            str(out), cutout_scale=0.4, per_class=60)
    assert (report.read, report.written, report.rejected) == (180, 180, 0)
    return out


@pytest.fixture(scope="module")
def encoder_run(real_slice, tmp_path_factory):
    work = tmp_path_factory.mktemp("encoder")
    proc = run_pipeline(real_slice, work, "--model", "image", "--epochs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr + (work / "run.log").read_text()[-5000:]
    return work, proc.stdout


@pytest.fixture(scope="module")
def fused_run(encoder_run, sim300, tmp_path_factory):
    work = tmp_path_factory.mktemp("fused")
    encoder_dir = encoder_run[0] / "serving" / ENCODER_MODEL_NAME
    proc = run_pipeline(sim300, work, "--image-encoder", str(encoder_dir), "--epochs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr + (work / "run.log").read_text()[-5000:]
    return work, proc.stdout


def test_labelled_cutouts_train_an_image_model_through_the_pipeline(encoder_run):
    work, console = encoder_run
    assert all(s == "COMPLETE" for s in states(work).values())
    assert "no photometry: an image-only model" in console
    pushed = sorted((work / "serving" / ENCODER_MODEL_NAME).glob("*"))
    assert len(pushed) == 1
    loaded = tf.saved_model.load(str(pushed[0]))
    # Its raw signature takes the image alone: an image-only model asks for no photometry.
    assert set(loaded.signatures["serving_raw"].structured_input_signature[1]) == {c.IMAGE}


def test_fusion_trainer_starts_from_the_imported_encoder_and_keeps_it_frozen(encoder_run, fused_run):
    work, console = fused_run
    assert states(work)["image_encoder"] == "COMPLETE" and "image_encoder" in console
    store = md.open_store(str(work / "md.sqlite"))
    trainer = md.latest_node_runs(store, PIPELINE_NAME)["Trainer"]
    base = md.artifacts(store, trainer.execution.id, "base_model", metadata_store_pb2.Event.INPUT)
    encoder_version = sorted((encoder_run[0] / "serving" / ENCODER_MODEL_NAME).glob("*"))[0]
    assert [Path(a.uri).resolve() for a in base] == [encoder_version.resolve()]
    encoder = tf.keras.models.load_model(str(encoder_version), compile=False)
    fused = tf.keras.models.load_model(str(versions(work)[0]), compile=False)
    sub = fused.get_layer("image_encoder")
    assert not sub.trainable
    want = encoder.get_layer(EMBEDDING_LAYER).get_weights()
    got = sub.get_layer(EMBEDDING_LAYER).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(want, got))  # frozen: the fusion run did not move them
    assert f.IMAGE_XF in fused.input_names and len(fused.input_names) > 1


def test_predict_and_serving_on_real_cutouts(fused_run, tmp_path):
    """predict.py on real 128 px pair cutouts at 0.4"/px, and a wrong-size image refused by the signature."""
    if not (SHARED / "real_pairs" / "pairs.csv").exists():
        pytest.skip("real pairs not found (CI provides ../shared)")
    work, _ = fused_run
    model_dir = versions(work)[0]
    with open(SHARED / "real_pairs" / "pairs.csv") as fh:
        lines = fh.read().splitlines()[:7]  # header + 6 rows
    (tmp_path / "rows.csv").write_text("\n".join(lines) + "\n")
    rows = list(csv.DictReader(lines))
    out_csv = tmp_path / "pred.csv"
    proc = subprocess.run([sys.executable, "-m", "inference.predict", "--csv", str(tmp_path / "rows.csv"),
                           "--images", str(SHARED / "real_pairs" / "images"), "--cutout-scale", "0.4",
                           "--model-dir", str(model_dir), "--out", str(out_csv)],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "read 6, predicted 6, failed 0" in proc.stdout
    with open(out_csv) as fh:
        predicted = list(csv.DictReader(fh))
    assert [p["catalogue_class"] for p in predicted[:6]] == [r["class"] for r in rows]
    probs = np.array([[float(p[f"p_{n}"]) for n in c.CLASS_NAMES] for p in predicted])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    # Without the scale, a 128 px file would halve every object; with it, the bytes are the import's.
    raw128 = (SHARED / "real_pairs" / "images" / f"{rows[0]['objid']}.jpg").read_bytes()
    loaded = tf.saved_model.load(str(model_dir))
    fn = loaded.signatures["serving_raw"]
    feats = {b: tf.constant([float(rows[0][b])]) for b in (*c.BANDS, c.REDSHIFT)}
    with pytest.raises(tf.errors.InvalidArgumentError, match="64x64 cutout at 0.396"):
        fn(**feats, image=tf.constant([raw128]))
    fixed = fn(**feats, image=tf.constant([to_contract(raw128, 0.4)]))["probabilities"].numpy()[0]
    assert np.allclose(fixed, probs[0], atol=1e-5)  # the signature on the import's bytes = predict.py's answer
    # serving_default, a tf.Example as the importer writes it, gives the same answer.
    obj = records.SkyObject(rows[0]["objid"], float(rows[0]["ra"]), float(rows[0]["dec"]),
                            {b: float(rows[0][b]) for b in c.BANDS}, float(rows[0]["redshift"]),
                            to_contract(raw128, 0.4), rows[0]["class"])
    example = records.to_example(obj).SerializeToString()
    by_example = loaded.signatures["serving_default"](examples=tf.constant([example]))["probabilities"].numpy()[0]
    assert np.allclose(by_example, probs[0], atol=1e-5)


def _means(body: str, row_start: str) -> list[float]:
    row = next(line for line in body.splitlines() if line.startswith(row_start))
    return [float(cell.split("±")[0]) for cell in row.strip("|").split("|")[1:] if "±" in cell]


def test_realism_benchmark_on_a_few_real_pairs(tmp_path):
    from benchmarks import realism

    if not (SHARED / "real_pairs" / "pairs.csv").exists():
        pytest.skip("real pairs not found (CI provides ../shared)")
    sheet = tmp_path / "sheet.png"
    body = realism.main(["--per-class", "12", "--sheet", str(sheet), "--no-write"])
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for row in ("| real-vs-simulated CNN discriminator AUC", "| logistic regression"):
        line = next(x for x in body.splitlines() if x.startswith(row))
        before, after = (float(v) for v in line.strip("|").split("|")[1:])
        assert 0.0 <= before <= 1.0 and 0.0 <= after <= 1.0
    assert "| STAR | central_fwhm_px |" in body and "REAL SkyServer cutout" in body


def test_sim_to_real_benchmark_on_the_real_slice(real_slice, sim300):
    from benchmarks import sim_to_real

    body = sim_to_real.main(["--real", str(real_slice), "--sim", f"tiny={sim300}", "--seeds", "0", "--epochs", "1",
                             "--no-write"])
    for name in ("| real |", "| simulated (tiny) |"):
        means = _means(body, name)
        assert len(means) == 4 and all(0.0 <= m <= 1.0 for m in means), body


def test_real_fusion_benchmark_on_a_few_pairs(encoder_run):
    from benchmarks import real_fusion

    encoder = str(encoder_run[0] / "serving" / ENCODER_MODEL_NAME)
    body = real_fusion.main(["--image-encoder", encoder, "--variants", "fusion, real-pixel encoder frozen (pairs)",
                             "--seeds", "0", "--epochs", "1", "--limit", "150", "--no-write"])
    for name in ("| fusion, real-pixel encoder frozen (pairs) |", "| HistGradientBoosting (pairs + simulated) |"):
        means = _means(body, name)
        assert len(means) == 8 and all(0.0 <= m <= 1.0 for m in means), body
    assert "REAL DR14 photometry and REAL SDSS cutouts" in body and "SIMULATED cutouts" in body


@pytest.fixture(scope="module")
def real_pairs_records(tmp_path_factory) -> Path:
    """The real pairs (DR14 photometry + their real cutouts at 0.4"/px), imported with the importer's hash split."""
    if not (SHARED / "real_pairs" / "pairs.csv").exists():
        pytest.skip("real pairs not found (CI provides ../shared)")
    from ingest.skyserver_import import import_export

    out = tmp_path_factory.mktemp("real_pairs")
    report = import_export(str(SHARED / "real_pairs" / "pairs.csv"), str(SHARED / "real_pairs" / "images"), str(out),
                           cutout_scale=0.4)
    assert report.rejected == 0
    return out


def test_on_real_pixels_fusion_is_no_worse_than_tabular_only(real_pairs_records, tmp_path):
    """The guard of the "Real pixels" issue: the image branch, trained on real cutouts, must not hurt.

    Both models go through the pipeline on the same real records (one pipeline root, Transform shared) and are
    compared on the Evaluator's own eval-split accuracy. BENCHMARKS.md has the 3-seed test-split table.
    """
    from evaluation import results

    accuracy = {}
    for kind in ("tabular", "fusion"):
        proc = run_pipeline(real_pairs_records, tmp_path, "--model", kind, "--epochs", "15")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        store = md.open_store(str(tmp_path / "md.sqlite"))
        evaluator = md.latest_node_runs(store, PIPELINE_NAME)["Evaluator"]
        evaluation = md.artifacts(store, evaluator.execution.id, "evaluation")[0]
        accuracy[kind] = results.load(evaluation.uri).candidate.accuracy
    assert accuracy["fusion"] >= accuracy["tabular"], accuracy
    assert accuracy["tabular"] > 0.9  # both learned: the comparison is between working models
