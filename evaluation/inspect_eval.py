"""Shows a run's evaluation without a notebook: per-class table, candidate vs baseline, confusion matrix, verdict.

    sdss-inspect                      # latest run in outputs/metadata.sqlite
    sdss-inspect --list               # run ids
    sdss-inspect --run-id 2026-11-25T21:25:16.472570 --html report.html

(Named inspect_eval, not inspect: a script called inspect.py would shadow Python's own module.)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import runtime_env  # the process environment, before TensorFlow loads

import contract as c
from pipeline import configs
from pipeline import metadata as md


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metadata-path", default=str(configs.METADATA_PATH),
                   help="MLMD SQLite file of the runs, or a .pbtxt ConnectionConfig for any MLMD store")
    p.add_argument("--pipeline-name", default=configs.PIPELINE_NAME)
    p.add_argument("--run-id", help="a pipeline run id (see --list); default: the latest run")
    p.add_argument("--list", action="store_true", help="list run ids with their blessing, then exit")
    p.add_argument("--html", help="also write a self-contained HTML report to this path")
    return p.parse_args(argv)


def _evaluator(store, run) -> md.NodeRun:
    node = md.node_runs(store, run).get("Evaluator")
    if node is None or not md.artifacts(store, node.execution.id, "evaluation"):
        raise LookupError(f"run {run.name} has no finished evaluation (did it stop before the Evaluator?)")
    return node


def _input_base(store, run) -> str:
    gen = md.node_runs(store, run).get("ImportExampleGen")
    return gen.execution.custom_properties["input_base"].string_value if gen else ""


def main(argv: list[str] | None = None) -> int:
    runtime_env.quiet_tensorflow()
    args = parse_args(argv)
    if not Path(args.metadata_path).exists():
        print(f"error: no metadata store at {args.metadata_path}; run the pipeline first", file=sys.stderr)
        return 2
    from evaluation import results, text

    store = md.open_store(args.metadata_path)
    try:
        if args.list:
            for run in md.runs(store, args.pipeline_name):
                print(run.name)
            return 0
        run = (md.run_by_id(store, args.pipeline_name, args.run_id) if args.run_id
               else md.latest_run(store, args.pipeline_name))
        evaluator = _evaluator(store, run)
    except LookupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from tfx.utils import path_utils

    from evaluation import model_info

    evaluation = md.artifacts(store, evaluator.execution.id, "evaluation")[0]
    inputs = md.artifacts(store, evaluator.execution.id, "model", md.INPUT)
    info = model_info.load(path_utils.serving_model_path(inputs[0].uri)) if inputs else None
    print(f"run {run.name}: evaluation {evaluation.uri} ({evaluator.state.lower()})")
    print(f"{model_info.describe(info)}\n{model_info.describe_head(info)}\n{model_info.describe_calibration(info)}\n")
    print(text.render(results.load(evaluation.uri)))
    if args.html:
        from evaluation import html_report
        from ingest.provenance import describe

        examples = md.artifacts(store, evaluator.execution.id, "examples", md.INPUT)
        trainer = md.producer(store, inputs[0].id)
        model_run = md.artifacts(store, trainer.id, "model_run")
        report = html_report.from_artifacts(
            evaluation.uri, path_utils.serving_model_path(inputs[0].uri),
            os.path.join(model_run[0].uri, c.HISTORY_FILE) if model_run else "",
            os.path.join(examples[0].uri, c.split_dir("eval"), "*"), describe(_input_base(store, run)))
        print(f"\nHTML report: {html_report.write(report, args.html)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
