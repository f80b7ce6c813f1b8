"""Running a pushed or candidate SavedModel over records, the way a serving client would.

The report's misclassified sheet and the quality benchmarks predict through the model's own serving_default
signature, so what they show is what TF Serving would answer (inference/model.py calls serving_raw).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import contract as c
from ingest.records import SkyObject, from_example


@dataclass
class Predictions:
    objects: list[SkyObject]
    probabilities: np.ndarray  # [n, n_classes], contract class order

    @property
    def predicted(self) -> list[str]:
        return [c.CLASS_NAMES[i] for i in self.probabilities.argmax(axis=1)]

    @property
    def actual(self) -> list[str]:
        return [o.label for o in self.objects]


def read_examples(pattern: str) -> list[bytes]:
    """Serialized tf.Examples from gzip TFRecords (ImportExampleGen's Split-<name> folders or ingest's)."""
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no records match {pattern}")
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def predict_examples(model, serialized: Sequence[bytes], batch_size: int = 256) -> np.ndarray:
    """Class probabilities through serving_default (tf.Example in)."""
    fn = model.signatures[c.SERVING_DEFAULT]
    out = [fn(examples=tf.constant(list(serialized[i:i + batch_size])))[c.PROBABILITIES].numpy()
           for i in range(0, len(serialized), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, len(c.CLASS_NAMES)), np.float32)


def predict_records(model_dir: str, pattern: str) -> Predictions:
    from trainer import forest_ops

    forest_ops.register()
    serialized = read_examples(pattern)
    model = tf.saved_model.load(model_dir)
    return Predictions([from_example(s) for s in serialized], predict_examples(model, serialized))
