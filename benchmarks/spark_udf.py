"""The Spark driver's classify step, `mapInArrow` (what the job runs), against `pyspark.ml.functions.
predict_batch_udf` (what Spark 3.4+ offers for model inference), on the same Parquet catalogue and Spark session.

    python -m benchmarks.spark_udf --model-dir outputs/serving/sky_classifier_photometric/<version> [--n 20000]

Both read the same DataFrame (`spark.read.parquet`, split at row groups), call the same pushed model's serving_raw
in batches of --batch-size, with the model loaded once per Python worker, and write nothing (Spark's `noop` sink),
so what differs is the classify step:
- mapInArrow: the job's own function (inference/drivers/spark_frames.py): every row checked as the job checks it
  (finite magnitudes, a decodable cutout of the contract's size), the probabilities and the features outside the
  training range, and a reject row for a refused input.
- predict_batch_udf: columns in, probabilities out, nothing checked; a bad row fails the batch.
- mapInArrow, probabilities only: the UDF's work through mapInArrow, so the two mechanisms compare on equal work.
Each is run --repeats times, alternately, after one warm-up run each (the model loaded in every worker), and the
fastest run is kept. CPU is the busy CPU time of this process and every process below it (the JVM and its Python
workers). The catalogue is SIMULATED (benchmarks/catalog.py's build: DR14-calibrated photometry, a pool of GalSim
cutouts).
"""

from __future__ import annotations

import inspect
import tempfile
import time
from pathlib import Path
from typing import Any

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import contract as c
from benchmarks.common import header, parse, parser, publish

TITLE = "Spark: mapInArrow against predict_batch_udf"


def to_parquet(records_dir: Path, out: Path, per_file: int = 5000) -> None:
    """The records' objects as Parquet files with the job's columns (row groups of 1,000)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import tensorflow as tf

    from ingest.records import from_example

    out.mkdir(parents=True)
    rows, k = [], 0
    for f in sorted(records_dir.glob("*.tfrecord.gz")):
        for serialized in tf.data.TFRecordDataset(str(f), compression_type="GZIP").as_numpy_iterator():
            o = from_example(serialized)
            rows.append({c.OBJID: o.objid, c.RA: o.ra, c.DEC: o.dec, **o.mags, c.IMAGE: o.image_jpeg})
            if len(rows) == per_file:
                pq.write_table(pa.Table.from_pylist(rows), out / f"part-{k:05d}.parquet", row_group_size=1000)
                rows, k = [], k + 1
    if rows:
        pq.write_table(pa.Table.from_pylist(rows), out / f"part-{k:05d}.parquet", row_group_size=1000)


def _tree_cpu() -> float:
    """User + system seconds of this process and every live process below it (the JVM, its Python workers)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + (t.children_user + t.children_system if p is me else 0.0)
        except psutil.NoSuchProcess:
            continue
    return total


def udf_frame(df: Any, model_dir: str, batch_size: int) -> Any:
    """The catalogue classified by predict_batch_udf: the serving_raw inputs as columns, probabilities out."""
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from inference.model import cached_model, model_features

    features = model_features(cached_model(model_dir))

    def make_predict_fn():
        import tensorflow as tf

        from inference.model import cached_model as load

        fn = load(model_dir).signatures[c.SERVING_RAW]

        def predict(*columns):
            inputs = {k: tf.constant(v, tf.float32) for k, v in zip(features, columns)}
            inputs[c.IMAGE] = tf.constant(list(columns[-1]))
            return fn(**inputs)[c.PROBABILITIES].numpy()

        # predict_batch_udf counts the model's inputs from this signature: one column each.
        predict.__signature__ = inspect.Signature(
            [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in (*features, c.IMAGE)])
        return predict

    classify = predict_batch_udf(make_predict_fn, return_type=ArrayType(FloatType()), batch_size=batch_size)
    return df.select(c.OBJID, classify(*features, c.IMAGE).alias("p"))


