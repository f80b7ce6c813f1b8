"""The sky's own layers: augmentation that only turns and flips, and morphology that tells a point from a galaxy."""

import numpy as np
import pytest
import tensorflow as tf

from trainer import sky_layers


def _source(fwhm_px: float, peak: float = 0.6, sky: float = 0.1, at=(31.5, 31.5), size: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    sigma = fwhm_px / 2.3548
    blob = peak * np.exp(-((yy - at[0]) ** 2 + (xx - at[1]) ** 2) / (2 * sigma**2))
    return np.repeat((sky + blob)[..., None], 3, axis=2).astype(np.float32)


def test_morphology_tells_a_point_source_from_an_extended_one_whatever_the_sky():
    layer = sky_layers.Morphology()
    point, galaxy = _source(3.0), _source(9.0)
    point_dark = _source(3.0, sky=0.02, peak=0.3)
    out = layer(tf.constant(np.stack([point, galaxy, point_dark]))).numpy()
    assert out.shape == (3, 12)
    c2_8, c4_12, rms = out[:, 0:3], out[:, 3:6], out[:, 6:9]
    assert (c2_8[0] > c2_8[1] + 0.2).all() and (c4_12[0] > c4_12[1]).all() and (rms[0] < rms[1]).all()
    # Concentration and size do not depend on the sky level or the brightness: only on the shape.
    assert np.allclose(out[0, :9], out[2, :9], atol=0.02)


def test_morphology_ignores_a_neighbour_outside_its_apertures_and_is_unchanged_by_the_symmetries():
    alone = _source(3.0)
    with_neighbour = alone + _source(3.0, sky=0.0, at=(8, 56))
    layer = sky_layers.Morphology()
    a, b = layer(tf.constant(np.stack([alone, with_neighbour]))).numpy()
    assert np.allclose(a, b, atol=1e-3)
    turned = np.stack([np.rot90(with_neighbour, k) for k in range(4)] + [with_neighbour[:, ::-1]])
    assert np.allclose(layer(tf.constant(turned)).numpy(), b, atol=1e-4)


def test_sky_augment_only_turns_and_flips_and_only_in_training():
    rng = np.random.default_rng(0)
    images = rng.random((32, 64, 64, 3)).astype(np.float32)
    layer = sky_layers.SkyAugment()
    assert np.array_equal(layer(tf.constant(images), training=False).numpy(), images)
    out = layer(tf.constant(images), training=True).numpy()
    seen = set()
    for img, aug in zip(images, out):
        variants = [np.rot90(v, k) for v in (img, img[:, ::-1]) for k in range(4)]
        matches = [k for k, v in enumerate(variants) if np.array_equal(v, aug)]
        assert matches, "an augmented cutout is not one of the square's 8 symmetries (colour or pixels changed?)"
        seen.add(matches[0])
    assert len(seen) > 3  # it does augment, and not always the same way


@pytest.mark.parametrize("layer", [sky_layers.SkyAugment(), sky_layers.Morphology()])
def test_layers_round_trip_through_keras_config(layer):
    again = type(layer).from_config(layer.get_config())
    x = tf.constant(_source(4.0)[None])
    assert np.allclose(again(x).numpy(), layer(x).numpy())


def test_sky_augment_draws_the_same_symmetries_under_the_same_seed():
    """A seeded run must train the same weights (test_e2e_faults compares a recovered run's with an uninterrupted
    one): the same seed gives the same choice of symmetry for every element, batch after batch."""
    images = tf.constant(np.random.default_rng(1).random((64, 64, 64, 3)).astype(np.float32))

    def draws() -> list[np.ndarray]:
        tf.keras.utils.set_random_seed(11)
        layer = sky_layers.SkyAugment()
        step = tf.function(lambda x: layer(x, training=True))
        return [step(images).numpy() for _ in range(3)]

    first, again = draws(), draws()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1])  # and it does draw anew for each batch
