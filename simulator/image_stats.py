"""Measurements of a contract cutout that say whether simulated pixels look like SkyServer's.

The simulator is calibrated by comparing these between real and simulated
cutouts of the same objects (simulator/calibrate_images.py), and BENCHMARKS.md
reports them. Every quantity is measured on the 8-bit JPEG as served, in the
same way for both sources, so JPEG and colour-stretch effects count too.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from PIL import Image
from scipy import ndimage

import contract as c

BORDER = 6  # px: the outer ring that stands for the sky
CENTRE_RADIUS = 5.0  # px: the object itself; anything detected outside is a neighbour
NEIGHBOUR_SIGMA = 6.0  # detection threshold above the sky, in sky-noise units
NEIGHBOUR_MIN_PIXELS = 4
QUANTITIES = ("sky_level", "sky_noise", "peak_over_sky", "central_fwhm_px", "neighbours",
              "centre_g_minus_r", "centre_r_minus_i", "saturated_fraction")


def pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float64)


def measure(jpeg: bytes) -> dict[str, float]:
    """One cutout's quantities (QUANTITIES); the RGB channels are SDSS i, r, g as SkyServer composes them."""
    rgb = pixels(jpeg)
    lum = rgb.mean(axis=2)
    n = c.IMAGE_SIZE
    ring = np.ones((n, n), bool)
    ring[BORDER:-BORDER, BORDER:-BORDER] = False
    sky = np.median(lum[ring])
    noise = 1.4826 * np.median(np.abs(lum[ring] - sky)) + 0.5  # MAD; +0.5 keeps 8-bit quantisation finite
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2.0
    r = np.hypot(yy, xx)
    core = r <= 2.5
    peak = lum[core].max() - sky
    # FWHM from the area above half the peak, in the component that holds the centre.
    half = lum - sky >= peak / 2.0
    labels, _ = ndimage.label(half)
    centre_label = labels[n // 2, n // 2] or labels[core].max()
    area = float((labels == centre_label).sum()) if centre_label else 0.0
    fwhm = 2.0 * np.sqrt(area / np.pi)
    detected = lum - sky > NEIGHBOUR_SIGMA * noise
    blobs, count = ndimage.label(detected)
    neighbours = 0
    if count:
        sizes = ndimage.sum(np.ones_like(lum), blobs, index=np.arange(1, count + 1))
        centres = ndimage.center_of_mass(detected, blobs, index=np.arange(1, count + 1))
        for size, (cy, cx) in zip(sizes, centres):
            if size >= NEIGHBOUR_MIN_PIXELS and np.hypot(cy - (n - 1) / 2, cx - (n - 1) / 2) > CENTRE_RADIUS:
                neighbours += 1
    flux = np.clip(rgb[core] - np.median(rgb[ring], axis=0), 1.0, None).mean(axis=0)  # i, r, g channels
    return {
        "sky_level": float(sky),
        "sky_noise": float(noise),
        "peak_over_sky": float(peak),
        "central_fwhm_px": float(fwhm),
        "neighbours": float(neighbours),
        "centre_g_minus_r": float(-2.5 * np.log10(flux[2] / flux[1])),
        "centre_r_minus_i": float(-2.5 * np.log10(flux[1] / flux[0])),
        "saturated_fraction": float((rgb.max(axis=2) >= 250).mean()),
    }


def measure_all(jpegs: Iterable[bytes]) -> dict[str, np.ndarray]:
    rows = [measure(j) for j in jpegs]
    return {q: np.array([r[q] for r in rows]) for q in QUANTITIES}
