"""Where to decode the JPEG cutouts: in Transform (materialized float pixels) or in the trainer's input pipeline.

    python -m benchmarks.image_decode [--data-dir data/simulated] [--epochs 15]

Runs the whole pipeline once each way on the same records (fresh roots, no
cache) and reports per-component seconds from MLMD, the size of Transform's
output on disk, wall time and peak RSS.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

from benchmarks.common import header, parse, parser, publish, run_local_cmd, timed
from pipeline import configs
from pipeline import metadata as md

COMPONENTS = ("Transform", "Trainer", "Evaluator")


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--data-dir", default="data/simulated")
    args = parse(p, argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        for label, flags in (("input pipeline (default)", []), ("Transform", ["--decode-images-in-transform"])):
            work = Path(tmp, "transform" if flags else "input")
            run = timed(run_local_cmd(args.data_dir, work, "--epochs", str(args.epochs), "--no-cache",
                                      "--accuracy-floor", "0", "--class-recall-floor", "0", *flags))
            if run.returncode != 0:
                raise SystemExit(f"{label} failed:\n{run.output[-3000:]}")
            store = md.open_store(str(work / "metadata.sqlite"))
            runs = md.latest_node_runs(store, configs.PIPELINE_NAME)
            transformed = md.artifacts(store, runs["Transform"].execution.id, "transformed_examples")[0]
            rows.append(f"| {label} | " + " | ".join(f"{runs[n].seconds:.1f}" for n in COMPONENTS)
                        + f" | {du_mb(Path(transformed.uri)):.1f} | {run.wall_s:.0f} | {run.peak_rss_mb:.0f} |")
    body = (header(args.command)
            + "\n| decode in | " + " | ".join(f"{n} s" for n in COMPONENTS)
            + " | transformed examples MB | wall s | peak RSS MB |\n|---|" + "---|" * (len(COMPONENTS) + 3) + "\n"
            + "\n".join(rows) + "\n")
    return publish("Where to decode images", body, args)


if __name__ == "__main__":
    main()
