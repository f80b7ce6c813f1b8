"""A pushed model, the one home for finding, loading and calling it: `sdss-predict`, both catalogue drivers and the
pipeline's encoder import use these, so they pick, refuse and read a model the same way.

Calls go through the raw-feature `serving_raw` signature, as a TF Serving client's would.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import contract as c
from components.serving_layout import latest_version
from pipeline import configs

FEATURES = (*c.BANDS, c.REDSHIFT)  # the tabular inputs a serving_raw signature may take, in contract order


def model_dir_for(model_dir: str | None, serving_dir: str, inputs: str) -> str:
    """`--model-dir` as given, else the newest pushed version of the model that reads `inputs`."""
    return model_dir or latest_version(os.path.join(serving_dir, configs.MODEL_NAMES[inputs]))


def load_model(model_dir: str) -> Any:
    """The SavedModel with a raw-feature signature; ValueError naming the folder and what is wrong otherwise."""
    import tensorflow as tf

    from trainer import forest_ops

    forest_ops.register()  # a forest head's ops, before TensorFlow reads the graph
    hint = f"give a pushed version folder, e.g. {Path(configs.SERVING_DIR, configs.MODEL_NAME)}/<version>"
    if not tf.io.gfile.isdir(model_dir):
        raise ValueError(f"--model-dir {model_dir}: no such folder; {hint}")
    if not tf.io.gfile.exists(os.path.join(model_dir, "saved_model.pb")):
        raise ValueError(f"--model-dir {model_dir}: not a SavedModel (no saved_model.pb in it); {hint}")
    try:
        model = tf.saved_model.load(model_dir)
    except Exception as e:  # noqa: BLE001 - a damaged SavedModel raises many kinds; the user needs the folder
        raise ValueError(f"--model-dir {model_dir}: the SavedModel does not load ({type(e).__name__}); {hint}"
                         ) from None
    if c.SERVING_RAW not in model.signatures:
        raise ValueError(f"--model-dir {model_dir}: no '{c.SERVING_RAW}' signature (has {sorted(model.signatures)}): "
                         "not a model pushed by this pipeline")
    return model


_LOADED: dict[str, Any] = {}


def cached_model(model_dir: str) -> Any:
    """One loaded model per process and folder: a Beam or Spark Python worker loads it once, for every batch."""
    if model_dir not in _LOADED:
        _LOADED[model_dir] = load_model(model_dir)
    return _LOADED[model_dir]


def model_features(model: Any) -> tuple[str, ...]:
    """The tabular inputs the model's serving_raw signature takes, in contract order."""
    taken = set(model.signatures[c.SERVING_RAW].structured_input_signature[1])
    return tuple(k for k in FEATURES if k in taken)


def raw_inputs(objs: Sequence[Any], names: Iterable[str] = (*c.TABULAR_FEATURES, c.IMAGE)) -> dict[str, Any]:
    """Keyword arguments for the serving_raw signature (`names`: the ones it takes; the encoder's is image only).
    `objs`: anything with mags, redshift and image_jpeg (ingest/records.py SkyObject)."""
    import tensorflow as tf

    def value(o: Any, k: str) -> Any:
        return o.image_jpeg if k == c.IMAGE else o.redshift if k == c.REDSHIFT else o.mags[k]

    return {k: tf.constant([value(o, k) for o in objs], None if k == c.IMAGE else tf.float32) for k in names}


def predict_raw_with_ranges(model: Any, objs: Sequence[Any], batch_size: int = 256
                            ) -> tuple[np.ndarray, np.ndarray | None]:
    """(probabilities, per-feature outside-training-range flags [n, features] or None for models without them)."""
    fn = model.signatures[c.SERVING_RAW]
    names = list(fn.structured_input_signature[1])
    has_flags = c.OUTSIDE_TRAINING_RANGE in fn.structured_outputs
    probs, flags = [], []
    for i in range(0, len(objs), batch_size):
        out = fn(**raw_inputs(objs[i:i + batch_size], names))
        probs.append(out[c.PROBABILITIES].numpy())
        if has_flags:
            flags.append(out[c.OUTSIDE_TRAINING_RANGE].numpy())
    if not probs:
        return np.zeros((0, len(c.CLASS_NAMES)), np.float32), None
    return np.concatenate(probs), (np.concatenate(flags) if has_flags else None)


def classify(model: Any, objs: Sequence[Any], batch_size: int = 256) -> list[tuple[np.ndarray, list[str]]]:
    """Per object: its class probabilities and the names of the inputs outside the training data's range."""
    probs, flags = predict_raw_with_ranges(model, objs, batch_size)
    features = model_features(model)
    return [(probs[k], [] if flags is None else [f for f, bad in zip(features, flags[k]) if bad])
            for k in range(len(objs))]
