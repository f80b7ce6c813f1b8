"""Fusion vs tabular-only vs image-only, each through the real pipeline (`--model`) on the same records.

    python -m benchmarks.modalities [--data-dir data/simulated] [--epochs 15]

It answers the realism question for the simulator: an image-only model should
sit clearly below one that also sees photometry and redshift.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import contract as c
from benchmarks.common import header, parse, parser, publish, run_local_cmd, timed
from evaluation import results
from pipeline import configs
from pipeline import metadata as md


def evaluate(work: Path) -> results.ModelMetrics:
    store = md.open_store(str(work / "metadata.sqlite"))
    runs = md.latest_node_runs(store, configs.PIPELINE_NAME)
    evaluation = md.artifacts(store, runs["Evaluator"].execution.id, "evaluation")[0]
    return results.load(evaluation.uri).candidate


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--data-dir", default="data/simulated")
    p.add_argument("--title", default="Modalities through the pipeline (built-in simulated data)")
    args = parse(p, argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-modalities-") as tmp:
        for kind in ("fusion", "tabular", "image"):
            work = Path(tmp, kind)
            # Gate floors at 0 so every kind gets evaluated and reported; blessing is not the question here.
            run = timed(run_local_cmd(args.data_dir, work, "--model", kind, "--epochs", str(args.epochs),
                                      "--accuracy-floor", "0", "--class-recall-floor", "0"))
            if run.returncode != 0:
                raise SystemExit(f"--model {kind} failed:\n{run.output[-3000:]}")
            m = evaluate(work)
            rows.append(f"| {kind} | {m.accuracy:.4f} | "
                        + " | ".join(f"{m.per_class[k]['recall']:.4f}" for k in c.CLASS_NAMES)
                        + f" | {m.n} | {run.wall_s:.0f} |")
    body = (header(args.command)
            + "\nEval split of the records; per-class columns are argmax recall. "
            "Data is simulated, not real observations.\n\n"
            "| model | accuracy | " + " | ".join(f"{k} recall" for k in c.CLASS_NAMES) + " | n eval | wall s |\n"
            "|---|---|" + "---|" * len(c.CLASS_NAMES) + "---|---|\n" + "\n".join(rows) + "\n")
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
