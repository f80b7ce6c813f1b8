"""Writes the HTML evaluation report as a pipeline artifact, on every run, blessed or not.

A reviewer deciding whether to trust a blessing should not need a notebook or
a re-run: the report sits in pipeline_root next to the evaluation it shows,
with lineage to the model and the examples in MLMD.
"""

import json
import os

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.types.artifact import Artifact
from tfx.utils import path_utils

import contract as c
from components.drift import DataDriftArtifact, headline
from components.drift import load as load_drift
from evaluation import html_report, model_info
from ingest.provenance import describe

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.json"


class EvaluationReportArtifact(Artifact):
    TYPE_NAME = "sdss.EvaluationReport"  # namespace.Name, as Kubeflow V2 requires


@component
def EvaluationReport(
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation],
    model: InputArtifact[standard_artifacts.Model],
    model_run: InputArtifact[standard_artifacts.ModelRun],
    examples: InputArtifact[standard_artifacts.Examples],
    report: OutputArtifact[EvaluationReportArtifact],
    data_dir: Parameter[str],
    code_sha256: Parameter[str],
    split: Parameter[str] = "eval",
    drift: InputArtifact[DataDriftArtifact] = None,
) -> None:
    """`code_sha256` (of the report code) is only read by TFX: it keys the cache, so an edit re-runs the report."""
    inputs = html_report.from_artifacts(
        evaluation.uri, path_utils.serving_model_path(model.uri), os.path.join(model_run.uri, c.HISTORY_FILE),
        os.path.join(examples.uri, c.split_dir(split), "*"), describe(data_dir))
    if drift is not None:
        found = load_drift(drift.uri)
        inputs.drift_headline = headline(found)
        inputs.drift_rows = [[r["feature"], r["measure"], f"{r['value']:.3f}", f"{r['threshold']:.2f}",
                              "YES" if r["drifted"] else "no"] for r in found["comparisons"]]
    html_report.write(inputs, os.path.join(report.uri, REPORT_FILE))
    ev, pred = inputs.evaluation, inputs.predictions
    summary = {"blessed": ev.blessed, "failures": ev.failures, "accuracy": ev.candidate.accuracy,
               "macro_f1": ev.candidate.macro_f1, "ece": inputs.ece, "per_class": ev.candidate.per_class,
               "n": ev.candidate.n, "misclassified": sum(a != p for a, p in zip(pred.actual, pred.predicted)),
               "inputs": model_info.inputs_of(inputs.model_info),
               "calibration": (inputs.model_info or {}).get("calibration")}
    with tf.io.gfile.GFile(os.path.join(report.uri, SUMMARY_FILE), "w") as fh:
        json.dump(summary, fh, indent=2)
    report.set_int_custom_property("blessed", int(bool(ev.blessed)))
