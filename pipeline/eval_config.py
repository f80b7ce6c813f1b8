"""The TFMA EvalConfig: slices, metrics and the blessing gate, all from pipeline/configs.py.

Metrics: accuracy; argmax precision/recall/F1 per class and macro-F1
(evaluation/argmax_metrics.py); one-vs-rest AUC per class; the argmax
confusion matrix; example counts.

Per-class recall is accuracy on the `class` slice: every example in slice
class=QSO has label QSO, so the share predicted correctly there is QSO recall
under argmax, with no per-class probability threshold involved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import tensorflow_model_analysis as tfma

import contract as c
from evaluation import argmax_metrics
from evaluation.results import AUC
from pipeline import configs
from trainer import features as f


@dataclass(frozen=True)
class Gate:
    accuracy_floor: float = configs.ACCURACY_FLOOR
    class_recall_floor: float = configs.CLASS_RECALL_FLOOR
    max_accuracy_drop: float = configs.MAX_ACCURACY_DROP
    max_qso_recall_drop: float = configs.MAX_QSO_RECALL_DROP


def class_slice(name: str) -> tfma.SlicingSpec:
    return tfma.SlicingSpec(feature_values={c.LABEL: name})


def _threshold(floor: float, max_drop: float | None) -> tfma.MetricThreshold:
    t = tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(lower_bound={"value": floor}))
    if max_drop is not None:
        t.change_threshold.CopyFrom(tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -max_drop}))
    return t


def build(gate: Gate = Gate(), code_sha256: str = "") -> tfma.EvalConfig:
    """`code_sha256`: hash of the metric module, passed to it only so that an edit changes the Evaluator's key."""
    per_class = [
        tfma.PerSliceMetricThreshold(
            slicing_specs=[class_slice(name)],
            threshold=_threshold(gate.class_recall_floor, gate.max_qso_recall_drop if name == "QSO" else None))
        for name in c.CLASS_NAMES
    ]
    # MetricConfig.threshold would apply to every slice; each floor is bound to its own slice instead.
    overall = tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()],
                                           threshold=_threshold(gate.accuracy_floor, gate.max_accuracy_drop))
    accuracy = tfma.MetricConfig(class_name="SparseCategoricalAccuracy", per_slice_thresholds=[overall, *per_class])
    # Not the model's compiled loss and metrics: TFMA computes them with a combiner that loads the Keras model
    # anew in every setup, a dozen or more loads per run, for numbers this config already computes (or that the
    # report takes from the training history). Off, the Evaluator takes a third less time on the built-in data
    # (BENCHMARKS.md, "Targets at a glance", "What limits the targets not met").
    options = tfma.Options()
    options.include_default_metrics.value = False
    return tfma.EvalConfig(
        options=options,
        model_specs=[tfma.ModelSpec(signature_name=c.SERVING_DEFAULT, label_key=f.LABEL_XF,
                                    prediction_key=c.PROBABILITIES,
                                    preprocessing_function_names=[c.TRANSFORM_FEATURES])],
        # Overall, per class (the gate), and per brightness and redshift bin, alone and crossed with the class
        # (per-class recall in each bin). The bins are Transform outputs (trainer/features.py BINS).
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[c.LABEL]),
                       *(tfma.SlicingSpec(feature_keys=keys) for name in f.BINS
                         for keys in ([name], [name, c.LABEL]))],
        metrics_specs=[
            tfma.MetricsSpec(metrics=[
                accuracy,
                tfma.MetricConfig(class_name="ExampleCount"),
                tfma.MetricConfig(class_name="ArgmaxClassMetrics", module=argmax_metrics.__name__,
                                  config=json.dumps({"code_sha256": code_sha256})),
                tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),  # threshold 0.0: argmax
            ]),
            # One-vs-rest: each class id binarized against the rest, AUC over its probability.
            tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name="AUC", config=json.dumps({"name": AUC}))],
                             binarize=tfma.BinarizationOptions(class_ids={"values": list(range(len(c.CLASS_NAMES)))})),
        ],
    )
