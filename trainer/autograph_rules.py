"""Keeps AutoGraph from re-transpiling the tf_keras library on every trace.

AutoGraph skips the packages on its DoNotConvert list, which names `keras`
but not `tf_keras`, the legacy Keras that TF_USE_LEGACY_KERAS=1 selects. So
every tf.function trace (Keras' train and predict steps, the serving
signatures) converted the tf_keras library from source, most of the first
training step's time (BENCHMARKS.md, "Cost history 1" against "Cost"). tf_keras
is graph-ready code, exactly like `keras`.
TensorFlow exposes no public hook for this list, hence the private import;
a TF upgrade that moves it fails loudly here rather than slowing down silently.
"""

from __future__ import annotations

from tensorflow.python.autograph.core import config, config_lib

PACKAGE = "tf_keras"


def skip_tf_keras() -> None:
    rule = config_lib.DoNotConvert(PACKAGE)
    if not any(isinstance(r, config_lib.DoNotConvert) and r.matches(PACKAGE) for r in config.CONVERSION_RULES):
        config.CONVERSION_RULES = (rule, *config.CONVERSION_RULES)
