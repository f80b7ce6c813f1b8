"""Where the catalogue job reads and writes: Spark reads its input (a CSV's cutouts too) and writes --out through
Hadoop (any URI the cluster reaches), while the tables and their cutouts are read, and the Beam driver's output
written, here, at a local path or a file:// URI."""


import pytest

from inference import uris
from inference.catalog import _source, parse_args


def test_plain_paths_become_file_uris_and_uris_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert uris.to_uri("survey/*.tfrecord.gz") == f"file://{tmp_path}/survey/*.tfrecord.gz"  # the glob kept
    for uri in ("gs://bucket/survey/*.parquet", "s3a://bucket/x.csv", "hdfs://nn:8020/x", "file:///data/x.csv"):
        assert uris.to_uri(uri) == uri


def test_local_paths_accept_file_uris_and_refuse_remote_ones_by_flag():
    assert uris.local_path("file:///data/my%20cutouts", "--images") == "/data/my cutouts"
    assert uris.local_path("out/classified", "--out") == "out/classified"
    assert uris.local_path(None, "--images") is None
    with pytest.raises(ValueError, match=r"--out gs://bucket/out: must be a local path or a file:// URI"):
        uris.local_path("gs://bucket/out", "--out")
    assert uris.remote("s3a://b/k") and not uris.remote("file:///x") and not uris.remote("/x")


def _args(*flags: str):
    return parse_args([*flags, "--out", "out"])


def test_a_remote_input_goes_to_spark_only_where_spark_reads_it():
    src = _source(_args("--csv", "s3a://bucket/export.csv", "--images", "file:///shared/cutouts", "--engine", "spark"))
    assert (src.csv, src.images) == ("s3a://bucket/export.csv", "/shared/cutouts")
    assert _source(_args("--parquet", "gs://b/*.parquet", "--engine", "spark")).parquet == "gs://b/*.parquet"
    assert _source(_args("--records", "file:///survey/*.tfrecord.gz")).records == "/survey/*.tfrecord.gz"
    with pytest.raises(ValueError, match="--csv s3a://bucket/export.csv: a remote CSV is read by --engine spark"):
        _source(_args("--csv", "s3a://bucket/export.csv"))
    with pytest.raises(ValueError, match="a table .* from a local path only"):
        _source(_args("--table", "gs://b/casjobs.fits", "--engine", "spark"))
    assert _source(_args("--csv", "x.csv", "--images", "gs://b/cutouts", "--engine", "spark")).images == \
        "gs://b/cutouts"  # Spark joins the folder's files to the rows
    for refused in (["--csv", "x.csv"], ["--table", "x.fits", "--engine", "spark"]):
        with pytest.raises(ValueError, match="--images gs://b/cutouts: a remote cutout folder is read by --engine "
                                             "spark, for a CSV only"):
            _source(_args(*refused, "--images", "gs://b/cutouts"))


def test_spark_settings_are_spark_keys_with_values():
    from inference.catalog import spark_settings

    assert spark_settings(["spark.jars.packages=org.apache.hadoop:hadoop-aws:3.3.4", "spark.driver.memory=1g"]) == \
        {"spark.jars.packages": "org.apache.hadoop:hadoop-aws:3.3.4", "spark.driver.memory": "1g"}
    assert spark_settings(["spark.hadoop.fs.s3a.endpoint=http://minio:9000?x=1"]) == \
        {"spark.hadoop.fs.s3a.endpoint": "http://minio:9000?x=1"}  # only the first '=' splits
    for bad in ("spark.driver.memory", "driver.memory=1g"):
        with pytest.raises(ValueError, match=f"--spark-conf {bad}: expected spark"):
            spark_settings([bad])
