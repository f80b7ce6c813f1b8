"""The Keras functional model: an image CNN and a tabular MLP, fused before the softmax.

`kind` keeps only one branch, so the unimodal baselines are the same code
with a branch switched off, not a separate implementation. The image branch
ends in a layer named `image_embedding`: an image-only model trained on real
cutouts is the encoder that a fusion model can start from (`encoder=`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

import contract as c
from trainer import features as f
from trainer.autograph_rules import skip_tf_keras
from trainer.image_ops import IMAGE_SHAPE
from trainer.sky_layers import Morphology, SkyAugment

keras = tf.keras
BATCH_SIZE = 64  # training batch; shared with benchmarks/bare_keras.py, which must not import TFX


EMBEDDING_LAYER = "image_embedding"
TABULAR_UNITS = (64, 32)
MORPHOLOGY_LAYER = "morphology"
AUGMENTATIONS = ("sky", "flips")


def _augment(augment: str) -> keras.layers.Layer:
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {augment!r}")
    if augment == "flips":
        return keras.layers.RandomFlip("horizontal_and_vertical", name="image_flips")
    return SkyAugment(name="sky_augment")


def class_weights_from_counts(counts: Sequence[int]) -> dict[int, float]:
    """sqrt(n / (k * n_c)) per class id: halfway, on a log scale, between no weights and balanced ones.

    Balanced weights (6.7 for quasars at 5% of the data, against 1) make the model call an object a quasar once the
    odds are 1 to 7 against. On the eval splits they cost QSO precision for no QSO recall; no weights cost recall,
    the 2021 study's weak spot (BENCHMARKS.md "Class weights, chosen on the eval splits").
    """
    total, k = sum(counts), len(counts)
    return {i: math.sqrt(total / (k * max(n, 1))) for i, n in enumerate(counts)}


def _image_branch(image: tf.Tensor) -> tf.Tensor:
    x = image
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    # Flatten, not global pooling: the object is always at the centre, and where light sits (a compact core,
    # a neighbour at the edge) is the signal. It beat global pooling on real cutouts in a one-seed probe, for a
    # Dense layer that costs ~1% of the convolutions' FLOPs; BENCHMARKS.md "Real cutouts" has this model's numbers.
    x = keras.layers.Flatten()(x)
    return keras.layers.Dense(32, activation="relu", name=EMBEDDING_LAYER)(x)


def load_encoder(saved_model_dir: str) -> keras.Model:
    """image pixels -> embedding, taken from an image-only model saved by this trainer."""
    trained = keras.models.load_model(saved_model_dir, compile=False)
    if f.IMAGE_XF not in trained.input_names:
        raise ValueError(f"{saved_model_dir} is not an image model: its inputs are {trained.input_names}")
    image_in = trained.input[f.IMAGE_XF] if isinstance(trained.input, dict) else trained.input
    return keras.Model(image_in, trained.get_layer(EMBEDDING_LAYER).output, name="image_encoder")


def _tabular_branch(columns: list[tf.Tensor], units: tuple[int, ...]) -> tf.Tensor:
    x = keras.layers.Concatenate()(columns) if len(columns) > 1 else columns[0]
    for n in units:
        x = keras.layers.Dense(n, activation="relu")(x)
    return x


def _morphology(pixels: tf.Tensor) -> tf.Tensor:
    """The measured concentration of the central object (trainer/sky_layers.Morphology), brought to unit scale."""
    return keras.layers.BatchNormalization(name="morphology_scaled")(Morphology(name=MORPHOLOGY_LAYER)(pixels))


def build(kind: str = "fusion", learning_rate: float = 1e-3, encoder: keras.Model | None = None,
          encoder_trainable: bool = False, inputs: str = c.SPECTROSCOPIC, augment: str = "sky",
          morphology: bool = True, tabular_units: tuple[int, ...] = TABULAR_UNITS, name: str | None = None
          ) -> keras.Model:
    """`encoder` replaces the image branch with a pretrained one, frozen unless `encoder_trainable`; `inputs`
    (c.INPUTS) says whether the MLP reads the spectroscopic redshift or the magnitudes and colours alone.

    `augment` "sky" (the 8 symmetries of the square) or "flips" (the model before the exact pairs), `morphology`
    (the cutout's measured concentration beside the photometry, in fusion) and `tabular_units` (the MLP's layers)
    default to what won on the real multimodal eval split; the others stay for the study that chose them
    (benchmarks/levers.py). `name` tells apart models that live in one graph (the forest head's fold CNNs)."""
    if kind not in f.MODEL_KINDS:
        raise ValueError(f"model kind must be one of {f.MODEL_KINDS}, got {kind!r}")
    skip_tf_keras()  # before any step is traced
    model_in: dict[str, tf.Tensor] = {}
    branches = []
    measured: list[tf.Tensor] = []
    if kind in ("fusion", "image"):
        model_in[f.IMAGE_XF] = keras.Input(shape=IMAGE_SHAPE, name=f.IMAGE_XF)
        # Label-preserving augmentation, active in training only, ahead of the CNN or the encoder alike.
        pixels = _augment(augment)(model_in[f.IMAGE_XF])
        if encoder is None:
            branches.append(_image_branch(pixels))
        else:
            encoder.trainable = encoder_trainable
            # A frozen encoder runs in inference mode (its own augmentation off); a fine-tuned one follows the flag.
            branches.append(encoder(pixels, training=None if encoder_trainable else False))
        if morphology and kind == "fusion":
            measured.append(_morphology(model_in[f.IMAGE_XF]))
    if kind in ("fusion", "tabular"):
        names = f.tabular_xf(inputs)
        cols = [keras.Input(shape=(1,), name=k) for k in names]
        model_in.update(zip(names, cols))
        branches.append(_tabular_branch([*cols, *measured], tabular_units))
    x = keras.layers.Concatenate()(branches) if len(branches) > 1 else branches[0]
    x = keras.layers.Dense(64, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    probs = keras.layers.Dense(len(c.CLASS_NAMES), activation="softmax", name=c.PROBABILITIES)(x)
    model = keras.Model(inputs=model_in, outputs=probs, name=name or f"sky_{kind}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def model_inputs(model: keras.Model, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """The subset of transformed features that this model kind reads, shaped for it."""
    return {name: features[name] for name in model.input_names}
