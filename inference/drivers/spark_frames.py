"""The catalogue as Spark DataFrames: each source read by Spark's own reader, and one classify function that
`mapInArrow` runs over every partition.

- Parquet: `spark.read.parquet` (Spark splits files at row-group boundaries), with each row's file name.
- CSV: Spark's text source. A first pass counts lines per partition, so every row keeps its file line and data-row
  number (which names `row<N>` cutouts), exactly as the Beam driver and `sdss-predict` number them. Cutouts in a
  local or mounted folder are read as each row is checked; a Hadoop --images folder is read by the binaryFile
  source and joined to the parsed rows by file name.
- TFRecords: the `binaryFile` source, one file per task (a gzip TFRecord file cannot be split), read by TensorFlow
  from a local copy. A file over 2 GB is refused by that source: shard larger ones.
- FITS/VOTable/ECSV: row ranges, each task reading its own through astropy (ingest/tables.py), so a local or
  mounted path only.

Every partition's rows come out as one frame of RESULT columns: a classified row (KIND_ROW), a reject (KIND_REJECT,
its source, reason and detail), and one count of the rows that partition read (KIND_COUNT). The driver writes the
first two with DataFrame.write and sums the third per partition, each partition once, so a task that Spark ran
twice (a retry, or a lost cache recomputed) is never counted twice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import contract as c
from inference import job, uris
from inference.inputs import ToClassify

KIND, PARTITION, READ, REASON, DETAIL = "_kind", "_partition", "_read", "reason", "detail"
KIND_ROW, KIND_REJECT, KIND_COUNT = "row", "reject", "count"
FILE_COLUMN, BLOCK_COLUMN = "_file", "_block"
LINE, DATA_ROW, NAMES, IMAGE_NAME, IMAGE_BYTES = "_line", "_data_row", "_names", "_image_name", "_image"
_DDL = {"string": "STRING", "double": "DOUBLE", "float": "FLOAT", "list<item: string>": "ARRAY<STRING>"}


def result_schema() -> Any:
    """Arrow schema of what the classify function yields: the output row's columns, then the reject's and the
    bookkeeping columns."""
    import pyarrow as pa

    return pa.schema([*job.parquet_schema(), (REASON, pa.string()), (DETAIL, pa.string()), (KIND, pa.string()),
                      (PARTITION, pa.int32()), (READ, pa.int64())])


def _ddl(schema: Any) -> str:
    types = {**_DDL, "int32": "INT", "int64": "BIGINT"}
    return ", ".join(f"`{f.name}` {types[str(f.type)]}" for f in schema)


def result_ddl() -> str:
    """The result schema as Spark's DDL, which mapInArrow takes."""
    return _ddl(result_schema())


def parquet_ddl() -> str:
    """An output row's schema as Spark's DDL: the written Parquet files are read back with it."""
    return _ddl(job.parquet_schema())


@dataclass(frozen=True)
class Spec:
    """What every task needs, shipped to the workers with the task."""

    model: job.Model
    source: job.Source
    batch_size: int
    csv_starts: tuple[tuple[int, tuple[int, int]], ...] = ()  # per split offset: (file lines, data lines) before it
    csv_layout: Any = None


def classify_partitions(spec: Spec, rows_of: Callable[[Spec, int, Iterator[Any]], Iterator[ToClassify]]):
    """The function mapInArrow runs: a partition's input batches in, its result batches out."""
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark import TaskContext

        schema, part = result_schema(), TaskContext.get().partitionId()
        read, ok, rejects = 0, [], []

        def classified() -> Any:
            out = [{**r, KIND: KIND_ROW} for r in job.classify(spec.model, ok, spec.batch_size)]
            ok.clear()
            return pa.RecordBatch.from_pylist(out, schema)

        def refused() -> Any:
            out = pa.RecordBatch.from_pylist(rejects, schema)
            rejects.clear()
            return out

        for row in rows_of(spec, part, batches):  # both kinds leave in batches: memory stays flat either way
            read += 1
            if row.reject is not None:
                rejects.append({"source": row.reject.where, REASON: row.reject.reason, DETAIL: row.reject.detail,
                                KIND: KIND_REJECT})
                if len(rejects) >= spec.batch_size:
                    yield refused()
                continue
            ok.append(row)
            if len(ok) >= spec.batch_size:
                yield classified()
        if ok:
            yield classified()
        if rejects:
            yield refused()
        yield pa.RecordBatch.from_pylist([{KIND: KIND_COUNT, PARTITION: part, READ: read}], schema)
    return run


def _file_name(uri: str) -> str:
    return Path(unquote(urlparse(uri).path)).name


def parquet_rows(spec: Spec, part: int, batches: Iterator[Any]) -> Iterator[ToClassify]:
    from inference.inputs import check_parquet_row

    for batch in batches:
        for values in batch.to_pylist():
            yield check_parquet_row(_file_name(values.pop(FILE_COLUMN)), values, spec.model.features)


