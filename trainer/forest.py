"""The forest head: gradient-boosted trees read the photometry, the cutout's measured morphology and the image path's
log-probabilities, inside the served SavedModel.

Trees read five magnitudes and their colours better than the MLP did on real objects (BENCHMARKS.md "Exact pairs":
HistGradientBoosting + morphology beat the fusion MLP), so the photometry goes to a TF-DF GradientBoostedTreesModel
and the network keeps what it is good at, the pixels. The image path is FOLDS models (trainer/crossfit.py): heads on
the frozen encoder's embedding when there is one, CNNs from scratch when not. The forest learns from out-of-fold
image outputs and serves with their mean, so what it learns the image is worth is what it is worth on new objects.

Everything runs in one Keras graph (features -> forest), saved with the same signatures as the MLP head, so the
Evaluator, the Pusher, sdss-predict and the catalogue jobs take it as they are; only the process that loads it must
register TF-DF's ops first (trainer/forest_ops.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from absl import logging

import contract as c
from trainer import crossfit
from trainer import features as f
from trainer import model as model_lib
from trainer.sky_layers import Morphology

keras = tf.keras

# Chosen on the real multimodal eval split (BENCHMARKS.md "Exact pairs, forest head: levers, ..."); early stopping
# on eval picks the number of trees actually kept.
# The trees' hyper-parameters, chosen on eval by benchmarks/forest_levers.py (its variants override them).
HYPER = {"num_trees": 300, "max_depth": 6, "shrinkage": 0.1}
MORPHOLOGY_NAMES = tuple(f"morph_{band}_{m}" for m in ("c2_8", "c4_12", "rms", "peak") for band in "gri")
IMAGE_LOGP_NAMES = tuple(f"image_logp_{name}" for name in c.CLASS_NAMES)
SMALL_TABLE = 20_000  # rows under which the trees grow fastest on one thread (_threads)
LOGP_FLOOR = 1e-6  # log-probabilities below log(1e-6) say nothing more to a tree


@dataclass
class ImagePath:
    """pixels -> trunk (the frozen encoder, or nothing) -> FOLDS heads, each [B, classes] probabilities."""

    trunk: keras.Model | None
    heads: list[keras.Model]
    kind: str  # "encoder heads" or "cnn"
    fitted_rows: list[int] = field(default_factory=list)  # rows each head was fitted on (the train split less a fold)
    histories: list[dict[str, list[float]]] = field(default_factory=list)  # each head's Keras History, per epoch


@dataclass
class Table:
    """The forest's inputs for one split, row by row (names -> [N] float32), the labels and each row's fold."""

    columns: dict[str, np.ndarray]
    labels: np.ndarray
    folds: np.ndarray
    image_probs_in_fold: np.ndarray | None = None  # [N, C]: what the forest would have read without cross-fitting


def _logp(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(probs, LOGP_FLOOR))


def table(ds: tf.data.Dataset, tabular: Sequence[str], image: ImagePath | None, out_of_fold: bool,
          folds: int = crossfit.FOLDS) -> Table:
    """One pass over a split's (features with JPEG bytes, label) batches: the forest's columns for every row.
    `out_of_fold` (the train split): each row's image output from the model fitted without its fold; otherwise
    (eval) the mean over the models, as served."""
    cols: dict[str, list[np.ndarray]] = {n: [] for n in tabular}
    labels, fold_list, image_cols, own = [], [], [], []
    image_fn = _image_columns_fn(image, folds) if image is not None else None
    for features, label in ds:
        for n in tabular:
            cols[n].append(features[n].numpy().reshape(-1))
        labels.append(label.numpy().reshape(-1))
        if image_fn is None:
            continue
        fold, morph, per_model = (t.numpy() for t in image_fn(features[f.IMAGE_XF]))
        probs = crossfit.out_of_fold(per_model, fold) if out_of_fold else crossfit.served(per_model)
        image_cols.append(np.hstack([morph, _logp(probs)]))
        own.append(crossfit.served(per_model))
        fold_list.append(fold)
    columns = {n: np.concatenate(v).astype(np.float32) for n, v in cols.items()}
    folds_arr = np.concatenate(fold_list) if fold_list else np.zeros(0, np.int64)
    if image is not None:
        extra = np.concatenate(image_cols).astype(np.float32)
        columns.update({n: extra[:, k] for k, n in enumerate((*MORPHOLOGY_NAMES, *IMAGE_LOGP_NAMES))})
    return Table(columns, np.concatenate(labels).astype(np.int64), folds_arr,
                 np.concatenate(own) if own else None)


def _image_columns_fn(image: ImagePath, folds: int):
    """JPEG bytes -> (fold, morphology [B, 12], every image model's probabilities [K, B, C]), as one graph."""
    from trainer.image_ops import to_pixels

    morphology = Morphology()

    @tf.function
    def fn(jpeg):
        pixels = to_pixels(jpeg)
        z = pixels if image.trunk is None else image.trunk(pixels, training=False)
        return (crossfit.fold_ids(jpeg, folds), morphology(pixels),
                tf.stack([h(z, training=False) for h in image.heads]))

    return fn


def fit_encoder_heads(encoder: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset, epochs: int,
                      patience: int, weights: dict[int, float], folds: int = crossfit.FOLDS) -> ImagePath:
    """FOLDS softmax heads on the frozen encoder's embedding, head k fitted on the train rows outside fold k (the
    embedding is computed once per split: the encoder is frozen)."""
    from trainer.image_ops import to_pixels

    encoder.trainable = False  # frozen: only the heads are fitted, and the saved model says so

    @tf.function
    def embedding(jpeg):
        return encoder(to_pixels(jpeg), training=False), crossfit.fold_ids(jpeg, folds)

    def embed(ds):
        z, y, fold = [], [], []
        for features, label in ds:
            batch_z, batch_fold = embedding(features[f.IMAGE_XF])
            z.append(batch_z.numpy())
            y.append(label.numpy().reshape(-1))
            fold.append(batch_fold.numpy())
        return np.concatenate(z), np.concatenate(y), np.concatenate(fold)

    z_tr, y_tr, fold_tr = embed(train)
    z_ev, y_ev, _ = embed(val)
    heads, fitted, histories = [], [], []
    for k in range(folds):
        rows = fold_tr != k
        head = keras.Sequential([keras.Input(shape=z_tr.shape[1:]),
                                 keras.layers.Dense(len(c.CLASS_NAMES), activation="softmax")], name=f"image_head_{k}")
        head.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy())
        history = head.fit(z_tr[rows], y_tr[rows], validation_data=(z_ev, y_ev), epochs=epochs,
                           batch_size=model_lib.BATCH_SIZE, class_weight=weights, verbose=0,
                           callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                                    restore_best_weights=True)])
        heads.append(head)
        fitted.append(int(rows.sum()))
        histories.append(history.history)
    return ImagePath(encoder, heads, "encoder heads", fitted, histories)