def bare_arrow_frame(df: Any, model_dir: str) -> Any:
    """mapInArrow doing only what the UDF does (columns in, probabilities out): the mechanism without the checks."""
    from inference.model import cached_model, model_features

    features = model_features(cached_model(model_dir))

    def run(batches):
        import pyarrow as pa
        import tensorflow as tf

        from inference.model import cached_model as load

        fn = load(model_dir).signatures[c.SERVING_RAW]
        for b in batches:
            inputs = {k: tf.constant(b.column(k).to_numpy(zero_copy_only=False), tf.float32) for k in features}
            inputs[c.IMAGE] = tf.constant(b.column(c.IMAGE).to_pylist())
            p = fn(**inputs)[c.PROBABILITIES].numpy()
            yield pa.RecordBatch.from_arrays([b.column(c.OBJID), pa.array(list(p), pa.list_(pa.float32()))],
                                             names=[c.OBJID, "p"])
    return df.select(c.OBJID, *features, c.IMAGE).mapInArrow(run, f"{c.OBJID} STRING, p ARRAY<FLOAT>")


def job_frame(spark: Any, model_dir: str, parquet: Path, batch_size: int) -> Any:
    """The catalogue classified as the job classifies it (its reader and its mapInArrow function)."""
    from inference import job, uris
    from inference.drivers import spark_frames as frames

    spec = frames.Spec(job.Model.at(model_dir), job.Source(parquet=str(parquet / "*.parquet")), batch_size)
    df, spec, rows_of = frames.frame(spark, spec, uris.to_uri(str(parquet / "*.parquet")))
    return df.mapInArrow(frames.classify_partitions(spec, rows_of), frames.result_ddl())


def _run(frame: Any) -> tuple[float, float]:
    cpu, t0 = _tree_cpu(), time.monotonic()
    frame.write.format("noop").mode("overwrite").save()
    return time.monotonic() - t0, _tree_cpu() - cpu


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--n", type=int, default=20000, help="catalogue size")
    p.add_argument("--pool", type=int, default=300, help="distinct rendered cutouts")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--repeats", type=int, default=2)
    args = parse(p, argv)
    from benchmarks.catalog import build
    from inference.drivers.spark import session

    with tempfile.TemporaryDirectory(prefix="bench-udf-") as tmp:
        build(args.n, args.pool, Path(tmp, "records"), shard=5000)
        to_parquet(Path(tmp, "records"), Path(tmp, "parquet"))
        spark = session(args.master)
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_size))
        try:
            variants = {"mapInArrow (the job's)": lambda: job_frame(spark, args.model_dir, Path(tmp, "parquet"),
                                                                    args.batch_size),
                        "mapInArrow, probabilities only": lambda: bare_arrow_frame(
                            spark.read.parquet(str(Path(tmp, "parquet"))), args.model_dir),
                        "predict_batch_udf": lambda: udf_frame(spark.read.parquet(str(Path(tmp, "parquet"))),
                                                               args.model_dir, args.batch_size)}
            for make in variants.values():
                _run(make())  # warm-up: every Python worker loads the model
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
            for _ in range(args.repeats):
                for name, make in variants.items():
                    runs[name].append(_run(make()))
            cores = spark.sparkContext.defaultParallelism
        finally:
            spark.stop()
    best = {name: min(r) for name, r in runs.items()}
    base = best["mapInArrow (the job's)"]
    lines = [header(args.command),
             f"{args.n:,} SIMULATED objects (no redshift) as Parquet, Spark `{args.master}` ({cores} cores), batch "
             f"{args.batch_size}, the model `{Path(args.model_dir).name}`; fastest of {args.repeats} runs after a "
             "warm-up.\n",
             "| classify step | seconds | objects/s | CPU s per 1,000 | against mapInArrow (time) | what it does |",
             "|---|---|---|---|---|---|"]
    does = {"mapInArrow (the job's)": "checks every row, flags inputs outside the training range, rejects bad rows",
            "mapInArrow, probabilities only": "what the UDF does, through mapInArrow: the mechanism alone",
            "predict_batch_udf": "probabilities only; a bad row fails its batch"}
    for name, (wall, cpu) in best.items():
        lines.append(f"| {name} | {wall:.1f} | {args.n / wall:,.0f} | {1000 * cpu / args.n:.2f} | "
                     f"{wall / base[0]:.2f}x | {does[name]} |")
    bare, udf = best["mapInArrow, probabilities only"], best["predict_batch_udf"]
    lines.append(f"\nOn equal work, mapInArrow takes {bare[0] / udf[0]:.2f}x predict_batch_udf's time and "
                 f"{bare[1] / udf[1]:.2f}x its CPU; with every check the job makes, its step takes "
                 f"{base[0] / udf[0]:.2f}x the bare UDF's time. The job keeps mapInArrow, which also carries the "
                 "rejects out beside the rows.")
    return publish(TITLE, "\n".join(lines) + "\n", args)


if __name__ == "__main__":
    main()
