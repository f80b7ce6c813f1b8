"""Damaged or unusable records stop a run before it starts, with the file and the reason named."""

import shutil
import subprocess
import sys

import pytest
import tensorflow as tf

import contract as c
from ingest import records
from runners.local import preflight
from runners.local.workspace import Workspace
from tests.e2e import REPO, flags


def _copy(sim300, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sim300, data)
    return data


def _rewrite(data, split, keep):
    """Replaces one split's records with the objects `keep` selects."""
    objs = [o for o in records.read_split(data, split) if keep(o)]
    shutil.rmtree(data / split)
    with records.SplitWriter(data) as w:
        for o in objs:
            w.write(o, split)
    if not objs:  # an existing but empty shard
        (data / split).mkdir()
        tf.io.TFRecordWriter(str(data / split / "part-00000.tfrecord.gz"), options="GZIP").close()


def test_clean_records_pass_with_their_class_counts(sim300):
    counts = preflight.check(str(sim300))
    assert set(counts) == set(c.PIPELINE_SPLITS)
    assert sum(counts["train"].values()) == sum(1 for _ in records.read_split(sim300, "train"))
    assert all(counts["eval"][name] > 0 for name in c.CLASS_NAMES)


@pytest.mark.parametrize("damage", ["truncated", "not_gzip"])
def test_a_damaged_shard_is_named(sim300, tmp_path, damage):
    data = _copy(sim300, tmp_path)
    shard = sorted((data / "train").glob("*.tfrecord.gz"))[0]
    blob = shard.read_bytes()
    shard.write_bytes(blob[: len(blob) * 2 // 3] if damage == "truncated" else b"id,ra\n1,2\n" * 50)
    with pytest.raises(preflight.DataError, match=rf"{shard}: truncated or corrupt after about \d+ good records"):
        preflight.check(str(data))


def test_an_empty_split_is_explained(sim300, tmp_path):
    data = _copy(sim300, tmp_path)
    _rewrite(data, "eval", lambda o: False)
    with pytest.raises(preflight.DataError, match=r"split 'eval' in .* has no records \(its 1 file\(s\) are empty\)"):
        preflight.check(str(data))
    shutil.rmtree(data / "eval")
    with pytest.raises(preflight.DataError, match=r"eval/ has no \*\.tfrecord\.gz files"):
        preflight.check(str(data))


def test_an_eval_split_without_a_class_is_explained(sim300, tmp_path):
    data = _copy(sim300, tmp_path)
    _rewrite(data, "eval", lambda o: o.label != "QSO")
    with pytest.raises(preflight.DataError, match="split 'eval' in .* has no QSO objects .* blessing gate"):
        preflight.check(str(data))


def test_run_local_stops_in_seconds_naming_the_shard(sim300, tmp_path):
    data = _copy(sim300, tmp_path)
    shard = sorted((data / "eval").glob("*.tfrecord.gz"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])
    proc = subprocess.run([sys.executable, "pipeline/run_local.py", *flags(data, tmp_path / "work")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"error: {shard}: truncated or corrupt" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (Workspace(tmp_path / "work").pipeline_root).exists()  # nothing ran


def test_run_local_without_records_says_how_to_make_them(tmp_path):
    """The same check as the preflight's, made before TensorFlow loads."""
    proc = subprocess.run([sys.executable, "pipeline/run_local.py", *flags(tmp_path / "none", tmp_path / "work")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"error: {tmp_path / 'none' / 'train'}/ has no *.tfrecord.gz files" in proc.stderr
    assert "`make data`" in proc.stderr and "Traceback" not in proc.stderr
    assert not Workspace(tmp_path / "work").log_file.exists()  # stopped before the run's log opened
