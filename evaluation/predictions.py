"""Running a pushed or candidate SavedModel over records, the way a serving client would.

The report's misclassified sheet, `sdss-predict` and the serving and
quality benchmarks all predict through the model's own signatures, so what
they show is what TF Serving would answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import contract as c
from ingest.records import SkyObject, from_example
from trainer.features import RANGE_FLAGS_XF as RANGE_FLAGS


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


def latest_version(model_base: str) -> str:
    """The highest numeric version under <serving_dir>/<model_name>/, as TF Serving would pick it."""
    versions = [d.rstrip("/") for d in tf.io.gfile.glob(os.path.join(model_base, "*"))
                if os.path.basename(d.rstrip("/")).isdigit()]
    if not versions:
        raise FileNotFoundError(f"no pushed model versions under {model_base}; run the pipeline first")
    return max(versions, key=lambda d: int(os.path.basename(d)))


def read_examples(pattern: str) -> list[bytes]:
    """Serialized tf.Examples from gzip TFRecords (ImportExampleGen's Split-<name> folders or ingest's)."""
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no records match {pattern}")
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def raw_inputs(objs: Sequence[SkyObject], names: Iterable[str] = (*c.TABULAR_FEATURES, c.IMAGE)
               ) -> dict[str, tf.Tensor]:
    """Keyword arguments for the serving_raw signature (`names`: the ones it takes; the encoder's is image only)."""
    def value(o: SkyObject, k: str):
        return o.image_jpeg if k == c.IMAGE else o.redshift if k == c.REDSHIFT else o.mags[k]

    return {k: tf.constant([value(o, k) for o in objs], None if k == c.IMAGE else tf.float32) for k in names}


def predict_raw_with_ranges(model, objs: Sequence[SkyObject], batch_size: int = 256
                            ) -> tuple[np.ndarray, np.ndarray | None]:
    """(probabilities, per-feature outside-training-range flags [n, 6] or None for models without them)."""
    fn = model.signatures[c.SERVING_RAW]
    names = list(fn.structured_input_signature[1])
    has_flags = RANGE_FLAGS in fn.structured_outputs
    probs, flags = [], []
    for i in range(0, len(objs), batch_size):
        out = fn(**raw_inputs(objs[i:i + batch_size], names))
        probs.append(out[c.PROBABILITIES].numpy())
        if has_flags:
            flags.append(out[RANGE_FLAGS].numpy())
    if not probs:
        return np.zeros((0, len(c.CLASS_NAMES)), np.float32), None
    return np.concatenate(probs), (np.concatenate(flags) if has_flags else None)


def predict_examples(model, serialized: Sequence[bytes], batch_size: int = 256) -> np.ndarray:
    """Class probabilities through serving_default (tf.Example in)."""
    fn = model.signatures[c.SERVING_DEFAULT]
    out = [fn(examples=tf.constant(list(serialized[i:i + batch_size])))[c.PROBABILITIES].numpy()
           for i in range(0, len(serialized), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, len(c.CLASS_NAMES)), np.float32)


def predict_records(model_dir: str, pattern: str) -> Predictions:
    serialized = read_examples(pattern)
    model = tf.saved_model.load(model_dir)
    return Predictions([from_example(s) for s in serialized], predict_examples(model, serialized))