def record_rows(spec: Spec, part: int, batches: Iterator[Any]) -> Iterator[ToClassify]:
    """Each input row is one whole gzip TFRecord file (the binaryFile source): TensorFlow reads a local copy."""
    import tensorflow as tf

    from inference.inputs import check_record

    for batch in batches:
        for path, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
            with tempfile.NamedTemporaryFile(suffix=".tfrecord.gz") as local:
                local.write(content)
                local.flush()
                for serialized in tf.data.TFRecordDataset(local.name, compression_type="GZIP").as_numpy_iterator():
                    yield check_record(_file_name(path), serialized, spec.model.features)


def table_rows(spec: Spec, part: int, batches: Iterator[Any]) -> Iterator[ToClassify]:
    for batch in batches:
        for start, stop in zip(batch.column("start").to_pylist(), batch.column("stop").to_pylist()):
            yield from job.read_table_range((start, stop), spec.source, spec.model.features)


def _data_lines(spec: Spec, batches: Iterator[Any]) -> Iterator[tuple[str, int, int]]:
    """A partition's data lines of the CSV with their file line and data-row numbers: each split of the file
    (BLOCK_COLUMN, its byte offset) starts at the numbers the first pass counted for it, and the text source keeps a
    split's lines in order."""
    from ingest.columns import is_data_line

    starts, block, line, data = dict(spec.csv_starts), None, 0, 0
    for batch in batches:
        for text, at in zip(batch.column("value").to_pylist(), batch.column(BLOCK_COLUMN).to_pylist()):
            if at != block:
                block, (line, data) = at, starts[at]
            line += 1
            text = text.lstrip("\ufeff") if line == 1 else text
            if not is_data_line(text):
                continue
            data += 1
            if data > 1:  # the first is the header
                yield text, line, data - 1


def csv_rows(spec: Spec, part: int, batches: Iterator[Any]) -> Iterator[ToClassify]:
    """A partition's rows of the CSV, their cutouts read from a local or mounted folder as each is checked."""
    from inference.inputs import check_row
    from ingest.columns import parse_line

    src = spec.source
    name, images = _file_name(src.csv), Path(src.images) if src.images else None
    for text, line, data_row in _data_lines(spec, batches):
        yield check_row(spec.csv_layout.row(parse_line(text)), line, data_row, name, images, src.cutout_scale,
                        spec.model.features)


def csv_parsed(spec: Spec) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """For a Hadoop --images: each data line of a partition with its file line, its data-row number and the names
    its cutout may have (ingest/rows.image_names), so Spark can join the folder's files to the rows."""
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from inference.inputs import row_key
        from ingest.columns import parse_line
        from ingest.rows import image_names

        schema = pa.schema([("value", pa.string()), (LINE, pa.int64()), (DATA_ROW, pa.int64()),
                            (NAMES, pa.list_(pa.string()))])
        out = []
        for text, line, data_row in _data_lines(spec, batches):
            raw = spec.csv_layout.row(parse_line(text))
            objid = (raw.get(c.OBJID) or "").strip()
            out.append({"value": text, LINE: line, DATA_ROW: data_row,
                        NAMES: image_names(objid, row_key(raw, data_row), data_row)})
            if len(out) >= spec.batch_size:
                yield pa.RecordBatch.from_pylist(out, schema)
                out = []
        yield pa.RecordBatch.from_pylist(out, schema)
    return run


def joined_csv_rows(spec: Spec, part: int, batches: Iterator[Any]) -> Iterator[ToClassify]:
    """A partition of CSV rows that carry their cutout, joined from a Hadoop --images folder (or none)."""
    from inference.inputs import check_row
    from ingest.columns import parse_line

    src = spec.source
    name = _file_name(src.csv)
    for batch in batches:
        cols = [batch.column(k).to_pylist() for k in ("value", LINE, DATA_ROW, IMAGE_NAME, IMAGE_BYTES)]
        for text, line, data_row, image_name, content in zip(*cols):
            joined = (image_name, content) if image_name is not None else None
            yield check_row(spec.csv_layout.row(parse_line(text)), line, data_row, name, src.images,
                            src.cutout_scale, spec.model.features, joined)


