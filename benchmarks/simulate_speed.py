"""Simulator throughput: `python -m ingest simulate` at a few sizes, all cores.

    python -m benchmarks.simulate_speed [--sizes 1000 10000]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

from benchmarks.common import header, parse, parser, publish, timed


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parse(p, argv)
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
            run = timed([sys.executable, "-m", "ingest", "simulate", "--n", str(n), "--seed", "0", "--out", tmp])
            if run.returncode != 0:
                raise SystemExit(run.output[-3000:])
            mb = sum(f.stat().st_size for f in Path(tmp).rglob("*.tfrecord.gz")) / 2**20
        rows.append(f"| {n} | {run.wall_s:.1f} | {n / run.wall_s:.0f} | {run.peak_rss_mb:.0f} | {mb:.1f} |")
    body = (header(args.command)
            + "\nWall time includes interpreter and TensorFlow start-up (~5 s). Peak RSS is the largest process.\n\n"
            "| objects | wall s | objects/s | peak RSS MB | records MB |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    return publish("Simulator speed", body, args)


if __name__ == "__main__":
    main()
