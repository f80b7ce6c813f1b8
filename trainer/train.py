"""Trainer run_fn: input pipelines, class weights, fit with early stopping, save with signatures."""

from __future__ import annotations

import json
import math
import os
import time
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
from trainer.image_ops import decode_images
from trainer.model import BATCH_SIZE

# The pipeline passes these in custom_config (from the settled RunConfig, defaults in pipeline/configs.py); none has
# a second default here.
REQUIRED_CONFIG = ("model_kind", "inputs", "epochs", "patience", "learning_rate", "seed", "head")


def input_fn(file_pattern: list[str], data_accessor: tfx.components.DataAccessor,
             tf_transform_output: tft.TFTransformOutput, keep: Sequence[str], batch_size: int = BATCH_SIZE,
             shuffle: bool = False, seed: int = 0, decode: bool = True) -> tf.data.Dataset:
    """One pass over transformed examples as (the `keep` features, label), images decoded in parallel unless
    `decode` is off (the forest head keys its folds on the JPEG bytes, then decodes with `decode_images`)."""
    ds = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=f.LABEL_XF, num_epochs=1,
                                       shuffle=shuffle, shuffle_seed=seed),
        tf_transform_output.transformed_metadata.schema)

    ds = ds.map(lambda features, label: ({k: features[k] for k in keep}, label))
    return (decode_images(ds, f.IMAGE_XF) if decode else ds).prefetch(tf.data.AUTOTUNE)


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
    weights = class_weights(tft_out)
    logging.info("class weights %s", weights)
    os.makedirs(fn_args.model_run_dir, exist_ok=True)
    head = cfg["head"]
    if head == f.HEAD_FOREST:
        model, calib, head_info = _fit_forest_head(fn_args, tft_out, cfg, encoder, weights,
                                                   inputs or c.SPECTROSCOPIC)
    else:
        model, val = _fit_mlp_head(fn_args, tft_out, cfg, encoder, weights, inputs or c.SPECTROSCOPIC)
        calib, head_info = fit_calibration(model, val), {"head": f.HEAD_MLP}
    logging.info("calibration %s", calib)
    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures=signatures.make(model, tft_out, inputs or c.SPECTROSCOPIC, calib["temperature"]))
    write_model_info(fn_args.serving_model_dir, {
        "model_kind": cfg["model_kind"], "inputs": inputs,
        "tabular_inputs": list(c.INPUTS[inputs]) if inputs else [],
        "serving_raw_inputs": list(signatures.serving_feature_spec(tft_out, inputs or c.SPECTROSCOPIC)),
        "class_names": list(c.CLASS_NAMES), "temperature": calib["temperature"], "calibration": calib,
        "head": head_info})


def _fit_mlp_head(fn_args: tfx.components.FnArgs, tft_out: tft.TFTransformOutput, cfg: dict,
                  encoder: tf.keras.Model | None, weights: dict[int, float], inputs: str
                  ) -> tuple[tf.keras.Model, tf.data.Dataset]:
    """The network end to end: the image branch (or the frozen encoder) and the MLP, fused before the softmax."""
    model = model_lib.build(cfg["model_kind"], float(cfg["learning_rate"]), encoder=encoder,
                            encoder_trainable=bool(cfg.get("encoder_trainable")), inputs=inputs)
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tft_out, model.input_names,
                     shuffle=True, seed=int(cfg["seed"]))
    val = input_fn(fn_args.eval_files, fn_args.data_accessor, tft_out, model.input_names)
    callbacks = [
        tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(cfg["patience"]), restore_best_weights=True),
        tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch"),
        tf.keras.callbacks.CSVLogger(os.path.join(fn_args.model_run_dir, c.HISTORY_FILE)),
    ]
    model.fit(train, validation_data=val, epochs=int(cfg["epochs"]), class_weight=weights,
              callbacks=callbacks, verbose=2)
    if not math.isfinite(model.evaluate(val, verbose=0)[0]):
        raise RuntimeError("validation loss is not finite; refusing to save the model")
    return model, val


def _fit_forest_head(fn_args: tfx.components.FnArgs, tft_out: tft.TFTransformOutput, cfg: dict,
                     encoder: tf.keras.Model | None, weights: dict[int, float], inputs: str
                     ) -> tuple[tf.keras.Model, dict, dict]:
    """The image path cross-fitted (trainer/crossfit.py), then the trees on its out-of-fold outputs, the
    photometry and the morphology (trainer/forest.py), composed into one graph. Returns the model, its calibration
    (fitted on the composed graph's eval probabilities) and what model_info says of the head."""
    from trainer import forest

    kind, seed, epochs, patience = cfg["model_kind"], int(cfg["seed"]), int(cfg["epochs"]), int(cfg["patience"])
    tabular = list(f.tabular_xf(inputs))
    keep = [*tabular, f.IMAGE_XF] if kind == "fusion" else tabular

    def raw(files, shuffle=False, names=keep):
        return input_fn(files, fn_args.data_accessor, tft_out, names, shuffle=shuffle, seed=seed, decode=False)

    clock = time.monotonic()

    def done(step: str) -> None:  # where a forest head's training time goes, in the Trainer's log
        nonlocal clock
        logging.info("forest head: %s in %.1fs", step, time.monotonic() - clock)
        clock = time.monotonic()

    image = None
    if kind == "fusion":
        if encoder is not None:
            image = forest.fit_encoder_heads(encoder, raw(fn_args.train_files, names=[f.IMAGE_XF]),
                                             raw(fn_args.eval_files, names=[f.IMAGE_XF]), epochs, patience, weights)
        else:
            image_val = input_fn(fn_args.eval_files, fn_args.data_accessor, tft_out, [f.IMAGE_XF])
            image = forest.fit_cnns(raw(fn_args.train_files, shuffle=True, names=[f.IMAGE_XF]), image_val, epochs,
                                    patience, weights, float(cfg["learning_rate"]))
        done(f"image path ({image.kind}, {len(image.heads)} folds)")
    train_table = forest.table(raw(fn_args.train_files), tabular, image, out_of_fold=True)
    val_table = forest.table(raw(fn_args.eval_files), tabular, image, out_of_fold=False)
    done("the forest's columns")
    gbt = forest.fit_forest(train_table, val_table, seed)
    done("trees")
    model = forest.compose(gbt, tabular, image, kind)
    served = forest.check_served(model, gbt, raw(fn_args.eval_files), val_table)
    forest.write_history(gbt, image, os.path.join(fn_args.model_run_dir, c.HISTORY_FILE))
    done("composed and checked")
    calib = calibration.choose(served, val_table.labels)
    return model, calib, forest.summary(gbt, image, train_table, val_table)


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
