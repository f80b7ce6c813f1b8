"""What the pipeline costs over a bare tf.keras script, run alternately on the same data in one go.

    python -m benchmarks.cost [--data-dir data/simulated] [--epochs 15] [--rounds 2]

Each round: a cold `pipeline/run_local.py` (empty pipeline root), then
benchmarks/bare_keras.py (same model, data, epochs). Then a rerun of the last
pipeline on unchanged inputs, which must be served from the cache. Reports
wall time and peak RSS, their ratio, and per-component seconds from MLMD.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.common import header, parse, parser, publish, timed
from pipeline import configs
from pipeline import metadata as md
from runners.local.workspace import Workspace

TITLE = "Cost: the pipeline against a bare tf.keras script"


def _ok(run, what: str):
    if run.returncode != 0:
        raise SystemExit(f"{what} failed:\n{run.output[-3000:]}")
    return run


def phases(log_file: Path) -> dict[str, float]:
    """The last run's phase seconds, as runners/local/ logs them at the end of a run."""
    import json

    from runners.local import PHASES_PREFIX

    lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.startswith(PHASES_PREFIX)]
    return json.loads(lines[-1][len(PHASES_PREFIX):]) if lines else {}


def component_seconds(metadata_path: Path) -> dict[str, float]:
    store = md.open_store(str(metadata_path))
    runs = sorted(md.latest_node_runs(store, configs.PIPELINE_NAME).values(), key=lambda r: r.execution.id)
    return {r.node_id: r.seconds for r in runs}


def measure(data_dir: str, epochs: int, rounds: int, tmp: Path) -> dict:
    flags = ("--epochs", str(epochs))
    pipeline, bare, components = [], [], []
    for k in range(rounds):
        work = tmp / f"pipeline{k}"
        pipeline.append(_ok(timed(Workspace(work).command(data_dir, *flags)), "pipeline run"))
        components.append(component_seconds(Workspace(work).metadata_path))
        pipeline[-1].phases = phases(Workspace(work).log_file)
        bare.append(_ok(timed([sys.executable, "-m", "benchmarks.bare_keras", "--data-dir", data_dir,
                               "--epochs", str(epochs), "--out", str(tmp / f"bare{k}")]), "bare keras"))
    rerun = _ok(timed(Workspace(tmp / f"pipeline{rounds - 1}").command(data_dir, *flags)), "cached rerun")
    rerun.phases = phases(Workspace(tmp / f"pipeline{rounds - 1}").log_file)
    rerun_states = {n: r.state for n, r in
                    md.latest_node_runs(md.open_store(str(Workspace(tmp / f"pipeline{rounds - 1}").metadata_path)),
                                        configs.PIPELINE_NAME).items()}
    return {"pipeline": pipeline, "bare": bare, "components": components, "rerun": rerun,
            "rerun_states": rerun_states}


def render(m: dict, command: str) -> str:
    rows = []
    for k, (p, b) in enumerate(zip(m["pipeline"], m["bare"]), start=1):
        rows.append(f"| {k} | {p.wall_s:.0f} | {b.wall_s:.0f} | {p.wall_s / b.wall_s:.2f} | "
                    f"{p.peak_rss_mb:.0f} | {b.peak_rss_mb:.0f} |")
    mean_p = statistics.mean(r.wall_s for r in m["pipeline"])
    mean_b = statistics.mean(r.wall_s for r in m["bare"])
    rss_p = max(r.peak_rss_mb for r in m["pipeline"])
    rss_b = max(r.peak_rss_mb for r in m["bare"])
    rows.append(f"| mean / max | {mean_p:.0f} | {mean_b:.0f} | **{mean_p / mean_b:.2f}** | {rss_p:.0f} | {rss_b:.0f} |")
    nodes = list(m["components"][0])
    comp = "\n".join(f"| {n} | " + " | ".join(f"{c.get(n, float('nan')):.1f}" for c in m["components"]) + " |"
                     for n in nodes)
    not_cached = sorted(n for n, s in m["rerun_states"].items() if s != "CACHED")
    runs = {"last cold run": m["pipeline"][-1], "cached rerun": m["rerun"]}
    names = list(dict.fromkeys(k for r in runs.values() for k in r.phases))
    phase_rows = [f"| {name} | " + " | ".join(f"{r.phases.get(name, float('nan')):.1f}" for r in runs.values()) + " |"
                  for name in names]
    phase_rows.append("| interpreter start-up, argument checks, exit (wall minus the above) | "
                      + " | ".join(f"{r.wall_s - sum(r.phases.values()):.1f}" for r in runs.values()) + " |")
    bare_line = next((line for line in m["bare"][-1].stdout.splitlines() if line.startswith("bare keras:")), "")
    return (header(command)
            + "\nCold pipeline run (empty pipeline root) and bare script, alternately; wall s and peak RSS MB.\n\n"
            "| round | pipeline s | bare keras s | ratio | pipeline RSS MB | bare RSS MB |\n|---|---|---|---|---|---|\n"
            + "\n".join(rows)
            + f"\n\nCached rerun of the last pipeline on unchanged inputs: **{m['rerun'].wall_s:.1f} s**, "
            f"peak RSS {m['rerun'].peak_rss_mb:.0f} MB; components not served from cache: "
            f"{', '.join(not_cached) or 'none'}.\n\n"
            "Where the time goes, by phase of `run_local.py` (seconds; \"components\" is LocalDagRunner, cached or "
            "not):\n\n| phase | " + " | ".join(runs) + " |\n|---|---|---|\n" + "\n".join(phase_rows) + "\n\n"
            "Per component, cold runs (MLMD execution seconds):\n\n| component | "
            + " | ".join(f"round {k + 1}" for k in range(len(m["components"]))) + " |\n|---|"
            + "---|" * len(m["components"]) + "\n" + comp
            + f"\n\nLast bare run: `{bare_line}`\n")


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--data-dir", default="data/simulated")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--title", default=TITLE)
    args = parse(p, argv)
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
        m = measure(args.data_dir, args.epochs, args.rounds, Path(tmp))
    body = render(m, args.command)
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
