"""The forest head: cross-fitted image inputs, TF-DF ops wherever a model is loaded, and models from before it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import contract as c
from runners.local.workspace import Workspace
from tests.e2e import PHOTOMETRIC_MODEL, versions
from tests.helpers import REPO, write_photometric_csv
from trainer import crossfit


def _noise_dataset(n: int, seed: int = 0) -> tuple[tf.data.Dataset, list[bytes], np.ndarray]:
    """n distinct byte strings standing for JPEGs, with labels drawn at random: nothing to learn, all to memorise."""
    rng = np.random.default_rng(seed)
    images = [rng.bytes(32) for _ in range(n)]
    labels = rng.integers(0, len(c.CLASS_NAMES), n)
    ds = tf.data.Dataset.from_tensor_slices(({"image_xf": tf.constant(images)[:, None]}, labels[:, None])).batch(16)
    return ds, images, labels


def test_every_train_row_gets_its_image_output_from_a_model_that_never_saw_it():
    """Each fold model memorises what it is fitted on (a lookup table: a perfect overfit). Out of fold, no row can
    be recalled, so every output is the uniform guess; in fold (the leak the forest must not learn from) every row
    is. The fitting sets are the trainer's own (crossfit.without_fold)."""
    ds, images, labels = _noise_dataset(300)
    uniform = np.full(len(c.CLASS_NAMES), 1 / len(c.CLASS_NAMES))
    tables = []
    for k in range(crossfit.FOLDS):
        seen = {}
        for features, label in crossfit.without_fold(ds, k, "image_xf", batch_size=16):
            seen.update(zip(features["image_xf"].numpy().reshape(-1), label.numpy().reshape(-1)))
        tables.append(seen)
    assert sum(len(t) for t in tables) == (crossfit.FOLDS - 1) * len(images)  # each row out of exactly one fit

    def recall(table: dict, image: bytes) -> np.ndarray:
        return np.eye(len(c.CLASS_NAMES))[table[image]] if image in table else uniform

    per_model = np.stack([[recall(t, im) for im in images] for t in tables])
    folds = crossfit.fold_ids(tf.constant(images)).numpy()
    assert np.bincount(folds, minlength=crossfit.FOLDS).min() > 50
    assert np.allclose(crossfit.out_of_fold(per_model, folds), uniform)
    in_fold = crossfit.served(per_model)  # what a forest fitted on the served outputs would learn from
    assert (in_fold.argmax(axis=1) == labels).mean() == 1.0


def test_a_row_keeps_its_fold_however_the_batches_fall():
    ds, images, _ = _noise_dataset(64, seed=1)
    whole = crossfit.fold_ids(tf.constant(images)).numpy()
    rebatched = np.concatenate([crossfit.fold_ids(x["image_xf"]).numpy() for x, _ in ds.unbatch().shuffle(64, seed=3)
                                .batch(5)])
    order = {im: k for k, im in enumerate(images)}
    shuffled = [x["image_xf"].numpy()[0] for x, _ in ds.unbatch().shuffle(64, seed=3)]
    assert [whole[order[im]] for im in shuffled] == rebatched.tolist()
    with pytest.raises(ValueError, match="JPEG bytes"):
        crossfit.fold_ids(tf.zeros([2, 64, 64, 3]))


def _info(model_dir) -> dict:
    return json.loads((model_dir / c.MODEL_INFO_FILE).read_text())


def test_the_pushed_default_model_has_a_cross_fitted_forest_head(e2e_run):
    work, _ = e2e_run
    info = _info(versions(work)[0])["head"]
    assert info["head"] == "forest" and 0 < info["num_trees"] <= 300
    assert {"u_xf", "redshift_xf", "morph_r_c2_8", "image_logp_QSO"} <= set(info["columns"])
    image = info["image_path"]
    assert image["kind"] == "cnn" and image["folds"] == crossfit.FOLDS
    # Fit k saw every train row but those of fold k, counted from the rows it was fed.
    assert [info["train_rows"] - n for n in image["rows_per_fold"]] == image["fitted_rows"]


