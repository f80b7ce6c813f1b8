"""The catalogue job (`sdss-classify-catalog`) with a pushed photometric model, on both engines: Beam agrees with
`sdss-predict` row by row, Spark agrees with Beam row by row, every input row is accounted for, a killed run leaves no
output, and on a standalone Spark cluster a worker killed midway costs a retry, never a row."""

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
from tests.e2e import PHOTOMETRIC_MODEL, REPO, versions

pytestmark = pytest.mark.e2e
N_CATALOGUE = 2000
N_SHARDS = 4


@pytest.fixture(scope="module")
def model_dir(photometric_run) -> str:
    return str(versions(photometric_run[0], PHOTOMETRIC_MODEL)[0])


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


@pytest.fixture(scope="module")
def survey(sim300_no_redshift, tmp_path_factory) -> tuple[Path, list[str]]:
    """sim300's objects, unlabelled, in 4 gzip TFRecord shards; the last also holds a record with a NaN magnitude
    and bytes that are no tf.Example. Returns the folder and the good objids."""
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("survey")
    objs = [o for s in c.SPLITS for o in records.read_split(sim300_no_redshift, s)]
    for k in range(N_SHARDS):
        with tf.io.TFRecordWriter(str(folder / f"part-{k}.tfrecord.gz"), options="GZIP") as w:
            for o in objs[k::N_SHARDS]:
                ex = records.to_example(o)
                del ex.features.feature[c.LABEL]  # a catalogue has no class
                w.write(ex.SerializeToString())
            if k == N_SHARDS - 1:
                bad = records.to_example(objs[0])
                bad.features.feature["g"].float_list.value[0] = float("nan")
                w.write(bad.SerializeToString())
                w.write(b"not a tf.Example")
    return folder, [o.objid for o in objs]


