"""Data drift: today's training data against the data behind the latest blessed model.

The schema check (ExampleValidator) catches values that are impossible; drift
catches data that is plausible but different from what the serving model
learned on: an export two magnitudes fainter, a class mix that moved. TFDV's
comparators measure it on the train split's statistics (L-infinity distance on
the class frequencies, Jensen-Shannon divergence on magnitudes and redshift),
with thresholds from pipeline/configs.py. In "warn" mode the run goes on and
the summary and the report name what drifted; in "halt" mode the run stops
before Transform.
"""

import json
import os

import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.types.artifact import Artifact
from tfx.utils import io_utils

import contract as c

DRIFT_FILE = "drift.json"
SPLIT = "train"
MEASURES = {anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY: "L-infinity",
            anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE: "Jensen-Shannon"}


class DataDriftArtifact(Artifact):
    TYPE_NAME = "sdss.DataDrift"  # namespace.Name: what the Kubeflow V2 compiler requires


class DataDriftError(RuntimeError):
    pass


def _stats(statistics_uri: str):
    return tfdv.load_stats_binary(os.path.join(statistics_uri, c.split_dir(SPLIT), "FeatureStats.pb"))


def with_comparators(schema: schema_pb2.Schema, thresholds: dict[str, float]) -> schema_pb2.Schema:
    """A copy of the schema with a drift comparator on the class and on every feature that has a threshold."""
    out = schema_pb2.Schema()
    out.CopyFrom(schema)
    for feature in out.feature:
        if feature.name == c.LABEL and c.LABEL in thresholds:
            feature.drift_comparator.infinity_norm.threshold = thresholds[c.LABEL]
        elif feature.name in thresholds:
            feature.drift_comparator.jensen_shannon_divergence.threshold = thresholds[feature.name]
    return out


def measure(current_uri: str, baseline_uri: str, schema: schema_pb2.Schema,
            thresholds: dict[str, float]) -> list[dict]:
    """compare() on the train split of two StatisticsGen artifacts."""
    return compare(_stats(current_uri), _stats(baseline_uri), schema, thresholds)


def compare(current, baseline, schema: schema_pb2.Schema, thresholds: dict[str, float]) -> list[dict]:
    """[{feature, measure, value, threshold, drifted}] for every compared feature, drifted first.

    `current` and `baseline` are DatasetFeatureStatisticsList protos (benchmarks/drift.py passes its own)."""
    anomalies = tfdv.validate_statistics(current, with_comparators(schema, thresholds), previous_statistics=baseline)
    rows = []
    for info in anomalies.drift_skew_info:
        for m in info.drift_measurements:
            rows.append({"feature": ".".join(info.path.step), "measure": MEASURES.get(m.type, str(m.type)),
                         "value": round(float(m.value), 4), "threshold": float(m.threshold),
                         "drifted": bool(m.value > m.threshold)})
    return sorted(rows, key=lambda r: (not r["drifted"], r["feature"]))


def headline(report: dict) -> str:
    """One line for the run summary and the report."""
    if report["baseline"] is None:
        return f"drift: not checked ({report['why']})"
    drifted = [r for r in report["comparisons"] if r["drifted"]]
    if not drifted:
        return "drift: none against the data behind the latest blessed model"
    parts = ", ".join(f"{r['feature']} ({r['measure']} {r['value']:.2f} > {r['threshold']:.2f})" for r in drifted)
    return f"drift: {parts} against the data behind the latest blessed model ({report['mode']})"


def load(drift_uri: str) -> dict:
    with tf.io.gfile.GFile(os.path.join(drift_uri, DRIFT_FILE)) as fh:
        return json.load(fh)


@component
def DriftCheck(
    statistics: InputArtifact[standard_artifacts.ExampleStatistics],
    schema: InputArtifact[standard_artifacts.Schema],
    drift: OutputArtifact[DataDriftArtifact],
    thresholds_json: Parameter[str],
    mode: Parameter[str],
    code_sha256: Parameter[str],
    baseline_statistics: InputArtifact[standard_artifacts.ExampleStatistics] = None,
) -> None:
    """`code_sha256` (of this module) only keys the cache; `baseline_statistics` is absent before any blessing."""
    thresholds = json.loads(thresholds_json)
    report: dict = {"mode": mode, "thresholds": thresholds, "split": SPLIT, "baseline": None, "comparisons": []}
    if baseline_statistics is None:
        report["why"] = "no blessed model yet, or it was trained on this same data"
    else:
        schema_proto = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema.uri))
        report["baseline"] = baseline_statistics.uri
        report["comparisons"] = measure(statistics.uri, baseline_statistics.uri, schema_proto, thresholds)
    drifted = [r["feature"] for r in report["comparisons"] if r["drifted"]]
    report["drifted"] = drifted
    with tf.io.gfile.GFile(os.path.join(drift.uri, DRIFT_FILE), "w") as fh:
        json.dump(report, fh, indent=1)
    drift.set_int_custom_property("drifted", int(bool(drifted)))
    if drifted and mode == "halt":
        raise DataDriftError(headline(report) + "; stopping before Transform (--drift warn lets the run go on)")
