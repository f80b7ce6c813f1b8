"""Baseline for the Evaluator: the latest blessed model that is older than the candidate.

TFX's LatestBlessedModelStrategy returns the candidate itself once it has been
blessed, so a rerun on unchanged inputs hands the Evaluator a new baseline,
re-evaluates, and pushes the same model again. Comparing only against strictly
older models keeps a rerun's inputs identical, so the Evaluator and Pusher hit
the cache.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.common import resolver

CANDIDATE = "candidate"
MODEL = "model"
BLESSING = "model_blessing"


class OlderBlessedModelStrategy(resolver.ResolverStrategy):
    def resolve_artifacts(self, store, input_dict: dict[str, list[types.Artifact]]
                          ) -> dict[str, list[types.Artifact]] | None:
        candidates = input_dict.get(CANDIDATE, [])
        newest_allowed = min((a.id for a in candidates), default=None)
        blessed = {b.get_int_custom_property("current_model_id"): b for b in input_dict.get(BLESSING, [])
                   if b.get_int_custom_property("blessed") == 1}
        result: dict[str, list[types.Artifact]] = {CANDIDATE: candidates, MODEL: [], BLESSING: []}
        for model in sorted(input_dict.get(MODEL, []), key=lambda a: a.id, reverse=True):
            if newest_allowed is not None and model.id >= newest_allowed:
                continue
            if model.id in blessed:
                result[MODEL] = [model]
                result[BLESSING] = [blessed[model.id]]
                break
        return result