@pytest.fixture(scope="module")
def survey_parquet(survey, tmp_path_factory) -> Path:
    """The survey's readable records as Parquet (its NaN one included), in two files of several row groups; one row
    without a cutout."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("survey_parquet")
    rows = []
    for f in sorted(survey[0].glob("*.tfrecord.gz")):
        for serialized in tf.data.TFRecordDataset(str(f), compression_type="GZIP").as_numpy_iterator():
            try:
                o = records.from_example(serialized)
            except Exception:  # noqa: BLE001 - the survey's deliberately broken record
                continue
            rows.append({c.OBJID: o.objid, c.RA: o.ra, c.DEC: o.dec, **o.mags, c.IMAGE: o.image_jpeg})
    rows[5] = {**rows[5], c.IMAGE: b""}
    half = len(rows) // 2
    for k, part in enumerate((rows[:half], rows[half:])):
        pq.write_table(pa.Table.from_pylist(part), folder / f"part-{k}.parquet", row_group_size=40)
    return folder


def _classify(*flags: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference.catalog", *flags], cwd=REPO, capture_output=True,
                          text=True, env=env)


def _csv_flags(catalogue_csv: Path) -> list[str]:
    return ["--csv", str(catalogue_csv / "catalogue.csv"), "--images", str(catalogue_csv / "cutouts")]


def _records_flags(survey) -> list[str]:
    return ["--records", str(survey[0] / "*.tfrecord.gz")]


@pytest.fixture(scope="module")
def beam_csv(catalogue_csv, model_dir, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("beam_csv") / "out"
    return out, _classify(*_csv_flags(catalogue_csv), "--model-dir", model_dir, "--out", str(out))


@pytest.fixture(scope="module")
def beam_records(survey, model_dir, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("beam_records") / "out"
    return out, _classify(*_records_flags(survey), "--model-dir", model_dir, "--out", str(out))


def _rejects(out: Path) -> list[dict]:
    with open(out / "rejects.csv", newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: r["source"])


def _rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "classified").sort_values("source").reset_index(drop=True)


def _assert_same_output(mine: Path, beam: Path) -> None:
    """Row by row: the same objects, sources, classes and flags, probabilities within 1e-5; the same rejects and
    counts."""
    a, b = _rows(mine), _rows(beam)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in ("objid", "source", "class", "model_version", "model_inputs", "same_object_as"):
        assert a[col].tolist() == b[col].tolist(), col
    assert [list(x) for x in a[c.OUTSIDE_TRAINING_RANGE]] == [list(x) for x in b[c.OUTSIDE_TRAINING_RANGE]]
    probs = [f"p_{n}" for n in c.CLASS_NAMES]
    assert np.abs(a[probs].to_numpy() - b[probs].to_numpy()).max() <= 1e-5
    assert _rejects(mine) == _rejects(beam)
    sa, sb = (json.loads((o / "summary.json").read_text()) for o in (mine, beam))
    assert [sa[k] for k in ("read", "written", "rejected", "by_reason")] == \
        [sb[k] for k in ("read", "written", "rejected", "by_reason")]


def test_catalogue_job_matches_predict_row_by_row(beam_csv, catalogue_csv, model_dir, tmp_path):
    out, job = beam_csv
    assert job.returncode == 0, job.stderr[-3000:]
    assert f"read {N_CATALOGUE + 2}, written {N_CATALOGUE}, rejected 2 (by reason: bad_magnitude=1, no_image=1)" \
        in job.stdout
    assert "classified 1 objects" in job.stderr  # progress on the console
    table = pd.read_parquet(out / "classified")
    assert len(table) == N_CATALOGUE and table["objid"].is_unique
    assert set(table["model_inputs"]) == {c.PHOTOMETRIC} and set(table["model_version"]) == {Path(model_dir).name}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["read"] == summary["written"] + summary["rejected"] == N_CATALOGUE + 2
    assert summary["engine"] == "beam"
    rejects = _rejects(out)
    assert [r["source"] for r in rejects] == [f"catalogue.csv line {N_CATALOGUE + 2}",
                                              f"catalogue.csv line {N_CATALOGUE + 3}"]
    # The import's words: the file line, the field, what is wrong.
    assert rejects[0]["detail"] == (f"catalogue.csv line {N_CATALOGUE + 2}, field 'u': non-finite or sentinel "
                                    "value -9999")

    pred = subprocess.run([sys.executable, "-m", "inference.predict", *_csv_flags(catalogue_csv),
                           "--model-dir", model_dir, "--out", str(tmp_path / "predict.csv")], cwd=REPO,
                          capture_output=True, text=True)
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


@pytest.fixture(scope="module")
def catalogue_fits(catalogue_csv, tmp_path_factory) -> Path:
    """The CSV catalogue as a FITS binary table, as CasJobs or TOPCAT write one, and then two rows more: the first
    object listed again, and another id 0.5" from the second object (its own cutout file)."""
    from astropy.table import Table, vstack

    t = Table.read(catalogue_csv / "catalogue.csv", format="ascii.csv", converters={"objid": np.int64})
    again = t[[0, 1]]
    again["objid"][1] = 1237000000000088888
    again["dec"][1] += 0.5 / 3600
    folder = tmp_path_factory.mktemp("catalogue_fits")
    (folder / "cutouts").mkdir()
    for f in (catalogue_csv / "cutouts").iterdir():
        (folder / "cutouts" / f.name).symlink_to(f)
    (folder / "cutouts" / "1237000000000088888.jpg").symlink_to(catalogue_csv / "cutouts" / f"{t['objid'][1]}.jpg")
    vstack([t, again]).write(folder / "catalogue.fits")
    return folder


def _as_csv_source(source: str) -> str:
    """`catalogue.fits row N` is `catalogue.csv line N+1` (the CSV's header is line 1)."""
    return f"catalogue.csv line {int(source.rsplit(' ', 1)[1]) + 1}"


