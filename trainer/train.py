"""Trainer run_fn: input pipelines, class weights, fit with early stopping, save with signatures."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

import contract as c
from trainer import calibration, signatures
from trainer import features as f
from trainer import model as model_lib
from trainer.image_ops import to_pixels
from trainer.model import BATCH_SIZE

# The pipeline passes these in custom_config (from the settled RunConfig, defaults in pipeline/configs.py); none has
# a second default here.
REQUIRED_CONFIG = ("model_kind", "inputs", "epochs", "patience", "learning_rate", "seed")


def input_fn(file_pattern: list[str], data_accessor: tfx.components.DataAccessor,
             tf_transform_output: tft.TFTransformOutput, keep: Sequence[str], batch_size: int = BATCH_SIZE,
             shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """One pass over transformed examples as (the `keep` features, label), images decoded in parallel."""
    ds = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=f.LABEL_XF, num_epochs=1,
                                       shuffle=shuffle, shuffle_seed=seed),
        tf_transform_output.transformed_metadata.schema)

    def decode(features, label):
        features = {k: features[k] for k in keep}
        if f.IMAGE_XF in features:
            features[f.IMAGE_XF] = to_pixels(features[f.IMAGE_XF])
        return features, label

    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def class_weights(tf_transform_output: tft.TFTransformOutput) -> dict[int, float]:
    """The model's class weights (model_lib.class_weights_from_counts) from the label counts Transform computed."""
    path = tf_transform_output.vocabulary_file_by_name(f.CLASS_COUNTS_VOCAB)
    counts = {name: 0 for name in c.CLASS_NAMES}
    with tf.io.gfile.GFile(path) as fh:
        for line in fh:
            n, name = line.rstrip("\n").split(" ", 1)
            counts[name] = int(n)
    return model_lib.class_weights_from_counts([counts[name] for name in c.CLASS_NAMES])


def _saved_model_dir(path: str) -> str:
    """Trainer hands base_model as <uri>/Format-Serving; an Importer of a pushed version has no such folder."""
    for candidate in (path, os.path.dirname(path)):
        if tf.io.gfile.exists(os.path.join(candidate, "saved_model.pb")):
            return candidate
    raise FileNotFoundError(f"no SavedModel at {path} or its parent (the image encoder given to the Trainer)")


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    cfg = fn_args.custom_config or {}
    missing = [k for k in REQUIRED_CONFIG if k not in cfg]
    if missing:
        raise ValueError(f"Trainer custom_config lacks {missing}; pipeline/pipeline.py passes them from the settled "
                         "RunConfig in PipelineParams")
    tf.keras.utils.set_random_seed(int(cfg["seed"]))
    tft_out = tft.TFTransformOutput(fn_args.transform_output)
    encoder = None
    if fn_args.base_model and cfg["model_kind"] != "tabular":
        encoder = model_lib.load_encoder(_saved_model_dir(fn_args.base_model))
        logging.info("image branch from the encoder at %s (trainable=%s)", fn_args.base_model,
                     bool(cfg.get("encoder_trainable")))
    inputs = cfg["inputs"] if cfg["model_kind"] != "image" else None
    model = model_lib.build(cfg["model_kind"], float(cfg["learning_rate"]), encoder=encoder,
                            encoder_trainable=bool(cfg.get("encoder_trainable")), inputs=inputs or c.SPECTROSCOPIC)
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tft_out, model.input_names,
                     shuffle=True, seed=int(cfg["seed"]))
    val = input_fn(fn_args.eval_files, fn_args.data_accessor, tft_out, model.input_names)
    weights = class_weights(tft_out)
    logging.info("class weights %s", weights)
    callbacks = [
        tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(cfg["patience"]), restore_best_weights=True),
        tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch"),
        tf.keras.callbacks.CSVLogger(os.path.join(fn_args.model_run_dir, c.HISTORY_FILE)),
    ]
    os.makedirs(fn_args.model_run_dir, exist_ok=True)
    model.fit(train, validation_data=val, epochs=int(cfg["epochs"]), class_weight=weights,
              callbacks=callbacks, verbose=2)
    if not math.isfinite(model.evaluate(val, verbose=0)[0]):
        raise RuntimeError("validation loss is not finite; refusing to save the model")
    calib = fit_calibration(model, val)
    logging.info("calibration %s", calib)
    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures=signatures.make(model, tft_out, inputs or c.SPECTROSCOPIC, calib["temperature"]))
    write_model_info(fn_args.serving_model_dir, {
        "model_kind": cfg["model_kind"], "inputs": inputs,
        "tabular_inputs": list(c.INPUTS[inputs]) if inputs else [],
        "serving_raw_inputs": list(signatures.serving_feature_spec(tft_out, inputs or c.SPECTROSCOPIC)),
        "class_names": list(c.CLASS_NAMES), "temperature": calib["temperature"], "calibration": calib})


def fit_calibration(model: tf.keras.Model, val: tf.data.Dataset) -> dict:
    """Temperature scaling fitted on the eval split, kept only where it lowers held-out ECE (trainer/calibration)."""
    probs, labels = [], []
    for features, label in val:
        probs.append(model(features, training=False).numpy())
        labels.append(label.numpy().reshape(-1))
    return calibration.choose(np.concatenate(probs), np.concatenate(labels))


def write_model_info(serving_model_dir: str, info: dict) -> None:
    """c.MODEL_INFO_FILE beside the SavedModel: the Pusher copies it into every served version."""
    path = os.path.join(serving_model_dir, c.MODEL_INFO_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as fh:
        json.dump(info, fh, indent=1)
