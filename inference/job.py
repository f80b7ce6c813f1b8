"""The catalogue job's Beam pipeline: read, check, RunInference through the model's serving_raw signature, write
Parquet and rejects. Every element streams through one fused stage, so memory does not grow with the catalogue.

Counts come from what was written (Parquet row counts, rejects.csv lines) and a count of rows read that the
pipeline writes itself, so the caller can refuse an output where read != written + rejected.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference

import contract as c
from ingest.rows import RowRejected

READ_COUNT_FILE = "read_count.txt"
REJECT_HEADER = ("source", "reason", "detail")
PARQUET_DIR = "classified"  # a folder of Parquet files alone: pandas.read_parquet(<out>/classified) reads it whole
PROGRESS_EVERY_S = 5.0


class CountMismatch(RuntimeError):
    pass


@dataclass(frozen=True)
class Source:
    csv: str | None = None
    images: str | None = None
    cutout_scale: float = 0.396
    records: str | None = None


@dataclass(frozen=True)
class Rejected:
    source: str  # file:line (CSV) or file#objid (records)
    reason: str
    detail: str


def read_csv(source: Source, features: tuple[str, ...]) -> Iterator[tuple[str, Any] | Rejected]:
    """Rows parsed as `sdss-predict` parses them (inference/rows.iter_csv): the same keys, checks and cutouts."""
    from inference.rows import iter_csv
    from ingest.records import SkyObject

    path = Path(source.csv)
    for row in iter_csv(path, Path(source.images) if source.images else None, source.cutout_scale, features):
        where = f"{path.name}:{row.line}"
        if row.error:
            yield Rejected(where, row.reason, row.error)
        else:
            yield where, SkyObject(row.key, row.ra, row.dec, row.mags, row.redshift, row.image_jpeg, "")


def check_record(item: tuple[str, bytes], features: tuple[str, ...]) -> tuple[str, Any] | Rejected:
    """A tf.Example as a SkyObject, or why it cannot be classified (a bad one would fail its whole batch)."""
    from PIL import Image

    from ingest.records import from_example

    filename, serialized = item
    name = os.path.basename(filename)
    try:
        obj = from_example(serialized)
    except Exception as e:  # noqa: BLE001 - any undecodable record is one reject, never a failed job
        return Rejected(name, "bad_record", f"{name}: not a tf.Example with objid and image ({type(e).__name__})")
    where = f"{name}#{obj.objid}"
    for key in features:
        value = obj.redshift if key == c.REDSHIFT else obj.mags.get(key, float("nan"))
        lo, hi = c.feature_range(key)
        if not (math.isfinite(value) and lo <= value <= hi):
            reason = "bad_redshift" if key == c.REDSHIFT else "bad_magnitude"
            return _rejected(where, RowRejected(reason, key, f"{value} missing or outside [{lo}, {hi}]"))
    try:
        img = Image.open(io.BytesIO(obj.image_jpeg))
        img.load()
    except Exception as e:  # noqa: BLE001 - PIL raises several kinds for damaged bytes
        return _rejected(where, RowRejected("bad_image", c.IMAGE, f"cannot decode ({type(e).__name__})"))
    if img.size != (c.IMAGE_SIZE, c.IMAGE_SIZE):
        return _rejected(where, RowRejected(
            "degenerate_image", c.IMAGE, f"{img.size[0]}x{img.size[1]} px, the contract's cutout is "
            f"{c.IMAGE_SIZE}x{c.IMAGE_SIZE} (import it with `python -m ingest`)"))
    return where, obj


def _rejected(where: str, r: RowRejected) -> Rejected:
    """A record refused in the import's words: `<file>#<objid>, field 'u': ...` (ingest/rows.py)."""
    return Rejected(where, r.reason, r.located(where))


class ServingRawHandler(ModelHandler):
    """RunInference's model: the pushed SavedModel, called through serving_raw as TF Serving would be."""

    def __init__(self, model_dir: str, max_batch_size: int) -> None:
        self._model_dir = model_dir
        self._max_batch_size = max_batch_size

    def load_model(self) -> Any:
        import tensorflow as tf

        return tf.saved_model.load(self._model_dir)

    def run_inference(self, batch: Sequence[Any], model: Any, inference_args: dict | None = None
                      ) -> Iterable[PredictionResult]:
        from evaluation.predictions import predict_raw_with_ranges

        probs, flags = predict_raw_with_ranges(model, list(batch), batch_size=self._max_batch_size)
        for k, obj in enumerate(batch):
            yield PredictionResult(obj, {"p": probs[k], "outside": None if flags is None else flags[k]})

    def batch_elements_kwargs(self) -> dict[str, int]:
        return {"min_batch_size": 1, "max_batch_size": self._max_batch_size}


def parquet_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("objid", pa.string()), ("ra", pa.float64()), ("dec", pa.float64()),
                      *((f"p_{n}", pa.float32()) for n in c.CLASS_NAMES), ("class", pa.string()),
                      (c.OUTSIDE_TRAINING_RANGE, pa.list_(pa.string())), ("model_version", pa.string()),
                      ("model_inputs", pa.string()), ("source", pa.string())])


