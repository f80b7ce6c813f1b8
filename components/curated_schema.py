"""Imports the curated schema file, keyed by its content so an edited schema re-runs what depends on it.

ImportSchemaGen keys its cache on the file path alone: an edit to the file
would silently reuse the old schema. This component takes the content hash
as a parameter (computed when the pipeline is built) and refuses to run if
the file changed since.
"""


import hashlib
import os

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.component.experimental.annotations import OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

SCHEMA_FILE_NAME = "schema.pbtxt"


def file_sha256(path: str) -> str:
    with tf.io.gfile.GFile(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@component
def CuratedSchemaImporter(
    schema: OutputArtifact[standard_artifacts.Schema],
    schema_file: Parameter[str],
    content_sha256: Parameter[str],
) -> None:
    actual = file_sha256(schema_file)
    if actual != content_sha256:
        raise RuntimeError(f"{schema_file} changed after the pipeline was built (sha256 {actual[:12]}, "
                           f"expected {content_sha256[:12]}); rebuild and rerun the pipeline")
    with tf.io.gfile.GFile(schema_file) as fh:
        text = fh.read()
    try:
        text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as e:
        raise ValueError(f"{schema_file} is not a valid tensorflow_metadata Schema: {e}") from e
    tf.io.gfile.makedirs(schema.uri)
    with tf.io.gfile.GFile(os.path.join(schema.uri, SCHEMA_FILE_NAME), "w") as fh:
        fh.write(text)
