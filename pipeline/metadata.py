"""Read-only questions to ML Metadata: what ran in the last run, what it produced, where it came from."""

from __future__ import annotations

import os
from dataclasses import dataclass

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

RUN_CONTEXT_TYPE = "pipeline_run"
NODE_CONTEXT_TYPE = "node"
_STATE = metadata_store_pb2.Execution.State
INPUT = metadata_store_pb2.Event.INPUT


def connection_config(metadata: str | metadata_store_pb2.ConnectionConfig, readonly: bool = True
                      ) -> metadata_store_pb2.ConnectionConfig:
    """Any MLMD store: a ConnectionConfig, a text-format one in a `.pbtxt` file (MySQL on a cluster, say), or a
    SQLite file path (opened read-only unless `readonly` is off: then created, with its folder, if missing)."""
    if isinstance(metadata, metadata_store_pb2.ConnectionConfig):
        return metadata
    if str(metadata).endswith(".pbtxt"):
        from google.protobuf import text_format

        with open(metadata) as fh:
            return text_format.Parse(fh.read(), metadata_store_pb2.ConnectionConfig())
    if not readonly:
        os.makedirs(os.path.dirname(os.path.abspath(metadata)), exist_ok=True)
    cfg = metadata_store_pb2.ConnectionConfig()
    cfg.sqlite.filename_uri = str(metadata)
    cfg.sqlite.connection_mode = (metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if readonly else
                                  metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    return cfg


def open_store(metadata: str | metadata_store_pb2.ConnectionConfig) -> mlmd.MetadataStore:
    return mlmd.MetadataStore(connection_config(metadata))


@dataclass
class NodeRun:
    node_id: str
    execution: metadata_store_pb2.Execution

    @property
    def state(self) -> str:
        return _STATE.Name(self.execution.last_known_state)

    @property
    def seconds(self) -> float:
        return max(0.0, (self.execution.last_update_time_since_epoch - self.execution.create_time_since_epoch) / 1000)


def latest_run(store: mlmd.MetadataStore, pipeline_name: str) -> metadata_store_pb2.Context:
    found = runs(store, pipeline_name)
    if not found:
        raise LookupError(f"no runs of pipeline {pipeline_name!r} in this metadata store")
    return found[-1]


def node_runs(store: mlmd.MetadataStore, run: metadata_store_pb2.Context) -> dict[str, NodeRun]:
    """Node id (e.g. 'Trainer') -> its execution in that run."""
    out: dict[str, NodeRun] = {}
    for ex in store.get_executions_by_context(run.id):
        for ctx in store.get_contexts_by_execution(ex.id):
            if store.get_context_types_by_id([ctx.type_id])[0].name == NODE_CONTEXT_TYPE:
                node_id = ctx.name.split(".", 1)[-1]
                if node_id not in out or ex.id > out[node_id].execution.id:
                    out[node_id] = NodeRun(node_id, ex)
    return out


def latest_node_runs(store: mlmd.MetadataStore, pipeline_name: str) -> dict[str, NodeRun]:
    """Node id -> execution, for the pipeline's most recent run."""
    return node_runs(store, latest_run(store, pipeline_name))


def artifacts(store: mlmd.MetadataStore, execution_id: int, key: str,
              event_type: int = metadata_store_pb2.Event.OUTPUT) -> list[metadata_store_pb2.Artifact]:
    """The artifacts an execution produced (or read) under one key, e.g. ('Evaluator', 'blessing')."""
    ids = [ev.artifact_id for ev in store.get_events_by_execution_ids([execution_id])
           if ev.type == event_type and ev.path.steps and ev.path.steps[0].key == key]
    return store.get_artifacts_by_id(ids) if ids else []


def producer(store: mlmd.MetadataStore, artifact_id: int) -> metadata_store_pb2.Execution | None:
    outs = [ev for ev in store.get_events_by_artifact_ids([artifact_id])
            if ev.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    return store.get_executions_by_id([outs[0].execution_id])[0] if outs else None


def runs(store: mlmd.MetadataStore, pipeline_name: str) -> list[metadata_store_pb2.Context]:
    """The pipeline's runs, oldest first; a run's id is its context name (a timestamp)."""
    pipeline_ctx = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline_ctx is None:
        return []
    in_pipeline = {e.id for e in store.get_executions_by_context(pipeline_ctx.id)}
    out = [ctx for ctx in store.get_contexts_by_type(RUN_CONTEXT_TYPE)
           if any(e.id in in_pipeline for e in store.get_executions_by_context(ctx.id))]
    return sorted(out, key=lambda ctx: ctx.create_time_since_epoch)


def run_by_id(store: mlmd.MetadataStore, pipeline_name: str, run_id: str) -> metadata_store_pb2.Context:
    for ctx in runs(store, pipeline_name):
        if ctx.name == run_id:
            return ctx
    known = ", ".join(ctx.name for ctx in runs(store, pipeline_name)) or "none"
    raise LookupError(f"no run {run_id!r} of pipeline {pipeline_name!r}; runs: {known}")
