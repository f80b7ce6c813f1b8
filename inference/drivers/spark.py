"""The catalogue job on Spark: `local[*]` by default, or any master (`spark://host:7077`, YARN, Kubernetes), or
under `spark-submit` (inference/drivers/spark_submit.py).

Spark reads the input with its own sources (inference/drivers/spark_frames.py), `mapInArrow` classifies each
partition in batches with the model loaded once per Python worker, and `DataFrame.write` writes the classified rows
(Parquet) and the rejects (CSV), so Spark's output committer owns task attempts, retries and speculation: a task
retried after a lost worker writes its rows once. The classified frame is persisted, so the two writes and the count
of rows read classify each row once (a lost cached block is recomputed, the same rows again).

Paths: the input, a CSV's --images and --out are any path or URI that the cluster's Hadoop configuration reaches
(file://, hdfs://, gs://, s3a://, with their connectors), the output staged and finished through Hadoop's
FileSystem (inference/drivers/spark_output.py). A FITS/VOTable/ECSV table and its --images must be local paths or
file:// URIs that every worker reaches at the same place: Python reads them, not Hadoop.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any
from urllib.parse import urlparse

import runtime_env

from inference import job

LOCAL_HOSTS = ("127.0.0.1", "localhost")


def on_this_machine(master: str | None) -> bool:
    return bool(master) and (master.startswith("local") or urlparse(master).hostname in LOCAL_HOSTS)


def session(master: str | None, secret: str | None = None, settings: dict[str, str] | None = None) -> Any:
    """A SparkSession whose workers run this Python with the project's environment; on this machine everything,
    the Spark UI included, binds to 127.0.0.1. `master` None: spark-submit's. `secret`: an authenticated cluster's
    (spark_cluster.auth_conf)."""
    from inference.drivers.spark_cluster import require_java

    require_java()
    if master is None:  # under spark-submit, which launched the JVM with its settings
        from pyspark import SparkConf

        local = on_this_machine(SparkConf().get("spark.master", ""))
    else:
        local = on_this_machine(master)
    # Read when the session starts: the workers run this interpreter (a worker on another minor version refuses);
    # under spark-submit, the Python that spark-submit was told to use (PYSPARK_PYTHON) unless none was.
    for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
        os.environ[name] = os.environ.get(name, sys.executable) if master is None else sys.executable
    if local:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    b = (SparkSession.builder.appName("sdss-classify-catalog")
         .config("spark.ui.showConsoleProgress", "false")  # the driver prints its own progress lines
         .config("spark.python.worker.reuse", "true")  # one Python worker per core keeps its loaded model
         # The output folder is staged and appears whole (ingest/staging.py): no _SUCCESS marker inside it.
         .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"))
    if master:
        b = b.master(master)
    for k, v in runtime_env.WORKER_ENV.items():
        b = b.config(f"spark.executorEnv.{k}", v)
    if local:
        b = b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    for k, v in (settings or {}).items():  # the user's own (--spark-conf), over the defaults above
        b = b.config(k, v)
    if secret:
        from inference.drivers.spark_cluster import auth_conf

        for k, v in auth_conf(secret).items():
            b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


class _Progress(threading.Thread):
    """A console line every few seconds: tasks done of all, and running."""

    def __init__(self, sc: Any) -> None:
        super().__init__(daemon=True)
        self.sc, self.done = sc, threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.done.wait(job.PROGRESS_EVERY_S):
            tracker = self.sc.statusTracker()
            stages = [tracker.getStageInfo(s) for s in tracker.getActiveStageIds()]
            stages = [s for s in stages if s is not None]
            if stages:
                done, total = sum(s.numCompletedTasks for s in stages), sum(s.numTasks for s in stages)
                running = sum(s.numActiveTasks for s in stages)
                print(f"  tasks done {done}/{total}, running {running} ({time.monotonic() - t0:.0f}s)",
                      file=sys.stderr, flush=True)


def _first_line(e: Exception) -> str:
    """The line of a Py4JJavaError that says what went wrong (it carries the JVM's whole trace; the log has it)."""
    text = str(e)
    first = next((line for line in text.splitlines() if "Exception" in line or "Error" in line), text)
    return first.strip()[:500]


def _failed_tasks(sc: Any, group: str) -> int:
    """Task attempts that failed in this job's stages (a lost worker's tasks among them), which Spark retried."""
    tracker = sc.statusTracker()
    stages = [s for j in tracker.getJobIdsForGroup(group) if (info := tracker.getJobInfo(j)) for s in info.stageIds]
    return sum(info.numFailedTasks for s in stages if (info := tracker.getStageInfo(s)))


def _counted(result: Any, tasks: int) -> int:
    """Rows read, from each partition's count row, each of the `tasks` partitions once."""
    from inference.drivers.spark_frames import KIND, KIND_COUNT, PARTITION, READ

    counts = result.filter(result[KIND] == KIND_COUNT).select(PARTITION, READ).collect()
    parts = [r[0] for r in counts]
    if len(set(parts)) != len(parts) or len(parts) != tasks:
        raise job.CountMismatch(f"{len(parts)} partition counts for {tasks} partitions")
    return sum(r[1] for r in counts)


def run(source: job.Source, model: job.Model, out: str, overwrite: bool = False, output_format: str = "parquet",
        master: str | None = "local[*]", batch_size: int = 256, secret: str | None = None,
        settings: dict[str, str] | None = None, started: float | None = None) -> dict[str, Any]:
    """Runs the job into `out` (a path or any Hadoop URI) and returns its summary. `master` None: the one
    spark-submit gave. `settings`: any Spark settings (--spark-conf). `started`: time.monotonic() at the job's start,
    for its seconds."""
    from pyspark import StorageLevel

    from inference import uris
    from inference.drivers import spark_frames as frames
    from inference.drivers import spark_output as output

    started = time.monotonic() if started is None else started
    spark = session(master, secret, settings)
    sc = spark.sparkContext
    print(f"spark: master {sc.master}, {sc.defaultParallelism} cores, UI {sc.uiWebUrl}", flush=True)
    # Arrow batches of the model's batch size: memory per task stays flat whatever the partition's size.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_size))
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")  # the duplicate check's columns, as Arrow
    group = f"sdss-classify-catalog-{os.getpid()}"
    sc.setJobGroup(group, "classify a catalogue")
    progress = _Progress(sc)
    progress.start()
    out_uri = uris.to_uri(out)
    try:
        try:
            files = output.Files(spark, out_uri)
            files.exists(out_uri)
        except Exception as e:  # noqa: BLE001 - no connector for its scheme, no access
            raise ValueError(f"--out {out}: Spark cannot reach it: {_first_line(e)}") from None
        src_uri = uris.to_uri(source.csv or source.records or source.parquet)
        try:
            df, spec, rows_of = frames.frame(spark, frames.Spec(model, source, batch_size), src_uri)
        except ValueError:
            raise
        except Exception as e:  # noqa: BLE001 - no such path, no connector for its scheme, no access
            raise ValueError(f"{source.describe()}: Spark cannot read it: {_first_line(e)}") from None
        with output.staged(files, out_uri, overwrite) as tmp:
            result = df.mapInArrow(frames.classify_partitions(spec, rows_of), frames.result_ddl())
            result = result.persist(StorageLevel.MEMORY_AND_DISK)
            columns = [f.name for f in job.parquet_schema()]
            kind, tasks = result[frames.KIND], result.rdd.getNumPartitions()
            try:
                result.filter(kind == frames.KIND_ROW).select(*columns).write.parquet(f"{tmp}/{job.PARQUET_DIR}")
                (result.filter(kind == frames.KIND_REJECT).select(*job.REJECT_HEADER).repartition(1)
                 .write.option("header", True).option("escape", '"').csv(f"{tmp}/{output.REJECTS_PART_DIR}"))
                read = _counted(result, tasks)
            except Exception as e:  # noqa: BLE001 - Py4JJavaError carries the JVM's whole trace; the log above has it
                if isinstance(e, job.CountMismatch):
                    raise
                raise job.JobFailed(f"the Spark job failed: {_first_line(e)}") from None
            result.unpersist()
            same = output.flag_same_objects(spark, files, tmp, frames.parquet_ddl())
            output.move_rejects(files, tmp)
            extra = {"spark_master": sc.master, "spark_tasks": tasks, "spark_tasks_retried": _failed_tasks(sc, group)}
            summary = job.summarize(read, output.count_written(spark, tmp, frames.parquet_ddl()), same, model, source,
                                    "spark", time.monotonic() - started, output_format=output_format, **extra)
            if output_format != "parquet":
                output.write_fits(files, tmp, summary)
                if output_format == "fits":
                    files.delete(f"{tmp}/{job.PARQUET_DIR}")
            files.write_bytes(f"{tmp}/{job.SUMMARY_FILE}", json.dumps(summary, indent=1).encode())  # the last file
            files.drop_checksums(tmp)
    finally:
        progress.done.set()
        spark.stop()
    return summary
