"""The one place a process makes TensorFlow Decision Forests' ops known to TensorFlow.

A SavedModel with a forest head holds TF-DF's inference ops (SimpleMLCreateModelResource, ...). TensorFlow loads a
graph only if every op in it is registered in the process, and TF-DF registers its ops when its inference module is
imported, so every process that loads a pushed model calls `register()` first: the Trainer, the Evaluator's Beam
workers (evaluation/argmax_metrics.py, which TFMA imports in each of them), `inference/model.load_model` (sdss-predict
and both catalogue drivers' workers) and `evaluation/predictions.py`. A model with an MLP head needs none of them, so
a model pushed before the forest head loads as it did.
"""

from __future__ import annotations

_REGISTERED = False


def register() -> None:
    """Registers TF-DF's custom ops in this process (idempotent; imports TensorFlow)."""
    global _REGISTERED
    if not _REGISTERED:
        from tensorflow_decision_forests.tensorflow.ops.inference import api  # noqa: F401 - loads the op library

        _REGISTERED = True