def _with_cutouts(spark: Any, parsed: Any, images_uri: str, partitions: int) -> Any:
    """Each parsed row with its cutout's file name and bytes, the first of its candidate names that the folder
    holds (null where none), read by Spark's binaryFile source; `partitions` tasks classify them."""
    from pyspark.sql import functions as F

    try:
        found = spark.read.format("binaryFile").option("pathGlobFilter", "*.{jpg,jpeg,png}").load(images_uri)
    except Exception as e:  # noqa: BLE001 - no such folder, no connector for its scheme, no access
        reason = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise ValueError(f"--images {images_uri}: Spark cannot read it: {reason.strip()[:300]}") from None
    files = found.select(F.element_at(F.split("path", "/"), -1).alias(IMAGE_NAME),
                         F.col("content").alias(IMAGE_BYTES))
    wanted = parsed.select(LINE, F.posexplode(NAMES).alias("rank", IMAGE_NAME))
    first = (wanted.join(files, IMAGE_NAME).groupBy(LINE)
             .agg(F.min_by(F.struct(IMAGE_NAME, IMAGE_BYTES), "rank").alias("found"))
             .select(LINE, "found.*"))
    return parsed.drop(NAMES).join(first, LINE, "left").repartition(partitions, LINE)


def csv_counts(batches: Iterator[Any]) -> Iterator[Any]:
    """The first pass over the CSV: (split offset, lines, data lines) for each split of the file."""
    import pyarrow as pa

    from ingest.columns import is_data_line

    counts: dict[int, list[int]] = {}
    for batch in batches:
        for text, at in zip(batch.column("value").to_pylist(), batch.column(BLOCK_COLUMN).to_pylist()):
            n = counts.setdefault(at, [0, 0])
            n[0] += 1
            n[1] += is_data_line(text.lstrip("\ufeff") if at == 0 and n[0] == 1 else text)
    yield pa.RecordBatch.from_pylist([{"at": at, "n": n, "d": d} for at, (n, d) in counts.items()],
                                     pa.schema([("at", pa.int64()), ("n", pa.int64()), ("d", pa.int64())]))


def _small_splits(spark: Any, total_bytes: int, per_core: int = 2) -> None:
    """At least `per_core` tasks a core even for a small input: Spark's 4 MB floor per split would make one."""
    cores = spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.files.openCostInBytes", str(max(1, total_bytes // (4 * per_core * cores))))
    spark.conf.set("spark.sql.files.minPartitionNum", str(per_core * cores))


def _input_bytes(spark: Any, uri: str) -> int:
    """Total size of what a path or glob matches, through Hadoop's filesystem (any URI the cluster reaches)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    statuses = fs.globStatus(path) or []
    return sum(s.getLen() for s in statuses)


def frame(spark: Any, spec: Spec, source_uri: str) -> tuple[Any, Spec, Callable]:
    """The input as a DataFrame whose partitions are the tasks, the spec its tasks need, and how a task reads its
    rows."""
    from pyspark.sql import functions as F

    src, features = spec.source, spec.model.features
    if src.parquet:
        _small_splits(spark, _input_bytes(spark, source_uri))
        df = spark.read.parquet(source_uri)
        wanted = [c.OBJID, c.RA, c.DEC, *c.BANDS, c.REDSHIFT, c.IMAGE]
        present = {f.name for f in df.schema}
        return (df.select(*[F.col(k) for k in wanted if k in present], F.input_file_name().alias(FILE_COLUMN)),
                spec, parquet_rows)
    if src.records:
        # One file a task: the cost of opening one is set above the largest split, so no two share a task.
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(128 << 20))
        spark.conf.set("spark.sql.files.openCostInBytes", str(128 << 20))
        return spark.read.format("binaryFile").load(source_uri).select("path", "content"), spec, record_rows
    if src.table:
        ranges = job.table_ranges(src, features)
        rdd = spark.sparkContext.parallelize(ranges, len(ranges))
        return spark.createDataFrame(rdd, "start BIGINT, stop BIGINT"), spec, table_rows
    from ingest.columns import layout_of_lines

    _small_splits(spark, _input_bytes(spark, source_uri))
    lines = spark.read.text(source_uri).select("value", F.input_file_block_start().alias(BLOCK_COLUMN))
    head = [r.value for r in lines.filter(F.col(BLOCK_COLUMN) == 0).limit(100).collect()]  # the header is here
    layout = layout_of_lines(head, src.csv, features)  # a bad header fails here, before any task
    counts = sorted(tuple(r) for r in lines.mapInArrow(csv_counts, "at BIGINT, n BIGINT, d BIGINT").collect())
    starts, line, data = [], 0, 0
    for at, n, d in counts:
        starts.append((at, (line, data)))
        line, data = line + n, data + d
    spec = Spec(spec.model, src, spec.batch_size, tuple(starts), layout)
    if not uris.remote(src.images or ""):
        return lines, spec, csv_rows
    parsed = lines.mapInArrow(csv_parsed(spec),
                              f"value STRING, {LINE} BIGINT, {DATA_ROW} BIGINT, {NAMES} ARRAY<STRING>")
    return _with_cutouts(spark, parsed, src.images, lines.rdd.getNumPartitions()), spec, joined_csv_rows