def to_row(keyed: tuple[str, PredictionResult], features: tuple[str, ...], version: str, inputs: str) -> dict:
    where, result = keyed
    obj, p = result.example, result.inference["p"]
    flags = result.inference["outside"]
    return {"objid": obj.objid, "ra": float(obj.ra), "dec": float(obj.dec),
            **{f"p_{n}": float(p[k]) for k, n in enumerate(c.CLASS_NAMES)},
            "class": c.CLASS_NAMES[int(p.argmax())],
            c.OUTSIDE_TRAINING_RANGE: [] if flags is None else [f for f, bad in zip(features, flags) if bad],
            "model_version": version, "model_inputs": inputs, "source": where}


class Progress(beam.DoFn):
    """A console line every few seconds per worker: objects classified so far and the rate."""

    def setup(self) -> None:
        self.n, self.t0 = 0, time.monotonic()
        self.last = self.t0

    def process(self, row: dict) -> Iterator[dict]:
        self.n += 1
        now = time.monotonic()
        if self.n == 1 or now - self.last >= PROGRESS_EVERY_S:  # the first says the model answers
            self.last = now
            print(f"  classified {self.n:,} objects ({self.n / (now - self.t0):,.0f}/s)", file=sys.stderr, flush=True)
        yield row


def _csv_line(r: Rejected) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([r.source, r.reason, r.detail])
    return buf.getvalue()


def _is_rejected(item: tuple[str, Any] | Rejected) -> bool:
    return isinstance(item, Rejected)


def run(source: Source, model_dir: str, out_dir: str, beam_args: list[str], batch_size: int = 256) -> dict:
    """Runs the job into `out_dir` (a staged folder); returns read/written/rejected counts and reject reasons."""
    import tensorflow as tf
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.options.pipeline_options import PipelineOptions

    from evaluation import model_info
    from inference.model import load_model, model_features

    features = model_features(load_model(model_dir))  # the tabular inputs its serving_raw takes
    inputs = model_info.inputs_of(model_info.load(model_dir))
    version = os.path.basename(model_dir.rstrip("/"))
    if source.records and not tf.io.gfile.glob(source.records):
        raise FileNotFoundError(f"--records {source.records}: no files match")
    p = beam.Pipeline(options=PipelineOptions(beam_args))
    if source.csv:
        items = p | "CsvFile" >> beam.Create([source]) | "ReadCsv" >> beam.FlatMap(read_csv, features)
    else:
        items = (p | "Pattern" >> beam.Create([source.records])
                 | "ReadRecords" >> beam.io.ReadAllFromTFRecord(compression_type=CompressionTypes.GZIP,
                                                                with_filename=True)
                 | "CheckRecords" >> beam.Map(check_record, features))
    # Two filters rather than a multi-output ParDo: Beam's DaskRunner (2.74) mixes up tagged outputs.
    ok = items | "Accepted" >> beam.Filter(lambda item: not _is_rejected(item))
    rejects = items | "Rejected" >> beam.Filter(_is_rejected)
    written = (ok
               | "Classify" >> RunInference(KeyedModelHandler(ServingRawHandler(model_dir, batch_size)))
               | "ToRow" >> beam.Map(to_row, features, version, inputs)
               | "Progress" >> beam.ParDo(Progress())
               | "Parquet" >> beam.io.WriteToParquet(os.path.join(out_dir, PARQUET_DIR, "part"), parquet_schema(),
                                                     file_name_suffix=".parquet"))
    rejected = (rejects | "RejectLine" >> beam.Map(_csv_line)
                | "Rejects" >> beam.io.WriteToText(os.path.join(out_dir, "rejects"), file_name_suffix=".csv",
                                                   shard_name_template="", header=",".join(REJECT_HEADER)))
    # Rows read, counted by the pipeline itself into a file (not a metric: not every runner reports metrics).
    counted = (items | "CountRead" >> beam.combiners.Count.Globally()
               | "ReadCount" >> beam.io.WriteToText(os.path.join(out_dir, READ_COUNT_FILE), shard_name_template=""))
    # One leaf for the three sinks: Beam's DaskRunner (2.74) computes only the pipeline's last transform.
    _ = (written, rejected, counted) | "Sinks" >> beam.Flatten() | "Done" >> beam.combiners.Count.Globally()
    p.run().wait_until_finish()
    count_file = Path(out_dir, READ_COUNT_FILE)
    read = int(count_file.read_text().strip() or 0)
    count_file.unlink()
    return {"read": read, **_written(out_dir)}


def _written(out_dir: str) -> dict:
    import pyarrow.parquet as pq

    written = sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(Path(out_dir, PARQUET_DIR).glob("*.parquet")))
    by_reason: dict[str, int] = {}
    rejects = Path(out_dir) / "rejects.csv"
    if rejects.exists():
        with open(rejects, newline="") as fh:
            for row in csv.DictReader(fh):
                by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
    return {"written": written, "rejected": sum(by_reason.values()), "by_reason": by_reason}
