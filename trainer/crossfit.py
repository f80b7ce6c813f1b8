"""Cross-fitting: the forest head learns from image outputs that no model fitted on that row made.

A network's outputs on its own training rows are overconfident: a forest that learnt from them would trust the
image more than it deserves on new objects. So the train split is cut into FOLDS folds; image model k is fitted on
every fold but k, and the forest reads, for each train row, the output of the one model that never saw it. Eval
rows and served objects get the mean of the FOLDS models, which none of them was fitted on.

A row's fold is a hash of its JPEG bytes: the same in every pass and every shuffle, with no row index to carry, and
one image (the same cutout listed twice) lands in one fold.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

FOLDS = 2  # each image model fits half the train split: together, the cost of one fit on all of it


def fold_ids(images: tf.Tensor, folds: int = FOLDS) -> tf.Tensor:
    """[B] int64: the fold of each example from its JPEG bytes ([B] or [B, 1] strings)."""
    if images.dtype != tf.string:
        raise ValueError("cross-fitting keys folds on the JPEG bytes: decode images in the Trainer, not in Transform")
    return tf.strings.to_hash_bucket_fast(tf.reshape(images, [-1]), folds)


def without_fold(ds: tf.data.Dataset, fold: int, image_key: str, batch_size: int, folds: int = FOLDS
                 ) -> tf.data.Dataset:
    """The batched (features, label) dataset less every row of `fold`: what image model `fold` is fitted on."""
    def keep(features, _label):
        return fold_ids(features[image_key], folds)[0] != fold

    return ds.unbatch().filter(keep).batch(batch_size)


def out_of_fold(per_model: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """per_model [K, N, C]: model k's output on every row; fold [N]. Each row's output from the model fitted
    without its fold, [N, C]."""
    fold = np.asarray(fold, np.int64)
    return np.asarray(per_model)[fold, np.arange(len(fold))]


def served(per_model: np.ndarray) -> np.ndarray:
    """What eval rows and served objects get: the mean over the K models, [N, C] (the graph does the same)."""
    return np.asarray(per_model).mean(axis=0)
