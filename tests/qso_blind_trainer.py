"""A deliberately QSO-blind Trainer for the gate test: the real run_fn, with QSO labels folded into GALAXY.

The model never learns that quasars exist. On data that is ~8% QSO its
overall accuracy stays close to a good model's, so only a per-class gate
can tell that it must not be blessed.
"""

import tensorflow as tf

import contract as c
from trainer import train

QSO, GALAXY = c.CLASS_NAMES.index("QSO"), c.CLASS_NAMES.index("GALAXY")


def run_fn(fn_args) -> None:
    real_input_fn = train.input_fn

    def folded(*args, **kwargs):
        return real_input_fn(*args, **kwargs).map(
            lambda x, y: (x, tf.where(tf.equal(y, QSO), tf.cast(GALAXY, y.dtype), y)))

    train.input_fn = folded
    try:
        train.run_fn(fn_args)
    finally:
        train.input_fn = real_input_fn
