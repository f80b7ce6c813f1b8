"""Serving signatures: tf.Example in, raw features in (for REST clients), and transform_features for TFMA."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

import contract as c
from trainer import features as f
from trainer.image_ops import to_pixels
from trainer.model import model_inputs


def _predict(model: tf.keras.Model, transformed: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    feats = dict(transformed)
    if f.IMAGE_XF in model.input_names:
        feats[f.IMAGE_XF] = to_pixels(feats[f.IMAGE_XF])
    # training=False explicitly: tf_keras's RandomFlip defaults to training=True when no phase is set, so a bare
    # call would flip served images at random.
    probs = model(model_inputs(model, feats), training=False)
    # Temperature scaling (trainer/calibration.py), 1.0 when the Trainer did not keep it: argmax is unchanged.
    probs = tf.nn.softmax(tf.math.log(tf.maximum(probs, 1e-12)) / model.temperature, axis=1)
    class_id = tf.argmax(probs, axis=1)
    out = {
        c.PROBABILITIES: probs,
        c.CLASS_ID: class_id,
        c.CLASS_NAME: tf.gather(tf.constant(c.CLASS_NAMES), class_id),
    }
    if f.RANGE_FLAGS_XF in transformed:  # absent for image-only models
        out[f.RANGE_FLAGS_XF] = transformed[f.RANGE_FLAGS_XF]
    return out


def serving_feature_spec(tf_transform_output: tft.TFTransformOutput, inputs: str = c.SPECTROSCOPIC
                         ) -> dict[str, tf.io.FixedLenFeature]:
    """What a serving tf.Example must carry: the model's tabular inputs (no redshift for a photometric model) and
    the image; no label, no ids."""
    spec = tf_transform_output.raw_feature_spec()
    return {k: spec[k] for k in (*c.INPUTS[inputs], c.IMAGE) if k in spec}


def make(model: tf.keras.Model, tf_transform_output: tft.TFTransformOutput, inputs: str = c.SPECTROSCOPIC,
         temperature: float = 1.0) -> dict[str, Any]:
    """serving_default (tf.Example), serving_raw (named raw features) and transform_features, as concrete functions.

    The photometric model's serving signatures take no redshift: the Transform graph computes nothing from it
    for them, and the features it is not fed are only those it does not need."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    model.temperature = tf.Variable(float(temperature), trainable=False, name="temperature")
    serving_spec = serving_feature_spec(tf_transform_output, inputs)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        raw = tf.io.parse_example(serialized, serving_spec)
        return _predict(model, model.tft_layer(raw))

    raw_names = list(serving_spec)  # image-only models (encoder) take the image alone
    raw_inputs = [tf.TensorSpec([None], tf.string if k == c.IMAGE else tf.float32, name=k) for k in raw_names]

    @tf.function(input_signature=raw_inputs)
    def serve_raw(*args):
        raw = {k: tf.reshape(v, [-1, 1]) for k, v in zip(raw_names, args)}
        return _predict(model, model.tft_layer(raw))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(serialized):
        raw = tf.io.parse_example(serialized, tf_transform_output.raw_feature_spec())
        return model.tft_layer(raw)

    return {
        c.SERVING_DEFAULT: serve_examples.get_concrete_function(),
        c.SERVING_RAW: serve_raw.get_concrete_function(),
        c.TRANSFORM_FEATURES: transform_features.get_concrete_function(),
    }