def test_a_fits_catalogue_gives_the_csvs_rows_on_both_engines_and_flags_repeats(java, beam_csv, catalogue_fits,
                                                                                 model_dir, tmp_path):
    from astropy.table import Table

    flags = ["--table", str(catalogue_fits / "catalogue.fits"), "--images", str(catalogue_fits / "cutouts"),
             "--model-dir", model_dir, "--format", "both"]
    beam = _classify(*flags, "--out", str(tmp_path / "beam"))
    assert beam.returncode == 0, beam.stderr[-3000:]
    n = N_CATALOGUE
    assert f"read {n + 4}, written {n + 2}, rejected 2" in beam.stdout
    mine, theirs = _rows(tmp_path / "beam"), _rows(beam_csv[0])
    extra = {f"catalogue.fits row {n + 3}", f"catalogue.fits row {n + 4}"}
    same = mine[~mine["source"].isin(extra)].copy()
    same["source"] = same["source"].map(_as_csv_source)
    same = same.sort_values("source").reset_index(drop=True)
    for col in ("objid", "source", "class"):
        assert same[col].tolist() == theirs[col].tolist(), col
    probs = [f"p_{name}" for name in c.CLASS_NAMES]
    assert np.abs(same[probs].to_numpy() - theirs[probs].to_numpy()).max() <= 1e-5
    # The same rows refused for the same reason and field (a typed table prints -9999.0 where the CSV says -9999).
    assert [(r["reason"], r["detail"].split(", ", 1)[1].split(":")[0]) for r in _rejects(tmp_path / "beam")] == \
        [(r["reason"], r["detail"].split(", ", 1)[1].split(":")[0]) for r in _rejects(beam_csv[0])]
    assert [_as_csv_source(r["source"]) for r in _rejects(tmp_path / "beam")] == \
        [r["source"] for r in _rejects(beam_csv[0])]
    # The repeats are classified and flagged, both listings of each; the CSV, which has none, flags nothing.
    assert set(theirs["same_object_as"]) == {""}
    flagged = dict(zip(mine["source"], mine["same_object_as"]))
    assert flagged["catalogue.fits row 1"] == f"catalogue.fits row {n + 3}"
    assert flagged[f"catalogue.fits row {n + 4}"] == "catalogue.fits row 2"
    assert sum(v != "" for v in flagged.values()) == 4
    summary = json.loads((tmp_path / "beam" / "summary.json").read_text())
    assert summary["read"] == summary["written"] + summary["rejected"]
    assert summary["same_object"] == {"rows_flagged": 4, "objects_listed_more_than_once": 2}
    table = Table.read(tmp_path / "beam" / "classified.fits")
    assert len(table) == n + 2 and str(table["ra"].unit) == "deg"
    assert (table.meta["MODELVER"], table.meta["INPUTS"], table.meta["NREAD"], table.meta["NREJECT"]) == \
        (Path(model_dir).name, c.PHOTOMETRIC, n + 4, 2)

    # Spark writes to a filesystem only Hadoop reaches (viewfs://, mounted here on a local folder), as to gs:// or
    # hdfs://: staged, flagged, counted and given its FITS table through Hadoop's FileSystem.
    (tmp_path / "results").mkdir()
    mount = f"spark.hadoop.fs.viewfs.mounttable.sdss.link./results={(tmp_path / 'results').as_uri()}"
    spark = _classify(*flags, "--out", "viewfs://sdss/results/spark", "--engine", "spark", "--master", "local[2]",
                      "--spark-conf", mount)
    assert spark.returncode == 0, spark.stdout[-3000:] + spark.stderr[-3000:]
    out = tmp_path / "results" / "spark"
    _assert_same_output(out, tmp_path / "beam")  # the repeats flagged alike
    assert len(Table.read(out / "classified.fits")) == n + 2
    assert sorted(p.name for p in out.iterdir()) == ["classified", "classified.fits", "rejects.csv", "summary.json"]
    assert not list(out.rglob("*.crc")) and os.listdir(tmp_path / "results") == ["spark"]  # no leftover, no .crc

    # TOPCAT's command line reads the FITS output: its row count and column names.
    from tests.test_tables import stilts

    meta = subprocess.run([stilts(), "tpipe", f"in={tmp_path / 'beam' / 'classified.fits'}", "omode=meta"],
                          capture_output=True, text=True)
    assert meta.returncode == 0, meta.stderr
    assert f"Rows:    {n + 2}" in meta.stdout
    listed = [line.split(":", 1)[1].split("(")[0].strip() for line in meta.stdout.splitlines()
              if line.strip()[:1].isdigit() and "(" in line]
    assert listed == table.colnames


