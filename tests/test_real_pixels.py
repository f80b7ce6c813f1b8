"""Real pixels through the pipeline: labelled real cutouts -> image encoder (TFX) -> fusion Trainer's base model on
a field-split slice of real_multimodal (real photometry + each object's own cutout), then serving and predict.py on
real cutouts end to end. ../shared/data is required: without it these tests fail, they do not skip."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2

import contract as c
from inference.model import load_model
from ingest import records
from ingest.cutout import to_contract
from ingest.labelled_cutouts import import_cutouts
from pipeline import metadata as md
from pipeline.configs import ENCODER_MODEL_NAME, PIPELINE_NAME
from runners.local.workspace import Workspace
from tests.e2e import REPO, run_pipeline, states, versions
from tests.helpers import SHARED_DATA
from trainer import features as f
from trainer import forest_ops
from trainer.model import EMBEDDING_LAYER

pytestmark = pytest.mark.e2e
SHARED = SHARED_DATA
MULTIMODAL = SHARED / "real_multimodal"
SLICE_PER_CLASS = 800  # 2,182 objects (GALAXY has fewer in file order), ~1,500 to train on
# How far the forest head may trail HGB + morphology or the MLP head on the slice's test split (~330 objects, one
# seed: 1 object is 0.003): the gap measured on the full split (0.008) and a few objects of one seed's noise.
GUARD_MARGIN = 0.02


def _need(path: Path) -> Path:
    assert path.exists(), f"{path} is missing: these tests read ../shared/data (CI provides it beside the clone)"
    return path


@pytest.fixture(scope="module")
def multimodal_slice(tmp_path_factory) -> Path:
    """The first 800 objects of each class of real_multimodal, imported as `make run-real` does: split by field."""
    import pandas as pd

    work = tmp_path_factory.mktemp("real_multimodal")
    pairs = pd.read_csv(_need(MULTIMODAL / "pairs.csv"), dtype={"objid": str})
    pairs.groupby("class", sort=False).head(SLICE_PER_CLASS).to_csv(work / "pairs.csv", index=False)
    proc = subprocess.run([sys.executable, "-m", "ingest", "import", "--split-by", "field", "--csv",
                           str(work / "pairs.csv"), "--images", str(MULTIMODAL / "images"), "--cutout-scale", "0.4",
                           "--out", str(work / "records")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((work / "records" / "import_summary.json").read_text())["split_by"] == "field"
    return work / "records"


@pytest.fixture(scope="module")
def real_slice(multimodal_slice, tmp_path_factory) -> Path:
    """60 real cutouts per class as image-only records (centre field at 0.4"/px), less the slice's objects and
    its eval and test fields."""
    out = tmp_path_factory.mktemp("real_slice")
    report = import_cutouts(str(_need(SHARED / "real_cutouts" / "labels.csv")),
                            str(SHARED / "real_cutouts" / "images"), str(out), cutout_scale=0.4, per_class=60,
                            held_out=str(multimodal_slice))
    assert report.read == 180 and report.read == report.written + report.rejected
    assert set(report.by_reason) <= {"held_out", "held_out_field"}
    return out


@pytest.fixture(scope="module")
def encoder_run(real_slice, tmp_path_factory):
    work = tmp_path_factory.mktemp("encoder")
    proc = run_pipeline(real_slice, work, "--model", "image", "--epochs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr + (Workspace(work).log_file).read_text()[-5000:]
    return work, proc.stdout


@pytest.fixture(scope="module")
def fused_run(encoder_run, multimodal_slice, tmp_path_factory):
    work = tmp_path_factory.mktemp("fused")
    encoder_dir = Workspace(encoder_run[0]).serving_dir / ENCODER_MODEL_NAME
    proc = run_pipeline(multimodal_slice, work, "--image-encoder", str(encoder_dir), "--epochs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr + (Workspace(work).log_file).read_text()[-5000:]
    return work, proc.stdout


def test_labelled_cutouts_train_an_image_model_through_the_pipeline(encoder_run):
    work, console = encoder_run
    assert all(s == "COMPLETE" for s in states(work).values())
    assert "no photometry: an image-only model" in console
    pushed = sorted((Workspace(work).serving_dir / ENCODER_MODEL_NAME).glob("*"))
    assert len(pushed) == 1
    loaded = tf.saved_model.load(str(pushed[0]))
    # Its raw signature takes the image alone: an image-only model asks for no photometry.
    assert set(loaded.signatures["serving_raw"].structured_input_signature[1]) == {c.IMAGE}


def test_fusion_trainer_starts_from_the_imported_encoder_and_keeps_it_frozen(encoder_run, fused_run):
    work, console = fused_run
    assert states(work)["image_encoder"] == "COMPLETE" and "image_encoder" in console
    store = md.open_store(str(Workspace(work).metadata_path))
    trainer = md.latest_node_runs(store, PIPELINE_NAME)["Trainer"]
    base = md.artifacts(store, trainer.execution.id, "base_model", metadata_store_pb2.Event.INPUT)
    encoder_version = sorted((Workspace(encoder_run[0]).serving_dir / ENCODER_MODEL_NAME).glob("*"))[0]
    assert [Path(a.uri).resolve() for a in base] == [encoder_version.resolve()]
    encoder = tf.keras.models.load_model(str(encoder_version), compile=False)
    forest_ops.register()  # the fused model's forest head
    fused = tf.keras.models.load_model(str(versions(work)[0]), compile=False)
    head = json.loads((versions(work)[0] / c.MODEL_INFO_FILE).read_text())["head"]
    assert head["head"] == "forest" and head["image_path"]["kind"] == "encoder heads"
    sub = fused.get_layer("image_encoder")
    assert not sub.trainable
    want = encoder.get_layer(EMBEDDING_LAYER).get_weights()
    got = sub.get_layer(EMBEDDING_LAYER).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(want, got))  # frozen: the fusion run did not move them
    assert f.IMAGE_XF in fused.input_names and len(fused.input_names) > 1
    # On real objects in their own cutouts, the summary says what was measured and on what.
    assert "pairs.csv with cutouts from" in console and "split by SDSS field" in console
    assert "eval split: accuracy" in console and "macro-F1" in console


def test_predict_and_serving_on_real_cutouts(fused_run, tmp_path):
    """predict.py on real 128 px cutouts at 0.4"/px, and a wrong-size image refused by the signature."""
    work, _ = fused_run
    model_dir = versions(work)[0]
    with open(_need(MULTIMODAL / "pairs.csv")) as fh:
        lines = fh.read().splitlines()[:7]  # header + 6 rows
    (tmp_path / "rows.csv").write_text("\n".join(lines) + "\n")
    rows = list(csv.DictReader(lines))
    out_csv = tmp_path / "pred.csv"
    proc = subprocess.run([sys.executable, "-m", "inference.predict", "--csv", str(tmp_path / "rows.csv"),
                           "--images", str(MULTIMODAL / "images"), "--cutout-scale", "0.4",
                           "--model-dir", str(model_dir), "--out", str(out_csv)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "read 6, predicted 6, failed 0" in proc.stdout
    with open(out_csv) as fh:
        predicted = list(csv.DictReader(fh))
    assert [p["catalogue_class"] for p in predicted[:6]] == [r["class"] for r in rows]
    probs = np.array([[float(p[f"p_{n}"]) for n in c.CLASS_NAMES] for p in predicted])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    # Without the scale, a 128 px file would halve every object; with it, the bytes are the import's.
    raw128 = (MULTIMODAL / "images" / f"{rows[0]['objid']}.jpg").read_bytes()
    loaded = load_model(str(model_dir))
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

    _need(MULTIMODAL / "pairs.csv")
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


def test_on_real_objects_the_forest_head_holds_its_own_against_trees_and_the_exact_pairs_benchmark_runs(
        encoder_run, tmp_path):
    """The guard of the "forest head" issue, through its own benchmark: on real objects in their own cutouts (a
    field-split slice of real_multimodal, the slice's test split), photometric fusion with the forest head is
    compared with HistGradientBoosting on the same photometry and the cutout's measured morphology (what it reads
    besides the image path's cross-fitted log-probabilities) and with the MLP head. The goal is to beat both; today
    it does not (BENCHMARKS.md "Exact pairs, forest head": 0.008 below HGB + morphology on the full test split,
    level with the MLP head), so the guard holds what is measured: neither falls further than GUARD_MARGIN behind.
    The benchmark's every model, goal line, error sheet and JSON are checked on the way; nothing is written to
    BENCHMARKS.md."""
    from benchmarks import exact_pairs

    encoder = str(Workspace(encoder_run[0]).serving_dir / ENCODER_MODEL_NAME)
    sheet, scores = tmp_path / "errors.png", tmp_path / "scores.json"
    body = exact_pairs.main(["--image-encoder", encoder, "--seeds", "0", "--epochs", "15",
                             "--limit", str(3 * SLICE_PER_CLASS), "--modes", "photometric", "--sheet", str(sheet),
                             "--networks", exact_pairs.FUSION, exact_pairs.FUSION_MLP,
                             "--json", str(scores), "--no-write"])
    for name in (exact_pairs.FUSION, exact_pairs.FUSION_MLP, exact_pairs.HGB, exact_pairs.RF, exact_pairs.HGB_MORPH,
                 exact_pairs.STACK, exact_pairs.IMAGE):
        means = _means(body, f"| {name} |")  # the last cell, QSO precision at P >= 0.9, is "-" where none is
        assert len(means) in (12, 13) and all(0.0 <= m <= 1.0 for m in means), (name, body)
    assert "split by SDSS field" in body and "OWN REAL cutout" in body
    assert "forest head >= MLP head in" in body and "| r < 17 |" in body and "| redshift < 0.01 |" in body
    saved = json.loads(scores.read_text())["photometric"]
    forest, mlp = saved[exact_pairs.FUSION][0]["accuracy"], saved[exact_pairs.FUSION_MLP][0]["accuracy"]
    trees = saved[exact_pairs.HGB_MORPH][0]["accuracy"]
    assert forest >= trees - GUARD_MARGIN and forest >= mlp - GUARD_MARGIN, (forest, trees, mlp)
    assert trees > 0.85  # the comparison is between working models
    assert saved[exact_pairs.HGB][0]["accuracy"] == pytest.approx(_means(body, f"| {exact_pairs.HGB} |")[0], abs=5e-5)
    wrong = int(re.search(r"(\d+) errors of \d+", body).group(1))
    assert wrong > 0 and sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_levers_benchmark_scores_each_variant_on_eval_alone(encoder_run, multimodal_slice):
    from benchmarks import levers

    encoder = str(Workspace(encoder_run[0]).serving_dir / ENCODER_MODEL_NAME)
    body = levers.main(["--data-dir", str(multimodal_slice), "--image-encoder", encoder, "--seeds", "0", "1",
                        "--epochs", "1", "--limit", "200", "--variants", "tabular-only", levers.BASE, "--no-write"])
    for name, seeds in (("tabular-only", 2), (levers.BASE, 2), (levers.ENSEMBLE, 1)):
        row = next(line for line in body.splitlines() if line.startswith(f"| {name} |"))
        cells = row.strip("|").split("|")
        assert int(cells[1]) == seeds
        means = [float(cell.split("±")[0]) for cell in cells[2:]]
        assert len(means) == 6 and all(0.0 <= m <= 1.0 for m in means), row
    assert "No test split is read" in body and "split by SDSS field" in body


def test_forest_levers_benchmark_scores_each_variant_on_eval_alone(encoder_run, multimodal_slice):
    from benchmarks import forest_levers

    encoder = str(Workspace(encoder_run[0]).serving_dir / ENCODER_MODEL_NAME)
    body = forest_levers.main(["--data-dir", str(multimodal_slice), "--image-encoder", encoder, "--seeds", "0",
                               "--limit", "400", "--modes", "photometric", "--no-write", "--variants",
                               "photometry alone", forest_levers.DEFAULT])
    for name in ("photometry alone", forest_levers.DEFAULT):
        means = _means(body, f"| {name} |")
        assert len(means) == 5 and all(0.0 <= m <= 1.0 for m in means), body
    assert "No test split is read" in body and "split by SDSS field" in body
