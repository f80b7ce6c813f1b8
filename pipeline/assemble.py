"""Settings to pipeline: one assemble(), shared by every runner.

Runners differ in where the pipeline runs (LocalDagRunner in this process, a
Kubeflow V2 / Vertex spec, Beam on Dataflow, Flink, Spark or a portable job
service); what the pipeline is does not. A runner settles a RunConfig
(pipeline/run_config.py) and calls assemble() with its own Beam args and MLMD
connection.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from pipeline import configs
from pipeline.run_config import RunConfig, settle


def assemble(cfg: RunConfig, *, beam_pipeline_args: list[str], metadata_connection_config: Any | None,
             schema_uri: str | None = None, **overrides: Any) -> Any:
    """The TFX Pipeline for these settings.

    `schema_uri` is where the components read the schema when that is not where it is hashed now (inside a
    container image); `overrides` replace PipelineParams fields as they are (Kubeflow turns off the custom
    resolvers; tests swap the run_fn)."""
    from components.curated_schema import file_sha256
    from pipeline.fingerprint import Fingerprints
    from pipeline.pipeline import PipelineParams, create_pipeline

    settle(cfg)
    schema_file = cfg.schema_file if "://" in cfg.schema_file else os.path.abspath(cfg.schema_file)
    params = PipelineParams(
        run=cfg,
        schema_uri=schema_uri or schema_file,
        schema_sha256=file_sha256(schema_file),
        fingerprints=Fingerprints.of(configs.CODE_FOR),
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=tuple(beam_pipeline_args),
    )
    return create_pipeline(dataclasses.replace(params, **overrides))
