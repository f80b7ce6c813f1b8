"""The end-of-run summary: per-component status, blessing and why, push location, metrics per class."""

from __future__ import annotations

import contract as c
from components.drift import headline
from components.drift import load as load_drift
from evaluation import results
from pipeline import metadata as md


def run_summary(metadata_path: str, pipeline_name: str, wall_s: float, data_note: str) -> str:
    store = md.open_store(metadata_path)
    runs = md.latest_node_runs(store, pipeline_name)
    states = sorted(runs.values(), key=lambda r: r.execution.id)
    lines = ["", f"run finished in {wall_s:.0f}s; components: "
             + ", ".join(f"{r.node_id}={r.state.lower()}" for r in states)]
    drift = runs.get("DriftCheck")
    if drift:
        found = md.artifacts(store, drift.execution.id, "drift")
        if found:
            lines.append(headline(load_drift(found[0].uri)))
    trainer = runs.get("Trainer")
    if trainer:
        from tfx.utils import path_utils

        from evaluation import model_info

        model = md.artifacts(store, trainer.execution.id, "model")
        if model:
            info = model_info.load(path_utils.serving_model_path(model[0].uri))
            lines += [model_info.describe(info), model_info.describe_head(info), model_info.describe_calibration(info)]
    evaluator = runs.get("Evaluator")
    if evaluator:
        evaluation = md.artifacts(store, evaluator.execution.id, "evaluation")[0]
        ev = results.load(evaluation.uri)
        lines.append(f"blessed: {'YES' if ev.blessed else 'NO'}")
        lines += [f"  failed: {f}" for f in ev.failures]
        m = ev.candidate
        lines.append(f"eval split: accuracy {m.accuracy:.4f}, macro-F1 {m.macro_f1:.4f} (n={m.n})")
        for name in c.CLASS_NAMES:
            stats = m.per_class.get(name, {})
            lines.append(f"  {name:<7} recall {stats.get('recall', float('nan')):.4f}  precision "
                         f"{stats.get('precision', float('nan')):.4f}  (n={int(stats.get('support', 0))})")
        lines.append(f"evaluation: {evaluation.uri}")
    reporter = runs.get("EvaluationReport")
    if reporter:
        report = md.artifacts(store, reporter.execution.id, "report")
        if report:
            lines.append(f"report: {report[0].uri}/report.html  (inspect: sdss-inspect)")
    pusher = runs.get("Pusher")
    if pusher:
        pushed = md.artifacts(store, pusher.execution.id, "pushed_model")
        props = pushed[0].custom_properties if pushed else {}
        if props and props["pushed"].int_value == 1:
            lines.append(f"pushed: {props['pushed_destination'].string_value}"
                         + (" (cached: same model as the previous run, nothing new pushed)"
                            if pusher.state == "CACHED" else ""))
        else:
            lines.append("pushed: nothing (model not blessed)")
    lines.append(data_note)
    return "\n".join(lines) + "\n"
