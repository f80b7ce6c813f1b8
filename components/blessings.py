"""Which models the Evaluator blessed, as the resolvers read it from ModelBlessing artifacts.

A ModelBlessing names its model by id (`current_model_id`) and says yes or no (`blessed`); both resolvers
(the Evaluator's baseline and the drift check's baseline data) start from the models it said yes to.
"""

from __future__ import annotations

from tfx import types


def blessed_models(blessings: list[types.Artifact]) -> dict[int, types.Artifact]:
    """Model id -> the blessing that passed it; models that failed the gate are not there."""
    return {b.get_int_custom_property("current_model_id"): b for b in blessings
            if b.get_int_custom_property("blessed") == 1}
