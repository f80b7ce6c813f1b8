"""The main command's cost: a cold `pipeline/run_local.py` run, then a rerun on unchanged inputs.

    python benchmarks/main_run.py [--data-dir data/simulated] [--title ...]

Reports wall time and peak RSS of each run and per-component seconds from
MLMD, into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import header, run_local_cmd, timed, write_section  # noqa: E402
from pipeline import metadata as md  # noqa: E402
from pipeline.configs import PIPELINE_NAME  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", default="data/simulated")
    p.add_argument("--title", default="Main command on the built-in 1,000-object dataset")
    p.add_argument("extra", nargs="*", help="more run_local.py flags, after --")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-main-") as tmp:
        work = Path(tmp)
        cold = timed(run_local_cmd(args.data_dir, work, *args.extra))
        if cold.returncode != 0:
            raise SystemExit(cold.output[-3000:])
        store = md.open_store(str(work / "metadata.sqlite"))
        runs = sorted(md.latest_node_runs(store, PIPELINE_NAME).values(), key=lambda r: r.execution.id)
        summary = cold.stdout[cold.stdout.index("run finished"):].strip()
        warm = timed(run_local_cmd(args.data_dir, work, *args.extra))
        if warm.returncode != 0:
            raise SystemExit(warm.output[-3000:])
    body = (header(f"python benchmarks/main_run.py --data-dir {args.data_dir} {' '.join(args.extra)}".strip())
            + "\n| run | wall s | peak RSS MB |\n|---|---|---|\n"
            + f"| cold (empty pipeline root) | {cold.wall_s:.0f} | {cold.peak_rss_mb:.0f} |\n"
            + f"| rerun, unchanged inputs (all cached) | {warm.wall_s:.0f} | {warm.peak_rss_mb:.0f} |\n"
            + "\nPer component, cold run (MLMD execution times):\n\n| component | s |\n|---|---|\n"
            + "\n".join(f"| {r.node_id} | {r.seconds:.1f} |" for r in runs)
            + "\n\nThe cold run's summary:\n\n```\n" + summary + "\n```\n")
    print(body)
    write_section(args.title, body)


if __name__ == "__main__":
    main()
