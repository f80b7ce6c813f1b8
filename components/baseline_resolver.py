"""Baseline for the Evaluator: the latest blessed model that is older than the candidate.

TFX's LatestBlessedModelStrategy returns the candidate itself once it has been
blessed, so a rerun on unchanged inputs hands the Evaluator a new baseline,
re-evaluates, and pushes the same model again. Comparing only against strictly
older models keeps a rerun's inputs identical, so the Evaluator and Pusher hit
the cache. Only a model with the same inputs is a baseline: a photometric model
would always "drop" against one that read the spectroscopic redshift.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.utils import path_utils

from components.blessings import blessed_models
from evaluation import model_info

CANDIDATE = "candidate"
MODEL = "model"
BLESSING = "model_blessing"


def _inputs(model: types.Artifact) -> str:
    """What the model reads: a photometric candidate is never measured against a model that read the redshift."""
    return model_info.inputs_of(model_info.load(path_utils.serving_model_path(model.uri)))


class OlderBlessedModelStrategy(resolver.ResolverStrategy):
    def resolve_artifacts(self, store, input_dict: dict[str, list[types.Artifact]]
                          ) -> dict[str, list[types.Artifact]] | None:
        candidates = input_dict.get(CANDIDATE, [])
        newest_allowed = min((a.id for a in candidates), default=None)
        blessed = blessed_models(input_dict.get(BLESSING, []))
        result: dict[str, list[types.Artifact]] = {CANDIDATE: candidates, MODEL: [], BLESSING: []}
        inputs = _inputs(candidates[0]) if candidates else None
        for model in sorted(input_dict.get(MODEL, []), key=lambda a: a.id, reverse=True):
            if newest_allowed is not None and model.id >= newest_allowed:
                continue
            if model.id in blessed and _inputs(model) == inputs:
                result[MODEL] = [model]
                result[BLESSING] = [blessed[model.id]]
                break
        return result
