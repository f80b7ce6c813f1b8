"""The catalogue job (`sdss-classify-catalog`) with a pushed photometric model: it agrees with `sdss-predict` row by
row, accounts for every input row, and a run killed midway leaves no output."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import contract as c
from ingest import records
from runners.local.workspace import Workspace
from tests.e2e import PHOTOMETRIC_MODEL, REPO_ROOT, versions

pytestmark = pytest.mark.e2e
N_CATALOGUE = 2000


@pytest.fixture(scope="module")
def catalogue_csv(sim300_no_redshift, tmp_path_factory) -> Path:
    """2,000 unlabelled rows (sim300's objects under new ids), no redshift column, cutouts beside; two bad rows."""
    folder = tmp_path_factory.mktemp("catalogue")
    objs = [o for s in c.SPLITS for o in records.read_split(sim300_no_redshift, s)]
    (folder / "cutouts").mkdir()
    with open(folder / "catalogue.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objid", "ra", "dec", *c.BANDS])
        for k in range(N_CATALOGUE):
            o = objs[k % len(objs)]
            objid = f"{1237000000000000000 + k}"
            (folder / "cutouts" / f"{objid}.jpg").write_bytes(o.image_jpeg)
            w.writerow([objid, f"{(o.ra + k * 1e-3) % 360:.6f}", f"{o.dec:.6f}", *(repr(o.mags[b]) for b in c.BANDS)])
        w.writerow(["1237000000000099998", "10.0", "1.0", "-9999", 18, 18, 18, 18])  # SDSS's failed measurement
        w.writerow(["1237000000000099999", "10.0", "1.0", 19, 18, 18, 18, 18])  # no cutout for it
    return folder


def _classify(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference.catalog", *flags], cwd=REPO_ROOT, capture_output=True,
                          text=True)


def test_catalogue_job_matches_predict_row_by_row(photometric_run, catalogue_csv, tmp_path):
    model_dir = str(versions(photometric_run[0], PHOTOMETRIC_MODEL)[0])
    src = ["--csv", str(catalogue_csv / "catalogue.csv"), "--images", str(catalogue_csv / "cutouts")]
    job = _classify(*src, "--model-dir", model_dir, "--out", str(tmp_path / "out"))
    assert job.returncode == 0, job.stderr[-3000:]
    assert f"read {N_CATALOGUE + 2}, written {N_CATALOGUE}, rejected 2 (by reason: bad_magnitude=1, no_image=1)" \
        in job.stdout
    assert "classified 1 objects" in job.stderr  # progress on the console
    table = pd.read_parquet(tmp_path / "out" / "classified")
    assert len(table) == N_CATALOGUE and table["objid"].is_unique
    assert set(table["model_inputs"]) == {c.PHOTOMETRIC} and set(table["model_version"]) == {Path(model_dir).name}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["read"] == summary["written"] + summary["rejected"] == N_CATALOGUE + 2
    with open(tmp_path / "out" / "rejects.csv") as fh:
        rejects = list(csv.DictReader(fh))
    assert [r["source"] for r in rejects] == [f"catalogue.csv:{N_CATALOGUE + 2}", f"catalogue.csv:{N_CATALOGUE + 3}"]
    assert "field 'u'" in rejects[0]["detail"]

    pred = subprocess.run([sys.executable, "-m", "inference.predict", *src, "--model-dir", model_dir,
                           "--out", str(tmp_path / "predict.csv")], cwd=REPO_ROOT, capture_output=True, text=True)
    assert pred.returncode == 3, pred.stderr[-2000:]  # the same two rows failed there
    with open(tmp_path / "predict.csv") as fh:
        by_predict = {r["key"]: r for r in csv.DictReader(fh) if not r["error"]}
    assert set(by_predict) == set(table["objid"])
    for row in table.to_dict("records"):
        theirs = by_predict[row["objid"]]
        assert row["class"] == theirs["predicted"]
        mine = np.array([row[f"p_{n}"] for n in c.CLASS_NAMES])
        assert np.allclose(mine, [float(theirs[f"p_{n}"]) for n in c.CLASS_NAMES], atol=1e-5), row["objid"]
        assert " ".join(row[c.OUTSIDE_TRAINING_RANGE]) == theirs[c.OUTSIDE_TRAINING_RANGE]


def test_unlabelled_records_in_every_row_accounted_for(photometric_run, sim300_no_redshift, tmp_path):
    import tensorflow as tf

    objs = list(records.read_split(sim300_no_redshift, "test"))
    with tf.io.TFRecordWriter(str(tmp_path / "survey.tfrecord.gz"), options="GZIP") as w:
        for o in objs:
            ex = records.to_example(o)
            del ex.features.feature[c.LABEL]  # a catalogue has no class
            w.write(ex.SerializeToString())
        bad = records.to_example(objs[0])
        bad.features.feature["g"].float_list.value[0] = float("nan")
        w.write(bad.SerializeToString())
        w.write(b"not a tf.Example")
    out = tmp_path / "out"
    model_dir = str(versions(photometric_run[0], PHOTOMETRIC_MODEL)[0])
    job = _classify("--records", str(tmp_path / "*.tfrecord.gz"), "--model-dir", model_dir, "--out", str(out))
    assert job.returncode == 0, job.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["read"], summary["written"], summary["rejected"]) == (len(objs) + 2, len(objs), 2)
    assert summary["by_reason"] == {"bad_magnitude": 1, "bad_record": 1}
    assert sorted(pd.read_parquet(out / "classified")["objid"]) == sorted(o.objid for o in objs)
    again = _classify("--records", str(tmp_path / "*.tfrecord.gz"), "--out", str(out),
                      "--serving-dir", str(Workspace(photometric_run[0]).serving_dir))
    assert again.returncode == 2 and "not empty" in again.stderr  # never mixes two runs' output


def test_a_run_killed_midway_leaves_no_output_and_the_next_succeeds(photometric_run, catalogue_csv, tmp_path):
    flags = ["--csv", str(catalogue_csv / "catalogue.csv"), "--images", str(catalogue_csv / "cutouts"),
             "--model-dir", str(versions(photometric_run[0], PHOTOMETRIC_MODEL)[0]), "--out", str(tmp_path / "out")]
    proc = subprocess.Popen([sys.executable, "-m", "inference.catalog", *flags], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.partial-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before it could be killed"
    time.sleep(1.0)  # inside the Beam job now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.glob(".out.partial-*"))  # what the killed run left, hidden
    job = _classify(*flags)
    assert job.returncode == 0, job.stderr[-3000:]
    assert len(pd.read_parquet(tmp_path / "out" / "classified")) == N_CATALOGUE
    assert not list(tmp_path.glob(".out.partial-*"))  # the next run removed the leftover
