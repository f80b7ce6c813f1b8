"""The catalogue job on Spark: `local[*]` by default, or any master (`spark://host:7077`, YARN, Kubernetes).

Each task classifies one unit of input (a TFRecord file, a Parquet row group, a slice of the CSV's lines) with the
model loaded once per Python worker, and writes its Parquet file and rejects into a folder of its own, named by
partition and attempt. The driver commits the folders of the attempts that Spark reports as successful, and deletes
the rest: a task retried after a lost worker counts, and writes, its rows exactly once.

A CSV is parsed in partitions: its header is read once here, then each task parses its own lines
(ingest/columns.CsvLayout). A first pass counts lines per partition, so every row keeps its file line and data-row
number (which names `row<N>` cutouts), exactly as the Beam driver and `sdss-predict` number them.

Paths (the input, --images, --out) must be readable and writable by every worker: on one machine any folder; on a
cluster, a shared filesystem mounted at the same path.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import runtime_env

from inference import job
from inference.inputs import ToClassify

TASKS_DIR = "_tasks"  # inside the staged output: one folder per task attempt, until the driver commits
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TaskSpec:
    """What every task needs, shipped to the workers with the task."""

    model: job.Model
    tasks_dir: str
    batch_size: int
    source: job.Source


def on_this_machine(master: str) -> bool:
    return master.startswith("local") or urlparse(master).hostname in LOCAL_HOSTS


def session(master: str, secret: str | None = None) -> Any:
    """A SparkSession whose workers run this Python with the project's environment; on this machine everything,
    the Spark UI included, binds to 127.0.0.1. `secret`: an authenticated cluster's (spark_cluster.auth_conf)."""
    from inference.drivers.spark_cluster import require_java

    require_java()
    local = on_this_machine(master)
    # Read when the session starts: the workers run this interpreter (a worker on another minor version refuses).
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    if local:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    b = (SparkSession.builder.master(master).appName("sdss-classify-catalog")
         .config("spark.ui.showConsoleProgress", "false")  # the driver prints its own progress lines
         .config("spark.python.worker.reuse", "true"))  # one Python worker per core keeps its loaded model
    for k, v in runtime_env.WORKER_ENV.items():
        b = b.config(f"spark.executorEnv.{k}", v)
    if local:
        b = b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    if secret:
        from inference.drivers.spark_cluster import auth_conf

        for k, v in auth_conf(secret).items():
            b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _attempt_folder(spec: TaskSpec, partition: int) -> Path:
    from pyspark import TaskContext

    folder = Path(spec.tasks_dir, f"{partition:05d}-{TaskContext.get().attemptNumber()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _write_unit(spec: TaskSpec, partition: int, rows: Iterator[ToClassify]) -> dict[str, Any]:
    """Classifies one task's rows into its attempt folder; returns what the driver commits."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark import TaskContext

    folder = _attempt_folder(spec, partition)
    schema, writer, batch, read = job.parquet_schema(), None, [], 0

    def flush() -> None:
        nonlocal writer, batch
        if batch:
            if writer is None:
                writer = pq.ParquetWriter(str(folder / "part.parquet"), schema)
            writer.write_table(pa.Table.from_pylist(job.classify(spec.model, batch, spec.batch_size), schema))
            batch = []

    with open(folder / "rejects.csv", "w", newline="") as rejects:
        for row in rows:
            read += 1
            if row.reject is not None:
                rejects.write(job.reject_line(row) + "\n")
                continue
            batch.append(row)
            if len(batch) >= spec.batch_size:
                flush()
        flush()
    if writer is not None:
        writer.close()
    return {"partition": partition, "attempt": TaskContext.get().attemptNumber(), "folder": str(folder),
            "read": read}


def _records_task(spec: TaskSpec):
    def task(partition: int, files: Iterator[str]) -> Iterator[dict[str, Any]]:
        import tensorflow as tf

        from inference.inputs import check_record

        def rows() -> Iterator[ToClassify]:
            for f in files:
                for serialized in tf.data.TFRecordDataset(f, compression_type="GZIP").as_numpy_iterator():
                    yield check_record(f, serialized, spec.model.features)

        yield _write_unit(spec, partition, rows())
    return task


def _parquet_task(spec: TaskSpec):
    def task(partition: int, groups: Iterator[tuple[str, int]]) -> Iterator[dict[str, Any]]:
        def rows() -> Iterator[ToClassify]:
            for f, g in groups:
                yield from job.read_parquet_file(f, spec.model.features, [g])

        yield _write_unit(spec, partition, rows())
    return task


def _table_task(spec: TaskSpec):
    def task(partition: int, ranges: Iterator[tuple[int, int]]) -> Iterator[dict[str, Any]]:
        def rows() -> Iterator[ToClassify]:
            for r in ranges:
                yield from job.read_table_range(r, spec.source, spec.model.features)

        yield _write_unit(spec, partition, rows())
    return task


def _csv_task(spec: TaskSpec, layout: Any, starts: list[tuple[int, int]]):
    """`starts[p]`: (file lines before partition p, data lines before it; the header is data line 0)."""
    def task(partition: int, lines: Iterator[str]) -> Iterator[dict[str, Any]]:
        from inference.inputs import check_row
        from ingest.columns import is_data_line, parse_line

        src = spec.source
        name, images = Path(src.csv).name, Path(src.images) if src.images else None

        def rows() -> Iterator[ToClassify]:
            line, data = starts[partition]
            for text in lines:
                line += 1
                text = text.lstrip("\ufeff") if line == 1 else text
                if not is_data_line(text):
                    continue
                data += 1
                if data == 1:  # the header
                    continue
                yield check_row(layout.row(parse_line(text)), line, data - 1, name, images, src.cutout_scale,
                                spec.model.features)

        yield _write_unit(spec, partition, rows())
    return task


def _csv_counts(partition: int, lines: Iterator[str]) -> Iterator[tuple[int, int, int]]:
    from ingest.columns import is_data_line

    n = data = 0
    for text in lines:
        n += 1
        data += is_data_line(text.lstrip("\ufeff") if partition == 0 and n == 1 else text)
    yield partition, n, data


def _rdd(sc: Any, spec: TaskSpec) -> Any:
    """The input as an RDD whose partitions are the tasks, and the function each task runs."""
    src = spec.source
    if src.records:
        files = src.files()
        return sc.parallelize(files, len(files)).mapPartitionsWithIndex(_records_task(spec))
    if src.parquet:
        import pyarrow.parquet as pq

        groups = [(f, g) for f in src.files() for g in range(pq.ParquetFile(f).num_row_groups)]
        if not groups:
            return sc.parallelize([], 1).mapPartitionsWithIndex(_parquet_task(spec))
        return sc.parallelize(groups, len(groups)).mapPartitionsWithIndex(_parquet_task(spec))
    if src.table:
        ranges = job.table_ranges(src, spec.model.features)
        return sc.parallelize(ranges, len(ranges)).mapPartitionsWithIndex(_table_task(spec))
    from inference.inputs import csv_layout

    layout = csv_layout(Path(src.csv), spec.model.features)  # a bad header fails here, before any task
    lines = sc.textFile(os.path.abspath(src.csv), minPartitions=max(2, 2 * sc.defaultParallelism))
    counts = sorted(lines.mapPartitionsWithIndex(_csv_counts).collect())
    starts, line, data = [], 0, 0
    for _, n, d in counts:
        starts.append((line, data))
        line, data = line + n, data + d
    return lines.mapPartitionsWithIndex(_csv_task(spec, layout, starts))


class _Progress(threading.Thread):
    """A console line every few seconds: tasks done of all, and rows read by the tasks done."""

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


def _commit(results: list[dict[str, Any]], out_dir: str) -> tuple[int, int]:
    """Moves each partition's successful attempt into the output, in partition order; returns (rows read, tasks that
    needed more than one attempt)."""
    classified = Path(out_dir, job.PARQUET_DIR)
    classified.mkdir(parents=True, exist_ok=True)
    by_partition = {r["partition"]: r for r in results}
    if len(by_partition) != len(results):
        raise job.CountMismatch(f"{len(results)} task results for {len(by_partition)} partitions")
    with open(Path(out_dir, job.REJECTS_FILE), "w", newline="") as rejects:
        rejects.write(",".join(job.REJECT_HEADER) + "\n")
        for p in sorted(by_partition):
            folder = Path(by_partition[p]["folder"])
            if (folder / "part.parquet").exists():
                os.replace(folder / "part.parquet", classified / f"part-{p:05d}.parquet")
            with open(folder / "rejects.csv", newline="") as part:
                shutil.copyfileobj(part, rejects)
    shutil.rmtree(Path(out_dir, TASKS_DIR))  # what failed or lost attempts left
    return sum(r["read"] for r in results), sum(1 for r in results if r["attempt"] > 0)


def run(source: job.Source, model: job.Model, out_dir: str, master: str = "local[*]",
        batch_size: int = 256, secret: str | None = None) -> tuple[int, dict[str, Any]]:
    """Runs the job into `out_dir` (a staged folder). Returns the rows read and what the summary should add."""
    spark = session(master, secret)
    sc = spark.sparkContext
    print(f"spark: master {master}, {sc.defaultParallelism} cores, UI {sc.uiWebUrl}", flush=True)
    spec = TaskSpec(model, str(Path(out_dir, TASKS_DIR).resolve()), batch_size, source)
    progress = _Progress(sc)
    progress.start()
    try:
        rdd = _rdd(sc, spec)
        try:
            results = rdd.collect()
        except Exception as e:  # noqa: BLE001 - Py4JJavaError carries the JVM's whole trace; the log above has it
            first = next((line for line in str(e).splitlines() if "Exception" in line or "Error" in line), str(e))
            raise job.JobFailed(f"the Spark job failed: {first.strip()[:500]}") from None
        read, retried = _commit(results, out_dir)
    finally:
        progress.done.set()
        spark.stop()
    return read, {"spark_master": master, "spark_tasks": len(results), "spark_tasks_retried": retried}
