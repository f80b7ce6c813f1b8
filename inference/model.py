"""A pushed model, loaded for classifying rows: refused with a reason when it is not one of ours."""

from __future__ import annotations

from pathlib import Path

import contract as c
from inference.rows import FEATURES, Row
from pipeline import configs


def load_model(model_dir: str) -> object:
    """The SavedModel with a raw-feature signature; ValueError naming the folder and what is wrong otherwise."""
    import tensorflow as tf

    hint = f"give a pushed version folder, e.g. {Path(configs.SERVING_DIR, configs.MODEL_NAME)}/<version>"
    if not Path(model_dir).is_dir():
        raise ValueError(f"--model-dir {model_dir}: no such folder; {hint}")
    if not Path(model_dir, "saved_model.pb").is_file():
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


def model_features(model: object) -> tuple[str, ...]:
    """The tabular inputs the model's serving_raw signature takes, in contract order."""
    taken = set(model.signatures[c.SERVING_RAW].structured_input_signature[1])
    return tuple(k for k in FEATURES if k in taken)


def predict(model: object, rows: list[Row]) -> tuple[dict[int, list[float]], dict[int, list[str]]]:
    """Row index -> class probabilities, and row index -> features outside the training ranges (rows without error)."""
    from evaluation.predictions import predict_raw_with_ranges
    from ingest.records import SkyObject

    good = [k for k, r in enumerate(rows) if not r.error]
    objs = [SkyObject(rows[k].key, 0.0, 0.0, rows[k].mags, rows[k].redshift, rows[k].image_jpeg, "")
            for k in good]
    probs, flags = predict_raw_with_ranges(model, objs) if objs else ([], None)
    features = model_features(model)
    outside = {k: [name for name, bad in zip(features, f) if bad] for k, f in zip(good, flags)
               } if flags is not None else {}
    return {k: list(map(float, p)) for k, p in zip(good, probs)}, outside
