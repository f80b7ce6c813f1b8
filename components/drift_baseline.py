"""Resolves the statistics of the data the latest blessed model was trained on, through MLMD lineage.

Blessed model <- Trainer <- transformed examples <- Transform <- raw examples,
and the StatisticsGen output computed from those raw examples. When that is
this run's own statistics (a rerun on the same data) nothing is returned: a
comparison with itself says nothing, and an unchanged input keeps the drift
check cached.
"""

from __future__ import annotations

from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx.dsl.components.common import resolver

from components.blessings import blessed_models

CURRENT = "current"
STATISTICS = "statistics"
MODEL = "model"
BLESSING = "model_blessing"
_OUT = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


def _inputs_of_producer(store, artifact_id: int, key: str) -> list[int]:
    """Ids of what the execution that produced `artifact_id` read under input `key`."""
    produced = [e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type in _OUT]
    if not produced:
        return []
    return [e.artifact_id for e in store.get_events_by_execution_ids([produced[0].execution_id])
            if e.type == metadata_store_pb2.Event.INPUT and e.path.steps and e.path.steps[0].key == key]


def _outputs_of_readers(store, artifact_id: int) -> set[int]:
    """Ids of everything produced by executions that read `artifact_id`."""
    readers = {e.execution_id for e in store.get_events_by_artifact_ids([artifact_id])
               if e.type == metadata_store_pb2.Event.INPUT}
    if not readers:
        return set()
    return {e.artifact_id for e in store.get_events_by_execution_ids(list(readers)) if e.type in _OUT}


def training_statistics_ids(store, model_id: int) -> set[int]:
    ids: set[int] = set()
    for transformed in _inputs_of_producer(store, model_id, "examples"):
        for raw in _inputs_of_producer(store, transformed, "examples"):
            ids |= _outputs_of_readers(store, raw)
    return ids


class TrainingDataStatisticsStrategy(resolver.ResolverStrategy):
    def resolve_artifacts(self, store, input_dict: dict[str, list[types.Artifact]]
                          ) -> dict[str, list[types.Artifact]] | None:
        current = {a.id for a in input_dict.get(CURRENT, [])}
        blessed = blessed_models(input_dict.get(BLESSING, []))
        models = sorted((m for m in input_dict.get(MODEL, []) if m.id in blessed), key=lambda m: m.id)
        # Every input key must be in the result; the model and blessing channels are only the way to find it.
        result: dict[str, list[types.Artifact]] = {CURRENT: input_dict.get(CURRENT, []), STATISTICS: [],
                                                   MODEL: [], BLESSING: []}
        if not models:
            return result
        wanted = training_statistics_ids(store, models[-1].id)
        found = sorted((s for s in input_dict.get(STATISTICS, []) if s.id in wanted), key=lambda s: s.id)
        if found and found[-1].id not in current:
            result[STATISTICS] = [found[-1]]
        return result
