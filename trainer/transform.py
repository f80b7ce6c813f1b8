"""Transform's preprocessing_fn: scaled photometry (redshift through asinh), colours, the image, a fixed label map,
brightness and redshift bins for the Evaluator's slices, and per-feature outside-training-range flags."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

import contract as c
from trainer import features as f
from trainer.image_ops import IMAGE_SHAPE, to_pixels


def label_ids(labels: tf.Tensor) -> tf.Tensor:
    """GALAXY=0, STAR=1, QSO=2 by position in the contract, never by frequency; unknown -> -1 (fails loudly)."""
    names = tf.constant(c.CLASS_NAMES)
    match = tf.equal(tf.reshape(labels, [-1, 1]), tf.reshape(names, [1, -1]))
    ids = tf.argmax(tf.cast(match, tf.int32), axis=1)
    return tf.where(tf.reduce_any(match, axis=1), ids, tf.constant(-1, tf.int64))


def _dense(value: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
    """[batch] floats; an optional feature (a photometric schema's redshift) arrives sparse, NaN where absent."""
    if isinstance(value, tf.SparseTensor):
        value = tft.sparse_tensor_to_dense_with_shape(value, [None, 1], default_value=float("nan"))
    return tf.reshape(value, [-1])


def _bin(value: tf.Tensor, feature: str, edges: tuple[float, ...]) -> tf.Tensor:
    ids = tf.searchsorted(tf.constant(edges, tf.float32), value, side="right")
    labels = tf.gather(tf.constant(f.bin_labels(feature, edges)), ids)
    return tf.where(tf.math.is_nan(value), tf.constant(f.NO_REDSHIFT_BIN), labels)


def preprocessing_fn(inputs: dict[str, tf.Tensor], custom_config: dict[str, Any] | None = None) -> dict[str, tf.Tensor]:
    """custom_config: `inputs` (c.INPUTS: spectroscopic by default, or photometric) and `decode_images`."""
    cfg = custom_config or {}
    tabular = c.INPUTS[cfg.get("inputs", c.SPECTROSCOPIC)]
    out = {}
    # Image-only records (labelled cutouts, schema/image_schema.pbtxt) have no photometry to scale.
    if all(key in inputs for key in c.BANDS):
        for key in tabular:
            value = tf.math.asinh(inputs[key] / f.REDSHIFT_SOFTENING) if key == c.REDSHIFT else inputs[key]
            out[f.xf(key)] = tft.scale_to_z_score(value)
        for a, b in f.COLOURS:
            out[f.xf(f.colour_name(a, b))] = tft.scale_to_z_score(inputs[a] - inputs[b])
        # Slices for the Evaluator; a photometric model is still sliced by redshift where the records have one.
        for name, (key, edges) in f.BINS.items():
            if key in inputs:
                out[name] = _bin(_dense(inputs[key]), key, edges)
        outside = [(inputs[key] < tft.min(inputs[key])) | (inputs[key] > tft.max(inputs[key])) for key in tabular]
        out[f.RANGE_FLAGS_XF] = tf.cast(tf.concat([tf.reshape(o, [-1, 1]) for o in outside], axis=1), tf.int64)
    image = tf.reshape(inputs[c.IMAGE], [-1])
    # Decoding here materializes 48 KB of float32 per example; by default the JPEG passes through and the
    # trainer's input pipeline decodes it (see BENCHMARKS.md, "where to decode images").
    if cfg.get("decode_images"):
        out[f.IMAGE_XF] = tf.reshape(to_pixels(image), [-1, int(np.prod(IMAGE_SHAPE))])
    else:
        out[f.IMAGE_XF] = image
    label = tf.reshape(inputs[c.LABEL], [-1])
    out[f.LABEL_XF] = label_ids(label)
    # Per-class counts for class weights, as a byproduct of the analysis pass (no extra read of the data).
    tft.vocabulary(label, vocab_filename=f.CLASS_COUNTS_VOCAB, store_frequency=True)
    return out
