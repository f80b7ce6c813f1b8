"""The catalogue job's core, shared by its drivers (inference/drivers/: Beam and Spark): what a source is, how
its rows become objects or rejects (inference/inputs.py), how a batch is classified (inference/model.py), what an
output row is, and what a finished output holds.

Output layout, the same from every driver, inside a folder that appears whole or not at all:
  classified/*.parquet  one row per classified object (parquet_schema); same_object_as flags an object listed twice
  classified.fits       the same rows as a FITS binary table, with --format fits or both (inference/fits_output.py)
  rejects.csv           source, reason, detail: every input row not classified, and why
  summary.json          read = written + rejected, by reason, the model, its inputs, the engine, seconds
Counts are taken from what was written (Parquet row counts, rejects.csv rows); a driver says how many rows it read.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import contract as c
from inference.inputs import ToClassify

SAME_OBJECT = "same_object_as"  # inference/duplicates.py fills it
PARQUET_DIR = "classified"  # a folder of Parquet files alone: pandas.read_parquet(<out>/classified) reads it whole
REJECTS_FILE = "rejects.csv"
REJECT_HEADER = ("source", "reason", "detail")
SUMMARY_FILE = "summary.json"
PROGRESS_EVERY_S = 5.0


class CountMismatch(RuntimeError):
    """The written files do not account for every row read: the output is discarded."""


class JobFailed(RuntimeError):
    """The engine gave up (a task failed past its retries); its own log has the task's traceback."""


@dataclass(frozen=True)
class Source:
    """Exactly one of csv (with images; a CSV, or a FITS, VOTable or ECSV table by its extension), records (a glob of
    gzip TFRecords) or parquet (a glob of Parquet files)."""

    csv: str | None = None
    images: str | None = None
    cutout_scale: float = 0.396
    records: str | None = None
    parquet: str | None = None

    def describe(self) -> str:
        return self.csv or self.records or self.parquet or ""

    @property
    def table(self) -> bool:
        """A FITS, VOTable or ECSV table (ingest/tables.py) rather than a CSV."""
        from ingest.tables import is_table

        return bool(self.csv) and is_table(self.csv)

    def files(self) -> list[str]:
        """The files a records or Parquet glob matches, sorted; FileNotFoundError naming the flag if none."""
        import tensorflow as tf

        flag, pattern = ("--records", self.records) if self.records else ("--parquet", self.parquet)
        files = sorted(tf.io.gfile.glob(pattern))
        if not files:
            raise FileNotFoundError(f"{flag} {pattern}: no files match")
        return files


@dataclass(frozen=True)
class Model:
    """The pushed version a job applies, and what it reads: a driver ships this, and each worker loads the
    SavedModel once (inference/model.cached_model)."""

    path: str
    version: str
    features: tuple[str, ...]  # the tabular inputs its serving_raw takes
    inputs: str  # spectroscopic or photometric

    @classmethod
    def at(cls, model_dir: str) -> Model:
        from evaluation import model_info
        from inference.model import load_model, model_features

        return cls(model_dir, os.path.basename(model_dir.rstrip("/")), model_features(load_model(model_dir)),
                   model_info.inputs_of(model_info.load(model_dir)))


def read_csv(source: Source, features: tuple[str, ...]) -> Iterator[ToClassify]:
    """The CSV whole, in one worker, as `sdss-predict` reads it (the Spark driver parses it in partitions)."""
    from inference.inputs import iter_csv

    yield from iter_csv(Path(source.csv), Path(source.images) if source.images else None, source.cutout_scale,
                        features)


def table_ranges(source: Source, features: tuple[str, ...]) -> list[tuple[int, int]]:
    """The table's rows cut into ranges that workers read on their own (a FITS table; a VOTable or ECSV is one).
    A missing column or one of the wrong type fails here, before any worker starts."""
    from inference.inputs import table_layout
    from ingest.tables import row_ranges

    return row_ranges(table_layout(Path(source.csv), features))


def read_table_range(rows: tuple[int, int], source: Source, features: tuple[str, ...]) -> Iterator[ToClassify]:
    """Rows [start, stop) of the table, checked as CSV rows are."""
    from inference.inputs import iter_table

    yield from iter_table(Path(source.csv), Path(source.images) if source.images else None, source.cutout_scale,
                          features, *rows)