def test_a_catalogue_table_that_cannot_be_read_fails_before_any_engine(catalogue_fits, model_dir, tmp_path):
    from astropy.table import Table

    wrong = tmp_path / "text_g.fits"
    t = Table.read(catalogue_fits / "catalogue.fits")[:20]
    t["g"] = [str(v) for v in t["g"]]
    t.write(wrong)
    job = _classify("--table", str(wrong), "--model-dir", model_dir, "--out", str(tmp_path / "out"))
    errors = [line for line in job.stderr.splitlines() if line.startswith("error:")]
    assert job.returncode == 2 and len(errors) == 1, job.stderr[-2000:]
    assert str(wrong) in errors[0] and "column 'g'" in errors[0]
    assert not (tmp_path / "out").exists()


def test_unlabelled_records_in_every_row_accounted_for(beam_records, survey, photometric_run):
    out, job = beam_records
    assert job.returncode == 0, job.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    n = len(survey[1])
    assert (summary["read"], summary["written"], summary["rejected"]) == (n + 2, n, 2)
    assert summary["by_reason"] == {"bad_magnitude": 1, "bad_record": 1}
    assert sorted(pd.read_parquet(out / "classified")["objid"]) == sorted(survey[1])
    again = _classify(*_records_flags(survey), "--out", str(out),
                      "--serving-dir", str(Workspace(photometric_run[0]).serving_dir))
    assert again.returncode == 2 and "not empty" in again.stderr  # never mixes two runs' output


def test_a_run_killed_midway_leaves_no_output_and_the_next_succeeds(catalogue_csv, model_dir, tmp_path):
    flags = [*_csv_flags(catalogue_csv), "--model-dir", model_dir, "--out", str(tmp_path / "out")]
    _kill_midway(flags, tmp_path, lambda partial: True)
    job = _classify(*flags)
    assert job.returncode == 0, job.stderr[-3000:]
    assert len(pd.read_parquet(tmp_path / "out" / "classified")) == N_CATALOGUE
    assert not list(tmp_path.glob(".out.partial-*"))  # the next run removed the leftover


