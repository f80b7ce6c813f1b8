"""Scale: the whole pipeline on 10k and 100k simulated objects on this machine.

    python -m benchmarks.scale [--sizes 10000 100000] [--epochs 1]

Per size: simulate the records, then one cold `pipeline/run_local.py`. Reports
per-component seconds (MLMD), examples/s, peak RSS and the disk used by
pipeline_root, and the time ratio between the sizes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

from benchmarks.common import header, parse, parser, publish, timed
from benchmarks.cost import component_seconds
from contract import HISTORY_FILE
from runners.local.workspace import Workspace

TITLE = "Scale: 10k and 100k simulated objects through the whole pipeline"


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def measure(n: int, epochs: int, work: Path) -> dict:
    sim = timed([sys.executable, "-m", "ingest", "simulate", "--n", str(n), "--seed", "0",
                 "--out", str(work / "data")])
    if sim.returncode != 0:
        raise SystemExit(sim.output[-3000:])
    run = timed(Workspace(work).command(str(work / "data"), "--epochs", str(epochs)))
    if run.returncode != 0:
        raise SystemExit(f"pipeline on {n} objects failed:\n{run.output[-3000:]}")
    summary = run.stdout[run.stdout.index("run finished"):].strip()
    histories = sorted((Workspace(work).pipeline_root / "Trainer" / "model_run").glob(f"*/{HISTORY_FILE}"))
    epochs_run = len(histories[-1].read_text().strip().splitlines()) - 1 if histories else float("nan")
    return {"n": n, "epochs_run": epochs_run, "simulate": sim, "run": run,
            "components": component_seconds(Workspace(work).metadata_path),
            "disk_mb": disk_mb(Workspace(work).pipeline_root), "records_mb": disk_mb(work / "data"), "summary": summary}


def render(results: list[dict], command: str) -> str:
    head = "| | " + " | ".join(f"{r['n']:,} objects" for r in results) + " |\n|---|" + "---|" * len(results) + "\n"
    rows = [("simulate s", lambda r: f"{r['simulate'].wall_s:.0f}"),
            ("pipeline wall s", lambda r: f"{r['run'].wall_s:.0f}"),
            ("epochs run by the Trainer (early stopping may end it sooner)", lambda r: f"{r['epochs_run']}"),
            ("examples/s (all objects / pipeline wall)", lambda r: f"{r['n'] / r['run'].wall_s:.0f}"),
            ("pipeline peak RSS MB", lambda r: f"{r['run'].peak_rss_mb:.0f}"),
            ("pipeline_root disk MB", lambda r: f"{r['disk_mb']:.0f}"),
            ("records disk MB", lambda r: f"{r['records_mb']:.0f}")]
    nodes = list(results[-1]["components"])
    rows += [(f"{node} s", lambda r, node=node: f"{r['components'].get(node, float('nan')):.1f}") for node in nodes]
    body = head + "\n".join(f"| {label} | " + " | ".join(fn(r) for r in results) + " |" for label, fn in rows)
    ratio = ""
    if len(results) > 1:
        a, b = results[0], results[-1]
        ratio = (f"\n\nTime ratio {b['n']:,}/{a['n']:,}: pipeline {b['run'].wall_s / a['run'].wall_s:.1f}x for "
                 f"{b['n'] / a['n']:.0f}x the objects (target <= 11x); peak RSS {b['run'].peak_rss_mb / 1024:.2f} GB "
                 "(target <= 6 GB).")
    summaries = "\n\n".join(f"{r['n']:,} objects:\n```\n{r['summary']}\n```" for r in results)
    return header(command) + "\n" + body + ratio + "\n\nRun summaries (SIMULATED data):\n\n" + summaries + "\n"


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--epochs", type=int, default=1, help="the same at every size, so times compare")
    p.add_argument("--title", default=TITLE)
    args = parse(p, argv)
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"bench-scale-{n}-") as tmp:
            results.append(measure(n, args.epochs, Path(tmp)))
            subprocess.run(["sync"], check=False)
    body = render(results, args.command)
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