def read_parquet_file(path: str, features: tuple[str, ...], row_groups: Sequence[int] | None = None
                      ) -> Iterator[ToClassify]:
    """One Parquet file's rows (or some of its row groups), checked."""
    import pyarrow.parquet as pq

    from inference.inputs import check_parquet_row

    pf = pq.ParquetFile(path)
    for g in row_groups if row_groups is not None else range(pf.num_row_groups):
        for values in pf.read_row_group(g).to_pylist():
            yield check_parquet_row(path, values, features)


def classify(model: Model, rows: Sequence[ToClassify], batch_size: int = 256) -> list[dict[str, Any]]:
    """Output rows for a batch of classifiable objects, through the pushed model's serving_raw."""
    from inference.model import cached_model
    from inference.model import classify as call

    answers = call(cached_model(model.path), [r.obj() for r in rows], batch_size)
    return [output_row(r, p, outside, model) for r, (p, outside) in zip(rows, answers)]


def output_row(row: ToClassify, p: Any, outside: list[str], model: Model) -> dict[str, Any]:
    return {"objid": row.key, "ra": float(row.ra), "dec": float(row.dec),
            **{f"p_{n}": float(p[k]) for k, n in enumerate(c.CLASS_NAMES)},
            "class": c.CLASS_NAMES[int(p.argmax())], c.OUTSIDE_TRAINING_RANGE: list(outside),
            "model_version": model.version, "model_inputs": model.inputs, "source": row.where,
            SAME_OBJECT: ""}  # filled after the job, when every row is known (inference/duplicates.py)


def parquet_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("objid", pa.string()), ("ra", pa.float64()), ("dec", pa.float64()),
                      *((f"p_{n}", pa.float32()) for n in c.CLASS_NAMES), ("class", pa.string()),
                      (c.OUTSIDE_TRAINING_RANGE, pa.list_(pa.string())), ("model_version", pa.string()),
                      ("model_inputs", pa.string()), ("source", pa.string()), (SAME_OBJECT, pa.string())])


def reject_line(row: ToClassify) -> str:
    """The rejects.csv row of a refused input (no line end)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([row.reject.where, row.reject.reason, row.reject.detail])
    return buf.getvalue()


def count_written(out_dir: str) -> dict[str, Any]:
    """Written and rejected, counted from the files themselves, and the rejects by reason."""
    import pyarrow.parquet as pq

    written = sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(Path(out_dir, PARQUET_DIR).glob("*.parquet")))
    by_reason: dict[str, int] = {}
    rejects = Path(out_dir) / REJECTS_FILE
    if rejects.exists():
        with open(rejects, newline="") as fh:
            for row in csv.DictReader(fh):
                by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
    return {"written": written, "rejected": sum(by_reason.values()), "by_reason": by_reason}


def code_location() -> str:
    """Where this package was imported from: the checkout, an installed copy, or a wheel spark-submit shipped."""
    return str(Path(__file__).parent.parent)


def summarize(read: int, counts: dict[str, Any], same: dict[str, int], model: Model, source: Source, engine: str,
              seconds: float, **extra: Any) -> dict[str, Any]:
    """summary.json's content; CountMismatch where the written rows do not account for every row read."""
    if read != counts["written"] + counts["rejected"]:
        raise CountMismatch(f"read {read} != written {counts['written']} + rejected {counts['rejected']}: "
                            "output discarded")
    return {"read": read, **counts, "model": model.path, "model_version": model.version,
            "model_inputs": model.inputs, "source": source.describe(), "engine": engine,
            "seconds": round(seconds, 1), "same_object": same, "code": code_location(), **extra}


def finish(out_dir: str, read: int, model: Model, source: Source, engine: str, seconds: float,
           **extra: Any) -> dict[str, Any]:
    """A local output's last steps: flags objects listed twice, counts what was written, refuses an output whose
    counts do not add up, and writes summary.json (the Spark driver does the same through Hadoop: spark_finish)."""
    from inference import duplicates

    same = duplicates.flag(out_dir, PARQUET_DIR)
    summary = summarize(read, count_written(out_dir), same, model, source, engine, seconds, **extra)
    Path(out_dir, SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    return summary
