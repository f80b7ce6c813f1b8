"""An Evaluator artifact read back into plain numbers: per-class table, confusion matrix, gate verdict.

Everything that shows an evaluation (run summary, inspect command, HTML
report) reads it through here, so they cannot disagree with each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import tensorflow_model_analysis as tfma

import contract as c
from evaluation import argmax_metrics as am

ACCURACY = "sparse_categorical_accuracy"
AUC = "auc"
CONFUSION_MATRIX = "multi_class_confusion_matrix_plot"
CANDIDATE, BASELINE = "candidate", "baseline"


@dataclass
class ModelMetrics:
    accuracy: float = math.nan
    n: int = 0
    macro_f1: float = math.nan
    # class name -> {"precision", "recall", "f1", "auc", "support"}
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    # rows: actual class, columns: predicted class (argmax), in contract order
    confusion: np.ndarray | None = None
    # 'class' slice name -> (accuracy on that slice, n): the recall the gate checks
    slice_accuracy: dict[str, tuple[float, int]] = field(default_factory=dict)
    # (bin feature, bin label) -> {"all" or class name: (accuracy, n)}: accuracy per bin, and recall per class in it
    binned: dict[tuple[str, str], dict[str, tuple[float, int]]] = field(default_factory=dict)


@dataclass
class Evaluation:
    uri: str
    candidate: ModelMetrics
    baseline: ModelMetrics | None
    blessed: bool | None  # None: no validation result was written
    failures: list[str]


def _slice_name(slice_key) -> str:
    keys = slice_key.single_slice_keys
    return keys[0].bytes_value.decode() if keys else "overall"


def _slice_columns(slice_key) -> dict[str, str]:
    return {k.column: k.bytes_value.decode() for k in slice_key.single_slice_keys}


def _put(table: dict, key, name: str, value: float) -> None:
    acc, n = table.get(key, (math.nan, 0))
    table[key] = (value, n) if name == ACCURACY else (acc, int(value))


def _role(model_name: str) -> str:
    return BASELINE if model_name == BASELINE else CANDIDATE


def _fill(metrics: dict[str, ModelMetrics], rec) -> None:
    slice_name = _slice_name(rec.slice_key)
    for kv in rec.metric_keys_and_values:
        k, value = kv.key, kv.value.double_value.value
        if k.is_diff or not k.HasField("example_weighted") or k.example_weighted.value:
            continue
        m = metrics.setdefault(_role(k.model_name), ModelMetrics())
        if slice_name != "overall":
            if k.name in (ACCURACY, "example_count"):
                columns = _slice_columns(rec.slice_key)
                bins = [col for col in columns if col != c.LABEL]
                if not bins:
                    _put(m.slice_accuracy, slice_name, k.name, value)
                else:
                    cell = m.binned.setdefault((bins[0], columns[bins[0]]), {})
                    _put(cell, columns.get(c.LABEL, "all"), k.name, value)
            continue
        class_id = k.sub_key.class_id.value if k.sub_key.HasField("class_id") else None
        if k.name == ACCURACY:
            m.accuracy = value
        elif k.name == "example_count":
            m.n = int(value)
        elif k.name == am.MACRO_F1:
            m.macro_f1 = value
        elif class_id is not None and k.name in (am.PRECISION, am.RECALL, am.F1, AUC):
            column = {am.PRECISION: "precision", am.RECALL: "recall", am.F1: "f1", AUC: "auc"}[k.name]
            m.per_class.setdefault(c.CLASS_NAMES[class_id], {})[column] = value


def _confusion(matrix_proto) -> np.ndarray:
    n = len(c.CLASS_NAMES)
    out = np.zeros((n, n))
    at_zero = [m for m in matrix_proto.matrices if m.threshold == 0.0] or list(matrix_proto.matrices)
    for e in at_zero[0].entries:
        if 0 <= e.predicted_class_id < n:
            out[e.actual_class_id, e.predicted_class_id] += e.num_weighted_examples
    return out


def failed_thresholds(evaluation_uri: str) -> list[str]:
    """Each failed gate threshold in words: slice, metric, value and the bound it broke."""
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


def load(evaluation_uri: str) -> Evaluation:
    metrics: dict[str, ModelMetrics] = {}
    for rec in tfma.load_metrics(evaluation_uri):
        _fill(metrics, rec)
    for rec in tfma.load_plots(evaluation_uri):
        if _slice_name(rec.slice_key) != "overall":
            continue
        for kv in rec.plot_keys_and_values:
            if kv.key.name == CONFUSION_MATRIX and not kv.key.example_weighted.value:
                m = metrics.setdefault(_role(kv.key.model_name), ModelMetrics())
                m.confusion = _confusion(kv.value.multi_class_confusion_matrix_at_thresholds)
    for m in metrics.values():
        if m.confusion is not None:
            support = m.confusion.sum(axis=1)
            for i, name in enumerate(c.CLASS_NAMES):
                m.per_class.setdefault(name, {})["support"] = float(support[i])
    try:
        validation = tfma.load_validation_result(evaluation_uri)
        blessed: bool | None = bool(validation.validation_ok)
    except (OSError, IndexError, ValueError):
        blessed = None
    return Evaluation(uri=evaluation_uri, candidate=metrics.get(CANDIDATE, ModelMetrics()),
                      baseline=metrics.get(BASELINE), blessed=blessed,
                      failures=failed_thresholds(evaluation_uri) if blessed is False else [])
