"""The end-of-run summary: per-component status, blessing and why, push location, accuracy per class."""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow_model_analysis as tfma

from ingest import contract as c
from ingest.simulate import SIMULATED_MARKER
from ingest.skyserver_import import IMPORT_SUMMARY
from pipeline import metadata as md
from pipeline.eval_config import ACCURACY


def data_provenance(data_dir: str) -> str:
    """What the records are, from the marker files that `ingest simulate` and `ingest import` leave beside them."""
    folder = Path(data_dir)
    if (folder / SIMULATED_MARKER).exists():
        return ("(data: SIMULATED by the built-in simulator from real SDSS DR14 photometry statistics, "
                "cutouts rendered with GalSim; not real observations)")
    summary = folder / IMPORT_SUMMARY
    if summary.exists():
        info = json.loads(summary.read_text())
        if info.get("simulated_images"):
            return (f"(data: photometry imported from {info['source_csv']}; {info['simulated_images']} of "
                    f"{info['written']} cutouts SIMULATED with GalSim, not real images)")
        return f"(data: imported from {info['source_csv']} with cutouts from {info['images']})"
    return f"(data: records in {data_dir}, origin not recorded)"


def accuracy_by_slice(evaluation_uri: str) -> dict[str, tuple[float, int]]:
    """'overall' and each class name -> (accuracy, example count) of the candidate model."""
    out = {}
    for rec in tfma.load_metrics(evaluation_uri):
        keys = rec.slice_key.single_slice_keys
        key = keys[0].bytes_value.decode() if keys else "overall"
        values = {}
        for kv in rec.metric_keys_and_values:
            k = kv.key
            if k.model_name == "baseline" or k.is_diff:
                continue
            if k.name in (ACCURACY, "example_count") and k.example_weighted.value is False:
                values[k.name] = kv.value.double_value.value
        if ACCURACY in values:
            out[key] = (values[ACCURACY], int(values.get("example_count", 0)))
    return out


def failed_thresholds(evaluation_uri: str) -> list[str]:
    result = tfma.load_validation_result(evaluation_uri)
    lines = []
    for failure in result.metric_validations_per_slice:
        slice_name = ", ".join(f"{s.column}={s.bytes_value.decode() or s.float_value}"
                               for s in failure.slice_key.single_slice_keys) or "overall"
        for f in failure.failures:
            value, t = f.metric_value.double_value.value, f.metric_threshold
            if t.HasField("value_threshold"):
                rule = f"{value:.4f} is below the floor {t.value_threshold.lower_bound.value}"
            else:
                rule = f"change vs baseline {value:+.4f} exceeds the allowed {t.change_threshold.absolute.value:+.4f}"
            lines.append(f"{slice_name}: {f.metric_key.name} {rule}")
    return lines


def run_summary(metadata_path: str, pipeline_name: str, wall_s: float, data_note: str) -> str:
    store = md.open_store(metadata_path)
    runs = md.latest_node_runs(store, pipeline_name)
    states = sorted(runs.values(), key=lambda r: r.execution.id)
    lines = ["", f"run finished in {wall_s:.0f}s; components: "
             + ", ".join(f"{r.node_id}={r.state.lower()}" for r in states)]
    evaluator = runs.get("Evaluator")
    if evaluator:
        blessing = md.artifacts(store, evaluator.execution.id, "blessing")
        blessed = bool(blessing and blessing[0].custom_properties["blessed"].int_value == 1)
        evaluation = md.artifacts(store, evaluator.execution.id, "evaluation")[0]
        lines.append(f"blessed: {'YES' if blessed else 'NO'}")
        if not blessed:
            lines += [f"  failed: {f}" for f in failed_thresholds(evaluation.uri)]
        acc = accuracy_by_slice(evaluation.uri)
        if "overall" in acc:
            lines.append(f"accuracy (eval split): overall {acc['overall'][0]:.4f} (n={acc['overall'][1]})")
            lines += [f"  {name:<7} recall {acc[name][0]:.4f} (n={acc[name][1]})"
                      for name in c.CLASS_NAMES if name in acc]
        lines.append(f"evaluation: {evaluation.uri}")
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
