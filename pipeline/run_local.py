"""Runs the pipeline on this machine: LocalDagRunner with Beam's in-process runner.

    python pipeline/run_local.py [--data-dir data/simulated] [--epochs 15] [--model fusion] [--no-cache]

The console gets one line per component and a summary; TF, Beam and Keras
logs go to the log file (--log-file).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow is imported anywhere
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
if __package__ in (None, ""):  # run as a script: import the repo's packages, not pipeline/*.py as top-level
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from ingest.provenance import IMPORT_SUMMARY, SIMULATED_MARKER, is_image_only, is_recorded  # noqa: E402
from pipeline import configs  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(configs.DATA_DIR), help="records: <dir>/{train,eval}/*.tfrecord.gz")
    p.add_argument("--pipeline-root", default=str(configs.PIPELINE_ROOT))
    p.add_argument("--metadata-path", default=str(configs.METADATA_PATH), help="MLMD SQLite file")
    p.add_argument("--serving-dir", default=str(configs.SERVING_DIR))
    p.add_argument("--log-file", default=str(configs.LOG_FILE))
    p.add_argument("--schema-file", default=None,
                   help="curated schema (pbtxt); default schema/schema.pbtxt, or schema/image_schema.pbtxt for "
                        "image-only records from `python -m ingest cutouts`")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"default {configs.EPOCHS}; {configs.ENCODER_EPOCHS} for image-only records (the encoder)")
    p.add_argument("--model", choices=("fusion", "tabular", "image"), default=configs.MODEL_KIND)
    p.add_argument("--seed", type=int, default=configs.TRAIN_SEED)
    p.add_argument("--image-encoder", default=None, metavar="SAVED_MODEL",
                   help="start the image branch from this image model: a SavedModel, or a serving folder whose "
                        "latest version is taken (`make encoder` pushes to outputs/real/serving/"
                        f"{configs.ENCODER_MODEL_NAME}); frozen unless --fine-tune-encoder")
    p.add_argument("--fine-tune-encoder", action="store_true", help="train the imported encoder's weights too")
    p.add_argument("--serving-model-name", default=None,
                   help=f"push to <serving-dir>/<name>/<version>/; default {configs.MODEL_NAME}, "
                        f"{configs.ENCODER_MODEL_NAME} for image-only records")
    p.add_argument("--direct-num-workers", type=int, default=1,
                   help="Beam DirectRunner workers; >1 switches to multi-processing")
    p.add_argument("--decode-images-in-transform", action="store_true",
                   help="materialize float pixels in Transform instead of decoding JPEGs while training")
    p.add_argument("--accuracy-floor", type=float, default=None,
                   help=f"default {configs.ACCURACY_FLOOR}; {configs.ENCODER_ACCURACY_FLOOR} for image-only records")
    p.add_argument("--class-recall-floor", type=float, default=None,
                   help="every class's argmax recall must reach this, QSO included; default "
                        f"{configs.CLASS_RECALL_FLOOR}, {configs.ENCODER_CLASS_RECALL_FLOOR} for image-only records")
    p.add_argument("--max-accuracy-drop", type=float, default=configs.MAX_ACCURACY_DROP,
                   help="largest allowed accuracy drop against the latest older blessed model")
    p.add_argument("--max-qso-recall-drop", type=float, default=configs.MAX_QSO_RECALL_DROP,
                   help="largest allowed QSO recall drop against that baseline")
    p.add_argument("--drift", choices=("warn", "halt"), default=configs.DRIFT_MODE,
                   help="when the data drifted from the data behind the latest blessed model: name it in the "
                        "summary and report (warn), or stop before Transform (halt)")
    p.add_argument("--no-cache", action="store_true", help="re-run every component")
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


def settle_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Fills the flags whose defaults depend on the data: image-only records get the encoder's schema and gate."""
    image_only = is_image_only(args.data_dir)
    if args.schema_file is None:
        args.schema_file = str(configs.IMAGE_SCHEMA_FILE if image_only else configs.SCHEMA_FILE)
    defaults = ((configs.ENCODER_EPOCHS, configs.ENCODER_ACCURACY_FLOOR, configs.ENCODER_CLASS_RECALL_FLOOR,
                 configs.ENCODER_MODEL_NAME) if image_only else
                (configs.EPOCHS, configs.ACCURACY_FLOOR, configs.CLASS_RECALL_FLOOR, configs.MODEL_NAME))
    for name, value in zip(("epochs", "accuracy_floor", "class_recall_floor", "serving_model_name"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.image_encoder:
        args.image_encoder = resolve_encoder(args.image_encoder)
    return args


def resolve_encoder(path: str) -> str:
    """A SavedModel folder as given, or the latest numeric version under a serving folder (as TF Serving picks)."""
    from evaluation.predictions import latest_version

    folder = Path(path).resolve()
    if (folder / "saved_model.pb").exists() or (folder / "Format-Serving" / "saved_model.pb").exists():
        return str(folder)
    return str(Path(latest_version(str(folder))).resolve())


def build(args: argparse.Namespace, **overrides: Any) -> Any:
    """The pipeline for these flags (a TFX Pipeline; TFX stays unimported until the logs are redirected).

    `overrides` go to create_pipeline as they are (tests swap `trainer_run_fn` for a deliberately bad model).
    """
    from tfx.orchestration import metadata

    from components.curated_schema import file_sha256
    from pipeline import eval_config
    from pipeline.fingerprint import code_hashes
    from pipeline.pipeline import create_pipeline

    settle_defaults(args)
    hashes = code_hashes(configs.CODE_FOR)
    return create_pipeline(
        pipeline_name=configs.PIPELINE_NAME,
        pipeline_root=args.pipeline_root,
        data_dir=args.data_dir,
        schema_file=str(Path(args.schema_file).resolve()),
        schema_sha256=file_sha256(args.schema_file),
        code_sha256=hashes,
        serving_dir=args.serving_dir,
        model_name=args.serving_model_name,
        eval_config=eval_config.build(eval_config.Gate(
            accuracy_floor=args.accuracy_floor, class_recall_floor=args.class_recall_floor,
            max_accuracy_drop=args.max_accuracy_drop, max_qso_recall_drop=args.max_qso_recall_drop),
            code_sha256=hashes["evaluate"]),
        train_config={"model_kind": args.model, "epochs": args.epochs, "patience": configs.PATIENCE,
                      "learning_rate": configs.LEARNING_RATE, "seed": args.seed,
                      "encoder_trainable": bool(args.fine_tune_encoder)},
        decode_images_in_transform=args.decode_images_in_transform,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(args.metadata_path),
        beam_pipeline_args=configs.beam_args_local(args.direct_num_workers),
        enable_cache=not args.no_cache,
        image_encoder_uri=args.image_encoder,
        drift_thresholds=configs.DRIFT_THRESHOLDS,
        drift_mode=args.drift,
        **overrides,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not any(Path(args.data_dir, "train").glob("*.tfrecord.gz")):
        print(f"error: no records under {args.data_dir}/train/; build them with `make data` or "
              f"`python -m ingest simulate --out {args.data_dir}`", file=sys.stderr)
        return 2
    if is_image_only(args.data_dir) and args.model != "image":
        print(f"error: {args.data_dir} holds labelled cutouts without photometry; train them with --model image",
              file=sys.stderr)
        return 2
    try:
        settle_defaults(args)
    except FileNotFoundError as e:
        print(f"error: --image-encoder: {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    print(f"pipeline {configs.PIPELINE_NAME}: data {args.data_dir}, model {args.model}, logs {args.log_file}")
    from pipeline.run_lock import RunInProgress, exclusive_run

    try:
        with exclusive_run(args.metadata_path, args.pipeline_root):
            return _run(args, t0)
    except RunInProgress as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, t0: float) -> int:
    with logs_to_file(args.log_file) as console:
        from pipeline import preflight  # imports TensorFlow, whose start-up chatter goes to the log file

        try:
            counts = preflight.check(args.data_dir)
        except preflight.DataError as e:
            console.write(f"error: {e}\n")
            return 2
        console.write(f"records: {preflight.describe(counts)}\n")
        if not is_recorded(args.data_dir):
            console.write(f"note: {args.data_dir} has no {IMPORT_SUMMARY} or {SIMULATED_MARKER}: not written by "
                          "`python -m ingest`, or by a version that could leave a write unfinished; its origin is "
                          "not recorded\n")

        from absl import logging as absl_logging
        from tfx.orchestration.local.local_dag_runner import LocalDagRunner

        from ingest.provenance import describe as data_provenance
        from pipeline.progress import ProgressHandler
        from pipeline.report import run_summary
        from trainer.autograph_rules import skip_tf_keras

        absl_logging.set_verbosity(absl_logging.INFO)
        skip_tf_keras()  # for every component in this process, the Evaluator's Keras metrics included
        progress = ProgressHandler(console)
        logging.getLogger("absl").addHandler(progress)
        try:
            LocalDagRunner().run(build(args))
        except Exception as e:  # noqa: BLE001 - the console gets the reason, the log file the traceback
            logging.getLogger("absl").exception("pipeline failed")
            console.write(f"\nFAILED in {progress.failed_node() or 'pipeline set-up'}: {e}\n"
                          f"full log: {args.log_file}\n")
            return 1
        finally:
            logging.getLogger("absl").removeHandler(progress)
        console.write(run_summary(args.metadata_path, configs.PIPELINE_NAME, time.monotonic() - t0,
                                  data_provenance(args.data_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