def _kill_midway(flags: list[str], tmp_path: Path, started) -> None:
    """Starts the job and SIGKILLs its driver once the staged output exists and `started(partial)` holds."""
    proc = subprocess.Popen([sys.executable, "-m", "inference.catalog", *flags], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        partial = list(tmp_path.glob(".out.partial-*"))
        if partial and started(partial[0]):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before it could be killed:\n" + proc.stdout.read()[-3000:]
    time.sleep(1.0)  # inside the job now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.glob(".out.partial-*"))  # what the killed run left, hidden


# Spark: a JVM per run, so these tests need Java (17 here) and fail, not skip, without it.

@pytest.fixture(scope="module")
def java() -> str:
    from inference.drivers.spark_cluster import require_java

    try:
        return require_java()
    except RuntimeError as e:
        pytest.fail(f"the Spark tests need Java: {e}")


def test_parquet_input_on_both_engines(java, survey_parquet, survey, model_dir, tmp_path):
    """The records' columns as Parquet: every good object classified, the bad rows rejected with the records'
    reasons, and Spark (one task per row group) gives Beam's rows."""
    flags = ["--parquet", str(survey_parquet / "*.parquet"), "--model-dir", model_dir]
    beam = _classify(*flags, "--out", str(tmp_path / "beam"))
    assert beam.returncode == 0, beam.stderr[-3000:]
    rejects = {r["reason"]: r for r in _rejects(tmp_path / "beam")}
    assert sorted(rejects) == ["bad_image", "bad_magnitude"], rejects  # the survey's NaN record came along
    assert "field 'image'" in rejects["bad_image"]["detail"] and "field 'g'" in rejects["bad_magnitude"]["detail"]
    without_cutout = rejects["bad_image"]["source"].split("#")[1]  # part-0.parquet#<objid>
    assert sorted(pd.read_parquet(tmp_path / "beam" / "classified")["objid"]) == \
        sorted(set(survey[1]) - {without_cutout})
    spark = _classify(*flags, "--out", str(tmp_path / "spark"), "--engine", "spark", "--master", "local[2]")
    assert spark.returncode == 0, spark.stdout[-3000:] + spark.stderr[-3000:]
    _assert_same_output(tmp_path / "spark", tmp_path / "beam")
    assert json.loads((tmp_path / "spark" / "summary.json").read_text())["spark_tasks"] >= 2  # split at row groups
    # A URI whose filesystem this cluster has no connector for: one line naming it, exit 2, nothing written.
    remote = _classify("--parquet", "gs://no-such-bucket/survey/*.parquet", "--model-dir", model_dir, "--out",
                       str(tmp_path / "remote"), "--engine", "spark", "--master", "local[1]")
    errors = [line for line in remote.stderr.splitlines() if line.startswith("error:")]
    assert remote.returncode == 2 and len(errors) == 1, remote.stderr[-2000:]
    assert "gs://no-such-bucket/survey/*.parquet: Spark cannot read it" in errors[0] and "gs" in errors[0]
    assert not (tmp_path / "remote").exists()
    remote = _classify("--parquet", str(survey_parquet / "*.parquet"), "--model-dir", model_dir, "--out",
                       "gs://no-such-bucket/out", "--engine", "spark", "--master", "local[1]")
    errors = [line for line in remote.stderr.splitlines() if line.startswith("error:")]
    assert remote.returncode == 2 and len(errors) == 1, remote.stderr[-2000:]
    assert "--out gs://no-such-bucket/out: Spark cannot reach it" in errors[0]


def test_spark_on_local_cores_gives_beams_rows_rejects_and_counts(java, beam_csv, catalogue_csv, model_dir, tmp_path):
    """The CSV, and the job's output, given as file:// URIs, as Hadoop paths are (records on Spark: the cluster's
    tests; Parquet and a table: their own)."""
    beam_out, beam_job = beam_csv
    assert beam_job.returncode == 0, beam_job.stderr[-3000:]
    out = tmp_path / "spark_csv"
    job = _classify("--csv", (catalogue_csv / "catalogue.csv").as_uri(), "--images", str(catalogue_csv / "cutouts"),
                    "--model-dir", model_dir, "--out", out.as_uri(), "--engine", "spark", "--master", "local[2]",
                    "--spark-conf", "spark.driver.memory=768m")
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert "spark: master local[2], 2 cores, UI http://127.0.0.1:" in job.stdout  # the UI, on this machine only
    _assert_same_output(out, beam_out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "spark" and summary["spark_tasks"] >= 2  # the CSV, too, in partitions

    # The cutouts on a filesystem only Hadoop reaches (viewfs://, mounted here on the local folder), as on gs://:
    # Spark lists and reads them (binaryFile) and joins each row to its file.
    folder = catalogue_csv / "cutouts"
    joined = tmp_path / "spark_joined"
    job = _classify("--csv", str(catalogue_csv / "catalogue.csv"), "--images", "viewfs://sdss/cutouts",
                    "--model-dir", model_dir, "--out", str(joined), "--engine", "spark", "--master", "local[2]",
                    "--spark-conf", f"spark.hadoop.fs.viewfs.mounttable.sdss.link./cutouts={folder.as_uri()}")
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    rejects = joined / "rejects.csv"  # the same rejects, each naming the folder as it was given
    assert "viewfs://sdss/cutouts" in rejects.read_text()
    rejects.write_text(rejects.read_text().replace("viewfs://sdss/cutouts", str(folder)))
    _assert_same_output(joined, beam_out)


def test_spark_engine_without_java_fails_with_a_clear_message(model_dir, survey, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    job = _classify(*_records_flags(survey), "--model-dir", model_dir, "--out", str(tmp_path / "out"),
                    "--engine", "spark", env=env)
    assert job.returncode == 2 and "needs Java 17" in job.stderr, job.stderr[-2000:]
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def cluster(java, tmp_path_factory):
    """A standalone master and 2 one-core workers from the pyspark package, on 127.0.0.1."""
    from inference.drivers import spark_cluster

    running = spark_cluster.start(workers=2, cores=1, memory="2g", logs=tmp_path_factory.mktemp("spark_logs"))
    yield running
    running.stop()


def _attempts(partial: Path) -> list[Path]:
    """The task attempts Spark's output committer has open (FileOutputCommitter: _temporary/<job>/_temporary/)."""
    return list(partial.glob("classified/_temporary/*/_temporary/attempt_*"))


def test_a_worker_killed_midway_costs_a_retry_never_a_row(cluster, beam_records, survey, model_dir, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "inference.catalog", *_records_flags(survey), "--model-dir",
                             model_dir, "--out", str(out), "--engine", "spark", "--master", cluster.master_url,
                             "--spark-secret-file", str(cluster.secret_file)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        partial = list(tmp_path.glob(".out.partial-*"))
        if partial and len(_attempts(partial[0])) >= 2:  # a task running on each worker
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before a worker could be killed"
    cluster.kill("worker-1")
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, output[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["spark_master"] == cluster.master_url and summary["spark_tasks"] == N_SHARDS
    assert summary["spark_tasks_retried"] >= 1  # the lost worker's task ran again elsewhere
    table = pd.read_parquet(out / "classified")
    assert sorted(table["objid"]) == sorted(survey[1])  # every row exactly once
    _assert_same_output(out, beam_records[0])


def test_a_killed_spark_driver_leaves_nothing_and_the_next_run_succeeds(cluster, survey, model_dir, tmp_path):
    flags = [*_records_flags(survey), "--model-dir", model_dir, "--out", str(tmp_path / "out"), "--engine", "spark",
             "--master", cluster.master_url, "--spark-secret-file", str(cluster.secret_file)]
    _kill_midway(flags, tmp_path, lambda partial: bool(_attempts(partial)))
    job = _classify(*flags)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert sorted(pd.read_parquet(tmp_path / "out" / "classified")["objid"]) == sorted(survey[1])
    assert not list(tmp_path.glob(".out.partial-*"))


def test_a_driver_without_the_clusters_secret_is_refused(cluster, survey, model_dir, tmp_path):
    """The cluster runs with spark.authenticate and encrypted RPC; its secret file is its owner's alone."""
    assert oct(cluster.secret_file.stat().st_mode & 0o777) == "0o600"
    assert "spark.network.crypto.enabled true" in cluster.secret_file.read_text()
    log = cluster.logs / "master.log"
    before = len(log.read_text())
    # Without the secret the driver would retry its registration for a minute before giving up: watch the master
    # refuse the handshake instead, then stop the driver.
    proc = subprocess.Popen([sys.executable, "-m", "inference.catalog", *_records_flags(survey), "--model-dir",
                             model_dir, "--out", str(tmp_path / "out"), "--engine", "spark", "--master",
                             cluster.master_url], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and "client does not have SASL enabled" not in log.read_text()[before:]:
        assert proc.poll() is None or proc.returncode != 0, "the job ran without the secret"
        time.sleep(0.2)
    time.sleep(3)  # time for a registration, were one accepted
    after = log.read_text()[before:]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "client does not have SASL enabled" in after, "the master did not refuse the handshake"
    assert "Registering app" not in after, "the master let a client without the secret register an application"
    assert not (tmp_path / "out").exists()


def test_spark_submit_with_the_wheel_from_an_empty_directory(cluster, beam_records, survey, model_dir, tmp_path):
    """As a Spark user submits a job: the built wheel as --py-files, its main file taken out of the wheel, the master
    and the secret given to spark-submit alone; the driver runs the wheel's code, not the checkout's."""
    import shutil
    import zipfile

    from tests.helpers import build_wheel

    work = tmp_path / "work"
    work.mkdir()
    wheel = Path(shutil.copy(build_wheel(tmp_path / "build"), work))
    (work / "sdss_classify.py").write_bytes(zipfile.ZipFile(wheel).read("inference/drivers/spark_submit.py"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_DRIVER_PYTHON")}
    env["PYSPARK_PYTHON"] = sys.executable  # every worker's Python, with the pinned dependencies
    job = subprocess.run([str(Path(sys.executable).parent / "spark-submit"), "--master", cluster.master_url,
                          "--properties-file", str(cluster.secret_file), "--py-files", wheel.name, "sdss_classify.py",
                          *_records_flags(survey), "--model-dir", model_dir, "--out", "out"],
                         cwd=work, env=env, capture_output=True, text=True)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert summary["engine"] == "spark" and summary["spark_master"] == cluster.master_url
    assert Path(summary["code"]).name == wheel.name  # imported from the wheel (zipimport)
    _assert_same_output(work / "out", beam_records[0])
    assert sorted(p.name for p in work.iterdir()) == ["out", "sdss_classify.py", wheel.name]
    refused = subprocess.run([str(Path(sys.executable).parent / "spark-submit"), "--master", cluster.master_url,
                              "--properties-file", str(cluster.secret_file), "--py-files", wheel.name,
                              "sdss_classify.py", *_records_flags(survey), "--model-dir", model_dir, "--out", "o2",
                              "--master", "local[2]"], cwd=work, env=env, capture_output=True, text=True)
    said = refused.stdout + refused.stderr  # spark-submit passes the Python driver's stderr to its stdout
    assert refused.returncode == 2 and "error: --master: under spark-submit" in said, said[-2000:]


def test_the_cluster_stops_by_process_id(cluster):
    pids = cluster.pids()
    assert set(pids) == {"master", "worker-1", "worker-2"}
    cluster.stop()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    left = subprocess.run(["pgrep", "-f", cluster.master_url], capture_output=True, text=True).stdout.split()
    assert left == [], f"processes still serving {cluster.master_url}: {left}"


def test_a_cluster_whose_owner_is_killed_stops_with_it(java, tmp_path):
    """SIGKILL leaves the owner no chance to clean up: the watchdog stops the master and the worker anyway."""
    from inference.drivers.spark_watchdog import alive

    code = ("import sys, time\nfrom pathlib import Path\nfrom inference.drivers import spark_cluster\n"
            "c = spark_cluster.start(workers=1, cores=1, memory='1g', logs=Path(sys.argv[1]))\n"
            "print(*c.pids().values(), c.watchdog.pid, flush=True)\ntime.sleep(600)\n")
    owner = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    *daemons, watchdog = [int(p) for p in owner.stdout.readline().split()]
    assert len(daemons) == 2 and all(alive(p) for p in [*daemons, watchdog])
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(alive(p) for p in [*daemons, watchdog]):
        time.sleep(0.2)
    assert not [p for p in [*daemons, watchdog] if alive(p)], "daemons outlived their owner"
