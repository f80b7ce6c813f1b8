"""Per-class precision, recall and F1 of the argmax decision, plus their macro-F1, as TFMA metrics.

TFMA's Precision/Recall/F1Score binarize each class at a 0.5 probability,
which is not what the classifier decides: it takes the most probable class.
These are derived from the same argmax confusion matrix that
MultiClassConfusionMatrixPlot draws (threshold 0.0), so table and plot agree.
The Evaluator loads this class by module path (MetricConfig.module).
"""

from __future__ import annotations

from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.metrics import multi_class_confusion_matrix_metrics as mccm

import contract as c
from trainer import forest_ops

# TFMA imports this module by path in every Evaluator worker before it loads the candidate and the baseline: a
# forest head's ops must be known there first (trainer/forest_ops.py).
forest_ops.register()

NAME = "argmax"
PRECISION, RECALL, F1, MACRO_F1 = "argmax_precision", "argmax_recall", "argmax_f1", "macro_f1"


def per_class(matrix: dict[tuple[int, int], float], n_classes: int) -> dict[str, list[float]]:
    """precision/recall/f1/support per class id from {(actual, predicted): count}; 0 where undefined."""
    out: dict[str, list[float]] = {"precision": [], "recall": [], "f1": [], "support": []}
    for k in range(n_classes):
        tp = matrix.get((k, k), 0.0)
        actual = sum(v for (a, _), v in matrix.items() if a == k)
        predicted = sum(v for (_, p), v in matrix.items() if p == k)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        out["precision"].append(precision)
        out["recall"].append(recall)
        out["f1"].append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        out["support"].append(actual)
    return out


def _computations(name: str = NAME, eval_config=None, model_name: str = "", output_name: str = "",
                  example_weighted: bool = False) -> metric_types.MetricComputations:
    n = len(c.CLASS_NAMES)

    def key(metric: str, class_id: int | None = None) -> metric_types.MetricKey:
        return metric_types.MetricKey(
            name=metric, model_name=model_name, output_name=output_name, example_weighted=example_weighted,
            sub_key=metric_types.SubKey(class_id=class_id) if class_id is not None else None)

    keys = [key(m, k) for m in (PRECISION, RECALL, F1) for k in range(n)] + [key(MACRO_F1)]
    computations = mccm.multi_class_confusion_matrices(
        thresholds=[0.0], eval_config=eval_config, model_name=model_name, output_name=output_name,
        example_weighted=example_weighted)
    matrices_key = computations[-1].keys[-1]

    def result(metrics):
        entries = metrics[matrices_key].get(0.0, {})
        table = per_class({(e.actual_class_id, e.predicted_class_id): v for e, v in entries.items()}, n)
        out = {key(MACRO_F1): sum(table["f1"]) / n}
        for metric, column in ((PRECISION, "precision"), (RECALL, "recall"), (F1, "f1")):
            out.update({key(metric, k): table[column][k] for k in range(n)})
        return out

    computations.append(metric_types.DerivedMetricComputation(keys=keys, result=result))
    return computations


class ArgmaxClassMetrics(metric_types.Metric):
    def __init__(self, name: str = NAME, code_sha256: str = ""):
        # code_sha256 (this module's hash) is unused here: it sits in the EvalConfig so that editing this
        # module changes the Evaluator's cache key (pipeline/fingerprint.py).
        super().__init__(metric_util.merge_per_key_computations(_computations), name=name)


metric_types.register_metric(ArgmaxClassMetrics)
