"""GalSim cutouts: each object's g, r, i fluxes drawn through a seeing PSF, with sky and photon noise.

Images stay deliberately ambiguous: stars and QSOs are the same point source
and differ only in colour (and a faint host on low-z QSOs); distant or compact
galaxies shrink towards the PSF. An image-only model should not find the label
for free. The field also holds what real fields hold: neighbouring stars and
galaxies, now and then the halo of a bright star. How SkyServer's cutouts look
(seeing, noise, colour composite, stretch, neighbour density) is fitted
against real cutouts by simulator/calibrate_images.py into image_calibration.json.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import galsim
import numpy as np
from astropy.visualization import make_lupton_rgb
from PIL import Image

import contract as c

RENDER_BANDS = ("g", "r", "i")  # SDSS colour cutouts map i, r, g to R, G, B
# Approximate SDSS camera numbers: electrons per nanomaggy and dark-sky brightness (mag/arcsec^2).
ELECTRONS_PER_NMGY = {"g": 900.0, "r": 940.0, "i": 640.0}
SKY_MAG_ARCSEC2 = {"g": 21.9, "r": 20.9, "i": 20.2}
JPEG_QUALITY = 90
GSPARAMS = galsim.GSParams(folding_threshold=1e-2, maxk_threshold=2e-3, maximum_fft_size=4096)
HALO_BETA = 1.6  # Moffat index of a bright star's wings: a power law ~r^-3.2, far broader than the core's beta=3
CALIBRATION_FILE = Path(__file__).with_name("image_calibration.json")


@dataclass(frozen=True)
class ImageModel:
    """The look of SkyServer's cutouts; `calibrated()` holds the values fitted to real cutouts."""

    seeing_median: float = 1.4  # arcsec FWHM, log-normal across fields
    seeing_sigma: float = 0.15  # of ln(FWHM)
    lupton_stretch: float = 0.4
    lupton_q: float = 8.0
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # on i, r, g before the composite (R, G, B)
    noise_scale: float = 1.0  # sky noise relative to the nominal camera's
    galaxy_size_scale: float = 1.0  # on the size-luminosity relation's half-light radii
    neighbour_rate: float = 0.0  # mean neighbours per cutout (Poisson)
    halo_rate: float = 0.0  # share of cutouts with a bright star's halo at the edge

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def calibrated() -> ImageModel:
        if not CALIBRATION_FILE.exists():
            return ImageModel()
        params = json.loads(CALIBRATION_FILE.read_text())["params"]
        return ImageModel(**{**params, "gains": tuple(params["gains"])})


@dataclass(frozen=True)
class Neighbour:
    """Another source in the field: offset from the centre (pixels), r magnitude, colours, size."""

    dx: float
    dy: float
    r_mag: float
    g_r: float
    r_i: float
    hlr: float = 0.0  # arcsec; 0 for a star
    halo: bool = False  # a bright star whose scattered-light wings matter more than its core


@dataclass(frozen=True)
class Morphology:
    """What a cutout needs beyond photometry; sampled in `simulate.py`."""

    seeing_fwhm: float  # arcsec
    offset: tuple[float, float]  # sub-pixel centring, pixels
    bulge_fraction: float = 0.0  # galaxies: r-band bulge-to-total
    disk_hlr: float = 0.0  # arcsec; 0 means no extended light
    bulge_hlr: float = 0.0
    disk_q: float = 1.0
    bulge_q: float = 1.0
    angle_deg: float = 0.0
    host_fraction: float = 0.0  # QSOs: share of the light in an exponential host
    neighbours: tuple[Neighbour, ...] = field(default_factory=tuple)


def nanomaggies(mag: float) -> float:
    return 10 ** (-0.4 * (mag - 22.5))


def _draw(profile: galsim.GSObject, psf: galsim.GSObject, m: Morphology) -> np.ndarray:
    img = galsim.Convolve(profile, psf, gsparams=GSPARAMS).drawImage(
        nx=c.IMAGE_SIZE, ny=c.IMAGE_SIZE, scale=c.PIXEL_SCALE_ARCSEC, offset=m.offset)
    return img.array


