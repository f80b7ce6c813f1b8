"""Stops the pipeline before Transform when ExampleValidator found anomalies.

ExampleValidator only records anomalies; a daily pipeline must not train on
data that breaks the curated schema, so this gate turns them into a failure
whose message names each feature and what is wrong with it.
"""


import os

from tensorflow_data_validation.utils.anomalies_util import load_anomalies_binary
from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

import contract as c


class DataAnomaliesError(RuntimeError):
    pass


def describe(anomalies_uri: str, split_names: list[str]) -> list[str]:
    """One readable line per (split, feature) anomaly."""
    lines = []
    for split in split_names:
        path = os.path.join(anomalies_uri, c.split_dir(split), "SchemaDiff.pb")
        report = load_anomalies_binary(path)
        for feature, info in sorted(report.anomaly_info.items()):
            reasons = "; ".join(f"{r.short_description}: {r.description}" for r in info.reason) or info.description
            lines.append(f"[{split}] feature '{feature}': {reasons}")
        if report.HasField("dataset_anomaly_info"):
            info = report.dataset_anomaly_info
            lines.append(f"[{split}] dataset: " + "; ".join(r.description for r in info.reason))
    return lines


@component
def AnomaliesGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    schema_file: Parameter[str],
) -> None:
    """`schema_file`: the curated schema the data was validated against, named in the error."""
    splits = artifact_utils.decode_split_names(anomalies.split_names)
    problems = describe(anomalies.uri, splits)
    if problems:
        raise DataAnomaliesError(f"data does not match {schema_file}, stopping before Transform:\n  "
                                 + "\n  ".join(problems))