def _load_in_fresh_process(model_dir, prelude: str) -> subprocess.CompletedProcess:
    code = (f"import runtime_env\n{prelude}\nimport tensorflow as tf\n"
            f"m = tf.saved_model.load({str(model_dir)!r})\nprint(sorted(m.signatures))\n")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize("prelude", [
    "import evaluation.argmax_metrics",  # what TFMA imports in every Evaluator worker before it loads the model
    "from inference.model import load_model; load_model",  # sdss-predict and both catalogue drivers' workers
])
def test_every_process_that_loads_a_forest_model_registers_its_ops_first(photometric_run, prelude):
    model_dir = versions(photometric_run[0], PHOTOMETRIC_MODEL)[0]
    bare = _load_in_fresh_process(model_dir, "")
    assert bare.returncode != 0 and "SimpleML" in bare.stderr  # the test can fail: the graph needs TF-DF's ops
    if "load_model" in prelude:
        prelude = "from inference.model import load_model\nload_model(" + repr(str(model_dir)) + ")"
    loaded = _load_in_fresh_process(model_dir, prelude)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert c.SERVING_RAW in loaded.stdout and c.SERVING_DEFAULT in loaded.stdout


def test_the_mlp_head_stays_an_option(photometric_run, sim300_no_redshift, tmp_path):
    """--head mlp trains today's network end to end, as every model pushed before the forest head was."""
    from tests.e2e import run_pipeline

    proc = run_pipeline(sim300_no_redshift, tmp_path, "--inputs", "photometric", "--head", "mlp", "--epochs", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr + Workspace(tmp_path).log_file.read_text()[-3000:]
    (pushed,) = versions(tmp_path, PHOTOMETRIC_MODEL)
    assert _info(pushed)["head"] == {"head": "mlp"}
    assert _load_in_fresh_process(pushed, "").returncode == 0  # no TF-DF op in it


PREVIOUS = REPO / "tests" / "fixtures" / "pushed_87719be" / "sky_classifier_photometric"


def test_a_model_pushed_before_the_forest_head_still_loads_and_serves(sim300_no_redshift, tmp_path):
    """A version pushed by the pipeline at 87719be (MLP head, no head in its model_info): sdss-predict and the
    catalogue job classify with it as they did, and every tool calls it an MLP head."""
    import csv

    from evaluation import model_info
    from inference.model import load_model, predict_raw_with_ranges
    from ingest import records

    (version,) = PREVIOUS.iterdir()
    info = model_info.load(str(version))
    assert "head" not in info and model_info.describe_head(info).startswith("head: MLP")
    objs = list(records.read_split(sim300_no_redshift, "test"))[:30]
    rows, images = write_photometric_csv(objs, tmp_path)
    out = tmp_path / "pred.csv"
    proc = subprocess.run([sys.executable, "-m", "inference.predict", "--csv", str(rows),
                           "--images", str(images), "--model-dir", str(version), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"read {len(objs)}, predicted {len(objs)}, failed 0" in proc.stdout
    expected = predict_raw_with_ranges(load_model(str(version)), objs)[0]
    with open(out) as fh:
        got = np.array([[float(r[f"p_{n}"]) for n in c.CLASS_NAMES] for r in csv.DictReader(fh)])
    assert np.allclose(got, expected, atol=1e-5) and np.allclose(got.sum(axis=1), 1, atol=1e-4)
    job = subprocess.run([sys.executable, "-m", "inference.catalog", "--records",
                          str(sim300_no_redshift / "test" / c.RECORD_GLOB), "--model-dir", str(version),
                          "--out", str(tmp_path / "catalogue")], cwd=REPO, capture_output=True, text=True)
    assert job.returncode == 0, job.stderr[-3000:]
    summary = json.loads((tmp_path / "catalogue" / "summary.json").read_text())
    n = len(list(records.read_split(sim300_no_redshift, "test")))
    assert (summary["read"], summary["written"], summary["rejected"]) == (n, n, 0)