def _unit_components(label: str, m: Morphology) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, bulge, disk) images of unit flux; absent components are zeros."""
    psf = galsim.Moffat(beta=3.0, fwhm=m.seeing_fwhm, gsparams=GSPARAMS)
    zeros = np.zeros((c.IMAGE_SIZE, c.IMAGE_SIZE))
    point = zeros if label == "GALAXY" else _draw(galsim.DeltaFunction(), psf, m)
    beta = m.angle_deg * galsim.degrees
    bulge = zeros
    if m.bulge_hlr > 0 and m.bulge_fraction > 0:
        prof = galsim.DeVaucouleurs(half_light_radius=m.bulge_hlr, gsparams=GSPARAMS)
        bulge = _draw(prof.shear(q=m.bulge_q, beta=beta), psf, m)
    disk = zeros
    if m.disk_hlr > 0:
        prof = galsim.Exponential(half_light_radius=m.disk_hlr, gsparams=GSPARAMS)
        disk = _draw(prof.shear(q=m.disk_q, beta=beta), psf, m)
    return point, bulge, disk


def _neighbour_images(m: Morphology) -> dict[str, np.ndarray]:
    """Noise-free g, r, i images (nanomaggies) of the field's other sources."""
    out = {b: np.zeros((c.IMAGE_SIZE, c.IMAGE_SIZE)) for b in RENDER_BANDS}
    psf = galsim.Moffat(beta=3.0, fwhm=m.seeing_fwhm, gsparams=GSPARAMS)
    for nb in m.neighbours:
        if nb.halo:
            prof, method = galsim.Moffat(beta=HALO_BETA, fwhm=m.seeing_fwhm, gsparams=GSPARAMS), "no_pixel"
        elif nb.hlr > 0:
            prof = galsim.Convolve(galsim.Exponential(half_light_radius=nb.hlr, gsparams=GSPARAMS), psf,
                                   gsparams=GSPARAMS)
            method = "auto"
        else:
            # A star is the PSF itself: drawn directly, a bright one off the edge (a halo) cannot wrap around
            # the FFT box into the field as a row of dots.
            prof, method = psf, "no_pixel"
        img = prof.drawImage(nx=c.IMAGE_SIZE, ny=c.IMAGE_SIZE, scale=c.PIXEL_SCALE_ARCSEC, offset=(nb.dx, nb.dy),
                             method=method).array
        mags = {"g": nb.r_mag + nb.g_r, "r": nb.r_mag, "i": nb.r_mag - nb.r_i}
        for b in RENDER_BANDS:
            out[b] += nanomaggies(mags[b]) * img
    return out


def band_images(mags: dict[str, float], label: str, m: Morphology, seed: int,
                model: ImageModel | None = None) -> dict[str, np.ndarray]:
    """Sky-subtracted, noisy images in nanomaggies per pixel for g, r, i."""
    model = model or ImageModel.calibrated()
    point, bulge, disk = _unit_components(label, m)
    others = _neighbour_images(m) if m.neighbours else None
    rng = galsim.BaseDeviate(seed)
    pix_area = c.PIXEL_SCALE_ARCSEC**2
    out = {}
    for k, band in enumerate(RENDER_BANDS):
        flux = nanomaggies(mags[band])
        if label == "GALAXY":
            bt = min(1.0, m.bulge_fraction * (0.8, 1.0, 1.15)[k])  # bulges are redder than disks
            ideal = flux * (bt * bulge + (1 - bt) * disk)
        elif m.host_fraction > 0:
            h = min(0.9, m.host_fraction * (0.7, 1.0, 1.3)[k])  # hosts are redder than the nucleus
            ideal = flux * ((1 - h) * point + h * disk)
        else:
            ideal = flux * point
        if others is not None:
            ideal = ideal + others[band]
        e_per = ELECTRONS_PER_NMGY[band] / model.noise_scale**2  # fewer electrons per flux: noisier
        sky_e = nanomaggies(SKY_MAG_ARCSEC2[band]) * pix_area * e_per
        img = galsim.ImageD(np.ascontiguousarray(ideal * e_per))
        img.addNoise(galsim.PoissonNoise(rng, sky_level=sky_e))
        out[band] = img.array / e_per
    return out


def to_jpeg(images: dict[str, np.ndarray], model: ImageModel | None = None) -> bytes:
    model = model or ImageModel.calibrated()
    gi, gr, gg = model.gains
    rgb = make_lupton_rgb(gi * images["i"], gr * images["r"], gg * images["g"], minimum=0.0,
                          stretch=model.lupton_stretch, Q=model.lupton_q)
    buf = io.BytesIO()
    # astropy's array has y up; SkyServer's JPEGs have north at the top, so flip rows.
    Image.fromarray(np.ascontiguousarray(rgb[::-1])).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def render_jpeg(mags: dict[str, float], label: str, m: Morphology, seed: int,
                model: ImageModel | None = None) -> bytes:
    model = model or ImageModel.calibrated()
    return to_jpeg(band_images(mags, label, m, seed, model), model)
