"""The catalogue job on Beam (the in-process runner, or any of runners/beam.py's presets): read, check,
RunInference through the model's serving_raw, write Parquet and rejects. Every element streams through one fused
stage, so memory does not grow with the catalogue.

Beam writes the output files; the rows read are counted by the pipeline itself into a file (not a metric: not every
runner reports metrics), and inference/job.finish checks them against what was written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from inference import job
from inference.inputs import ToClassify

READ_COUNT_FILE = "read_count.txt"


class ServingRawHandler(ModelHandler):
    """RunInference's model: the pushed SavedModel, loaded once per worker, called through serving_raw."""

    def __init__(self, model: job.Model, max_batch_size: int) -> None:
        self._model = model
        self._max_batch_size = max_batch_size

    def load_model(self) -> Any:
        from inference.model import load_model

        return load_model(self._model.path)

    def run_inference(self, batch: Sequence[ToClassify], model: Any, inference_args: dict | None = None
                      ) -> Iterable[PredictionResult]:
        from inference.model import classify

        for row, answer in zip(batch, classify(model, [r.obj() for r in batch], self._max_batch_size)):
            yield PredictionResult(row, answer)

    def batch_elements_kwargs(self) -> dict[str, int]:
        return {"min_batch_size": 1, "max_batch_size": self._max_batch_size}


class Progress(beam.DoFn):
    """A console line every few seconds per worker: objects classified so far and the rate."""

    def setup(self) -> None:
        self.n, self.t0 = 0, time.monotonic()
        self.last = self.t0

    def process(self, row: dict) -> Iterator[dict]:
        self.n += 1
        now = time.monotonic()
        if self.n == 1 or now - self.last >= job.PROGRESS_EVERY_S:  # the first says the model answers
            self.last = now
            print(f"  classified {self.n:,} objects ({self.n / (now - self.t0):,.0f}/s)", file=sys.stderr, flush=True)
        yield row


def _to_row(result: PredictionResult, model: job.Model) -> dict:
    p, outside = result.inference
    return job.output_row(result.example, p, outside, model)


def _check_record(item: tuple[str, bytes], features: tuple[str, ...]) -> ToClassify:
    from inference.inputs import check_record

    return check_record(*item, features)


def run(source: job.Source, model: job.Model, out_dir: str, beam_args: list[str], batch_size: int = 256) -> int:
    """Runs the job into `out_dir` (a staged folder): the Parquet files and rejects.csv. Returns the rows read."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.options.pipeline_options import PipelineOptions

    features = model.features
    p = beam.Pipeline(options=PipelineOptions(beam_args))
    if source.table:
        items = (p | "TableRanges" >> beam.Create(job.table_ranges(source, features))
                 | "ReadTable" >> beam.FlatMap(job.read_table_range, source, features))
    elif source.csv:
        items = p | "CsvFile" >> beam.Create([source]) | "ReadCsv" >> beam.FlatMap(job.read_csv, features)
    elif source.records:
        items = (p | "Pattern" >> beam.Create([source.records])
                 | "ReadRecords" >> beam.io.ReadAllFromTFRecord(compression_type=CompressionTypes.GZIP,
                                                                with_filename=True)
                 | "CheckRecords" >> beam.Map(_check_record, features))
    else:
        items = (p | "ParquetFiles" >> beam.Create(source.files())
                 | "ReadParquet" >> beam.FlatMap(job.read_parquet_file, features))
    ok = items | "Accepted" >> beam.Filter(lambda row: row.reject is None)
    rejects = items | "Rejected" >> beam.Filter(lambda row: row.reject is not None)
    _ = (ok
         | "Classify" >> RunInference(ServingRawHandler(model, batch_size))
         | "ToRow" >> beam.Map(_to_row, model)
         | "Progress" >> beam.ParDo(Progress())
         | "Parquet" >> beam.io.WriteToParquet(os.path.join(out_dir, job.PARQUET_DIR, "part"), job.parquet_schema(),
                                               file_name_suffix=".parquet"))
    _ = (rejects | "RejectLine" >> beam.Map(job.reject_line)
         | "Rejects" >> beam.io.WriteToText(os.path.join(out_dir, Path(job.REJECTS_FILE).stem),
                                            file_name_suffix=".csv", shard_name_template="",
                                            header=",".join(job.REJECT_HEADER)))
    _ = (items | "CountRead" >> beam.combiners.Count.Globally()
         | "ReadCount" >> beam.io.WriteToText(os.path.join(out_dir, READ_COUNT_FILE), shard_name_template=""))
    p.run().wait_until_finish()
    count_file = Path(out_dir, READ_COUNT_FILE)
    read = int(count_file.read_text().strip() or 0)
    count_file.unlink()
    return read