def fit_cnns(raw_train: tf.data.Dataset, val: tf.data.Dataset, epochs: int, patience: int,
             weights: dict[int, float], learning_rate: float, batch_size: int = model_lib.BATCH_SIZE,
             folds: int = crossfit.FOLDS) -> ImagePath:
    """FOLDS image-only CNNs (trainer/model.py, augmented by the sky's symmetries), CNN k fitted on the train
    split less fold k (`raw_train`: shuffled batches with JPEG bytes)."""
    from trainer.image_ops import decode_images

    heads, fitted, histories = [], [], []
    for k in range(folds):
        rows = crossfit.without_fold(raw_train, k, f.IMAGE_XF, batch_size, folds)
        cnn = model_lib.build("image", learning_rate, name=f"image_cnn_{k}")
        history = cnn.fit(decode_images(rows, f.IMAGE_XF).prefetch(tf.data.AUTOTUNE), validation_data=val,
                          epochs=epochs, class_weight=weights, verbose=2, callbacks=[keras.callbacks.EarlyStopping(
                              monitor="val_loss", patience=patience, restore_best_weights=True)])
        heads.append(cnn)
        fitted.append(int(sum(int(tf.size(y)) for _, y in rows)))
        histories.append(history.history)
    return ImagePath(None, heads, "cnn", fitted, histories)


def fit_forest(train: Table, val: Table, seed: int, **hyper) -> keras.Model:
    """The TF-DF gradient-boosted trees on the train table, early-stopped on the eval table; `hyper` overrides HYPER
    (benchmarks/forest_levers.py, which chose it)."""
    import tensorflow_decision_forests as tfdf

    def dataset(t: Table) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices((t.columns, t.labels)).batch(1024)

    gbt = tfdf.keras.GradientBoostedTreesModel(
        task=tfdf.keras.Task.CLASSIFICATION, **(HYPER | hyper), random_seed=seed, verbose=0, name="forest",
        num_threads=_threads(len(train.labels)))
    gbt.fit(dataset(train), validation_data=dataset(val), verbose=0)
    return gbt


def _threads(rows: int) -> int:
    """One thread below SMALL_TABLE rows: on 709 rows TF-DF's 6 default threads took 28 s, one 7 s (2 cores); a
    large table is worth one per core."""
    return 1 if rows < SMALL_TABLE else max(1, min(6, os.cpu_count() or 1))


def compose(gbt: keras.Model, tabular: Sequence[str], image: ImagePath | None, kind: str) -> keras.Model:
    """The served model: the trainer's transformed inputs -> the forest's columns (as `table` makes them) -> trees."""
    from trainer.image_ops import IMAGE_SHAPE

    model_in = {n: keras.Input(shape=(1,), name=n) for n in tabular}
    columns = {n: model_in[n][:, 0] for n in tabular}
    if image is not None:
        pixels = model_in[f.IMAGE_XF] = keras.Input(shape=IMAGE_SHAPE, name=f.IMAGE_XF)
        z = pixels if image.trunk is None else image.trunk(pixels, training=False)
        outs = [h(z, training=False) for h in image.heads]
        probs = keras.layers.Average(name="image_probabilities")(outs) if len(outs) > 1 else outs[0]
        logp = tf.math.log(tf.maximum(probs, LOGP_FLOOR))
        extra = keras.layers.Concatenate(name="forest_image_columns")([Morphology(name="morphology")(pixels), logp])
        columns.update({n: extra[:, k] for k, n in enumerate((*MORPHOLOGY_NAMES, *IMAGE_LOGP_NAMES))})
    return keras.Model(inputs=model_in, outputs=all_classes(gbt(columns)), name=f"sky_{kind}_forest")


