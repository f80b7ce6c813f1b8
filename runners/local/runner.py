"""LocalDagRunner on this machine; its Beam components run in this process or on any Beam engine (--runner).

    python pipeline/run_local.py [--data-dir data/simulated] [--epochs 15] [--model fusion] [--no-cache]
    python pipeline/run_local.py --runner portable --job-endpoint localhost:8099 --worker-pool localhost:50000

The console gets one line per component and a summary; TF, Beam and Keras
logs go to the log file (--log-file). One run at a time per metadata store.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

from ingest.provenance import IMPORT_SUMMARY, SIMULATED_MARKER, is_recorded
from pipeline import configs
from pipeline.assemble import assemble
from pipeline.run_config import ConfigError, RunConfig, add_run_arguments
from runners import beam, settings
from runners.local import preflight


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python pipeline/run_local.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metadata-path", default=str(configs.METADATA_PATH),
                   help="MLMD SQLite file, or a .pbtxt ConnectionConfig (e.g. MySQL)")
    p.add_argument("--log-file", default=str(configs.LOG_FILE))
    add_run_arguments(p)
    beam.add_arguments(p)
    return p.parse_args(argv)


@contextlib.contextmanager
def logs_to_file(path: str) -> Iterator[TextIO]:
    """Sends fd 1/2 (TF C++ logs, Keras, Beam) to `path`; yields a stream to the real console."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(1), "w", buffering=1)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            console.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if "://" not in args.data_dir:  # fails in a moment, before TensorFlow loads; remote records: in the preflight
        try:
            preflight.require_files(args.data_dir)
        except preflight.DataError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        cfg, beam_pipeline_args = settings.from_flags(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    inputs = "image" if args.model == "image" else args.inputs
    print(f"pipeline {configs.PIPELINE_NAME}: data {args.data_dir}, model {args.model}, inputs {inputs}, "
          f"logs {args.log_file}")
    from runners.local.run_lock import RunInProgress, exclusive_run

    try:
        with exclusive_run(args.metadata_path, args.pipeline_root):
            return _run(args, cfg, beam_pipeline_args, t0)
    except RunInProgress as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


PHASES_PREFIX = "phases (s):"


class _Phases:
    """Seconds per phase of a run, for the log file's `phases (s):` line (benchmarks/cost.py reads it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = now - self._mark
        self._mark = now


def _run(args: argparse.Namespace, cfg: RunConfig, beam_pipeline_args: list[str], t0: float) -> int:
    with logs_to_file(args.log_file) as console:
        phases = _Phases()
        if not _preflight(args.data_dir, console, phases):
            return 2
        if not _execute(args, cfg, beam_pipeline_args, console, phases):
            return 1
        _report(args, console, t0, phases)
    return 0


def _preflight(data_dir: str, console: TextIO, phases: _Phases) -> bool:
    """Every shard read once before TFX starts: False (the reason on the console) where the run cannot succeed."""
    import tensorflow  # noqa: F401 - here, where its start-up chatter goes to the log file, and timed apart

    phases.lap("import TensorFlow")
    try:
        counts = preflight.check(data_dir)
    except preflight.DataError as e:
        console.write(f"error: {e}\n")
        return False
    console.write(f"records: {preflight.describe(counts)}\n")
    phases.lap("preflight")
    if not is_recorded(data_dir):
        console.write(f"note: {data_dir} has no {IMPORT_SUMMARY} or {SIMULATED_MARKER}: not written by "
                      "`python -m ingest`, or by a version that could leave a write unfinished; its origin is "
                      "not recorded\n")
    return True


def _execute(args: argparse.Namespace, cfg: RunConfig, beam_pipeline_args: list[str], console: TextIO,
             phases: _Phases) -> bool:
    """The pipeline on LocalDagRunner, one console line per component; False (where it failed) if it failed."""
    from absl import logging as absl_logging
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline import metadata as md
    from runners.local.progress import ProgressHandler
    from trainer.autograph_rules import skip_tf_keras

    phases.lap("import TFX")
    absl_logging.set_verbosity(absl_logging.INFO)
    skip_tf_keras()  # for every component in this process, the Evaluator's Keras metrics included
    progress = ProgressHandler(console)
    logging.getLogger("absl").addHandler(progress)
    store = md.connection_config(args.metadata_path, readonly=False)
    try:
        LocalDagRunner().run(assemble(cfg, beam_pipeline_args=beam_pipeline_args, metadata_connection_config=store))
    except Exception as e:  # noqa: BLE001 - the console gets the reason, the log file the traceback
        logging.getLogger("absl").exception("pipeline failed")
        console.write(f"\nFAILED in {progress.failed_node() or 'pipeline set-up'}: {e}\n"
                      f"full log: {args.log_file}\n")
        return False
    finally:
        logging.getLogger("absl").removeHandler(progress)
    phases.lap("components")
    return True


def _report(args: argparse.Namespace, console: TextIO, t0: float, phases: _Phases) -> None:
    """The run summary from MLMD, and where the run's time went (the log file's phases line)."""
    from ingest.provenance import describe as data_provenance
    from runners.local.summary import run_summary

    console.write(run_summary(args.metadata_path, configs.PIPELINE_NAME, time.monotonic() - t0,
                              data_provenance(args.data_dir)))
    phases.lap("summary")
    # Where a run's fixed costs go (benchmarks/cost.py reads this line from the log file).
    print(PHASES_PREFIX, json.dumps({k: round(v, 2) for k, v in phases.seconds.items()}), flush=True)
