"""The image measurements behave on known images, and the calibrated simulator is closer to real cutouts."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from simulator import calibrate_images as cal
from simulator import image_stats
from simulator.render import ImageModel
from tests.helpers import SHARED_DATA

PAIRS = SHARED_DATA / "real_multimodal"


def _jpeg(lum: np.ndarray) -> bytes:
    rgb = np.repeat(np.clip(lum, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")  # lossless: the test is about the measurement
    return buf.getvalue()


def _gaussian(fwhm: float, peak: float, at=(32, 32)) -> np.ndarray:
    yy, xx = np.mgrid[:64, :64]
    sigma = fwhm / 2.3548
    return peak * np.exp(-((yy - at[0]) ** 2 + (xx - at[1]) ** 2) / (2 * sigma**2))


@pytest.mark.parametrize("fwhm", [3.0, 6.0, 12.0])
def test_fwhm_peak_and_neighbours_of_synthetic_images(fwhm):
    rng = np.random.default_rng(0)
    sky = 10 + rng.normal(0, 2, (64, 64))
    img = sky + _gaussian(fwhm, 150) + _gaussian(3.0, 120, at=(10, 50)) + _gaussian(3.0, 120, at=(54, 12))
    m = image_stats.measure(_jpeg(img))
    assert m["central_fwhm_px"] == pytest.approx(fwhm, abs=1.0)
    assert m["peak_over_sky"] == pytest.approx(150, abs=10)
    assert m["sky_level"] == pytest.approx(10, abs=1.5)
    assert m["neighbours"] == 2
    assert abs(m["centre_g_minus_r"]) < 0.05  # grey: no colour


def test_calibrated_simulator_is_closer_to_real_cutouts_of_the_same_objects():
    if not (PAIRS / "pairs.csv").exists():
        pytest.fail(f"real_multimodal not found at {PAIRS}: CI provides ../shared beside the clone")
    sample, _ = cal.load_pairs(str(PAIRS), per_class=40, seed=5)
    before = image_stats.measure_all(cal.render(sample, ImageModel()))
    after = image_stats.measure_all(cal.render(sample, ImageModel.calibrated()))
    d_before = cal.distance(sample.real, before, sample.labels)
    d_after = cal.distance(sample.real, after, sample.labels)
    assert d_after < 0.5 * d_before, (d_before, d_after)
    # The fitted look in particular: sharper point sources and neighbours in the field, as in real cutouts.
    point = sample.labels != "GALAXY"
    real_fwhm = np.median(sample.real["central_fwhm_px"][point])
    assert abs(np.median(after["central_fwhm_px"][point]) - real_fwhm) < abs(
        np.median(before["central_fwhm_px"][point]) - real_fwhm)
    assert after["neighbours"].mean() > 0.2 > before["neighbours"].mean()


def test_neighbours_and_halos_are_drawn_deterministically():
    from simulator.simulate import render_cutouts

    busy = dataclasses.replace(ImageModel.calibrated(), neighbour_rate=3.0, halo_rate=0.5)
    mags = np.tile([18.5, 17.5, 17.0, 16.8, 16.7], (12, 1))
    z = np.full(12, 0.05)
    a = render_cutouts(["GALAXY", "STAR", "QSO"] * 4, mags, z, seed=3, workers=1, model=busy)
    b = render_cutouts(["GALAXY", "STAR", "QSO"] * 4, mags, z, seed=3, workers=1, model=busy)
    assert a == b
    assert image_stats.measure_all(a)["neighbours"].mean() > 1.0
