"""The cost baseline: the pipeline's model trained by a plain tf.keras script, no TFX, Beam or Transform.

    python -m benchmarks.bare_keras --data-dir data/simulated --epochs 15 --out /tmp/bare_model

Same records, same model builder (trainer/model.py), same epochs, early
stopping, class weights and batch size as the Trainer; features are z-scored
with numpy on the train split, as trainer/transform.py does it (a test holds
the two together: the studies that chose the Trainer's defaults train
through this copy). It saves a SavedModel as the Trainer does. It
does not validate data, keep lineage, evaluate per class or gate anything:
that difference is what benchmarks/cost.py prices.
"""

from __future__ import annotations

import argparse

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np
import tensorflow as tf

import contract as c
from ingest import records
from pipeline import configs
from trainer import features as f
from trainer import model as model_lib
from trainer.image_ops import to_pixels
from trainer.model import BATCH_SIZE


def columns(objs: list[records.SkyObject]) -> np.ndarray:
    """The MLP's columns before any scaling, in f.TABULAR_XF order: u g r i z redshift, then the colours.

    (benchmarks/quality.tree_features is another thing: the raw contract features the scikit-learn trees get.)"""
    raw = [[o.mags[b] for b in c.BANDS] + [o.redshift] for o in objs]
    cols = np.array(raw, np.float32)
    colours = [cols[:, c.BANDS.index(a)] - cols[:, c.BANDS.index(b)] for a, b in f.COLOURS]
    return np.column_stack([cols, *colours]).astype(np.float32)


def scaled_inputs(objs: list[records.SkyObject]) -> np.ndarray:
    """What Transform feeds the MLP before z-scoring: columns(), redshift through asinh (trainer/features.py)."""
    x = columns(objs)
    k = c.TABULAR_FEATURES.index(c.REDSHIFT)
    x[:, k] = np.arcsinh(x[:, k] / f.REDSHIFT_SOFTENING)
    return x


def fit_scaling(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform's tft.scale_to_z_score statistics from the train rows: mean and population std (+1e-6, so a
    constant column stays finite). tests/test_transform.py holds this copy to the real Transform."""
    return x_train.mean(axis=0), x_train.std(axis=0) + 1e-6


def class_weights(label_ids) -> dict[int, float]:
    """The Trainer's class weights (same rule, trainer/model.py), from these labels' counts."""
    return model_lib.class_weights_from_counts(np.bincount(np.asarray(label_ids), minlength=len(c.CLASS_NAMES)))


def for_inputs(x: np.ndarray, inputs: str = c.SPECTROSCOPIC) -> np.ndarray:
    """The columns of `columns()`/`scaled_inputs()` that a model of these inputs reads (f.tabular_xf order)."""
    keep = [k for k, name in enumerate(f.TABULAR_XF) if name in f.tabular_xf(inputs)]
    return x[:, keep]


def dataset(objs, mean, std, kind: str, shuffle: bool, seed: int, inputs: str = c.SPECTROSCOPIC) -> tf.data.Dataset:
    """`mean`/`std` are fitted on the train rows of `for_inputs(scaled_inputs(...), inputs)`."""
    x = (for_inputs(scaled_inputs(objs), inputs) - mean) / std
    feats: dict[str, np.ndarray] = {}
    if kind in ("fusion", "tabular"):
        feats.update({name: x[:, k:k + 1] for k, name in enumerate(f.tabular_xf(inputs))})
    if kind in ("fusion", "image"):
        feats[f.IMAGE_XF] = np.array([o.image_jpeg for o in objs], dtype=object)
    labels = np.array([c.CLASS_NAMES.index(o.label) for o in objs], np.int64)
    ds = tf.data.Dataset.from_tensor_slices((feats, labels))
    if shuffle:
        ds = ds.shuffle(len(objs), seed=seed)

    def decode(features, label):
        if f.IMAGE_XF in features:
            features = {**features, f.IMAGE_XF: to_pixels(features[f.IMAGE_XF])}
        return features, label

    return ds.batch(BATCH_SIZE).map(decode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(configs.DATA_DIR))
    p.add_argument("--epochs", type=int, default=configs.EPOCHS)
    p.add_argument("--model", choices=f.MODEL_KINDS, default=configs.MODEL_KIND)
    p.add_argument("--seed", type=int, default=configs.TRAIN_SEED)
    p.add_argument("--out", required=True, help="where to save the SavedModel")
    args = p.parse_args(argv)
    tf.keras.utils.set_random_seed(args.seed)
    train, val = (list(records.read_split(args.data_dir, s)) for s in c.PIPELINE_SPLITS)
    mean, std = fit_scaling(scaled_inputs(train))
    weights = class_weights([c.CLASS_NAMES.index(o.label) for o in train])
    model = model_lib.build(args.model, configs.LEARNING_RATE)
    history = model.fit(
        dataset(train, mean, std, args.model, True, args.seed),
        validation_data=dataset(val, mean, std, args.model, False, args.seed), epochs=args.epochs,
        class_weight=weights, verbose=2,
        callbacks=[tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=configs.PATIENCE,
                                                    restore_best_weights=True)])
    loss, acc = model.evaluate(dataset(val, mean, std, args.model, False, args.seed), verbose=0)[:2]
    model.save(args.out, save_format="tf")
    print(f"bare keras: epochs run {len(history.history['loss'])}, eval accuracy {acc:.4f} (n={len(val)})")


if __name__ == "__main__":
    main()