def all_classes(probs: tf.Tensor) -> tf.Tensor:
    """[B, classes seen in training] -> [B, len(c.CLASS_NAMES)]. TF-DF sizes its output from the largest label id it
    was trained on; a class id above it (QSO, in a training set without quasars) gets probability 0 instead of a
    missing column, so every signature still returns one probability per contract class."""
    missing = len(c.CLASS_NAMES) - probs.shape[-1]
    return tf.pad(probs, [[0, 0], [0, missing]]) if missing > 0 else probs


def check_served(model: keras.Model, gbt: keras.Model, val_ds: tf.data.Dataset, val: Table) -> np.ndarray:
    """The composed graph must give the forest's own answer on the eval table (a graph that computed other columns
    than training read would serve another model). Returns the composed graph's eval probabilities, in val's order:
    what the temperature is fitted on."""
    from trainer.image_ops import to_pixels

    @tf.function
    def serve(features):
        feats = dict(features)
        if f.IMAGE_XF in model.input_names:
            feats[f.IMAGE_XF] = to_pixels(feats[f.IMAGE_XF])
        return model(model_lib.model_inputs(model, feats), training=False)

    served, k = [], 0
    for features, _ in val_ds:
        served.append(serve(features).numpy())
        k += len(served[-1])
    direct = all_classes(tf.constant(gbt.predict(tf.data.Dataset.from_tensor_slices(val.columns).batch(1024),
                                                 verbose=0))).numpy()
    probs = np.concatenate(served) if k else np.zeros((0, len(c.CLASS_NAMES)), np.float32)
    gap = float(np.abs(probs - direct).max()) if k else 0.0
    if gap > 1e-4:
        raise RuntimeError(f"the served forest head differs from the trained one by {gap:.2e} on eval")
    return probs


def write_history(gbt: keras.Model, image: ImagePath | None, path: str) -> None:
    """The report's training curves (c.HISTORY_FILE): per epoch, the image models' loss and accuracy (the mean over
    the folds still training at that epoch), as a network's history is; a forest without an image path writes its
    eval loss and accuracy per number of trees instead. `forest_history.csv` beside it always holds the latter."""
    logs = gbt.make_inspector().training_logs()
    trees = "trees,val_loss,val_accuracy\n" + "".join(
        f"{log.num_trees},{log.evaluation.loss},{log.evaluation.accuracy}\n" for log in logs)
    with tf.io.gfile.GFile(os.path.join(os.path.dirname(path), "forest_history.csv"), "w") as fh:
        fh.write(trees)
    with tf.io.gfile.GFile(path, "w") as fh:
        if image is None or not image.histories:
            fh.write(trees)
            return
        keys = sorted(image.histories[0])
        fh.write(",".join(["epoch", *keys]) + "\n")
        for epoch in range(max(len(h[keys[0]]) for h in image.histories)):
            ran = [h for h in image.histories if len(h[keys[0]]) > epoch]
            fh.write(",".join([str(epoch), *(str(float(np.mean([h[k][epoch] for h in ran]))) for k in keys)]) + "\n")


def summary(gbt: keras.Model, image: ImagePath | None, train: Table, val: Table) -> dict:
    """What model_info.json says of the head: its size, its inputs, and how the image outputs were cross-fitted."""
    inspector = gbt.make_inspector()
    importance = inspector.variable_importances().get("NUM_AS_ROOT", [])
    out = {"head": "forest", "library": "tensorflow_decision_forests GradientBoostedTreesModel",
           "num_trees": int(inspector.num_trees()), "hyper": HYPER,
           "columns": list(train.columns), "train_rows": int(len(train.labels)), "eval_rows": int(len(val.labels)),
           "root_splits": {str(v[0].name): float(v[1]) for v in importance[:10]}}
    if image is not None:
        oof = train.columns
        logp = np.stack([oof[n] for n in IMAGE_LOGP_NAMES], 1)
        own = _logp(train.image_probs_in_fold)
        out["image_path"] = {
            "kind": image.kind, "folds": len(image.heads), "rows_per_fold": np.bincount(
                train.folds, minlength=len(image.heads)).tolist(), "fitted_rows": image.fitted_rows,
            # Out-of-fold accuracy of the image path on train, against what the forest would have read in-fold and
            # against eval: a leak shows as in-fold accuracy far above out-of-fold.
            "train_accuracy_out_of_fold": float((logp.argmax(1) == train.labels).mean()),
            "train_accuracy_in_fold_mean": float((own.argmax(1) == train.labels).mean()),
            "eval_accuracy": float((np.stack([val.columns[n] for n in IMAGE_LOGP_NAMES], 1).argmax(1)
                                    == val.labels).mean())}
    logging.info("forest head %s", out)
    return out
