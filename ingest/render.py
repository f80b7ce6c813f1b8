"""GalSim cutouts: each object's g, r, i fluxes drawn through a seeing PSF, with sky and photon noise.

Images stay deliberately ambiguous: stars and QSOs are the same point source
and differ only in colour (and a faint host on low-z QSOs); distant or compact
galaxies shrink towards the PSF. An image-only model should not find the label
for free.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import galsim
import numpy as np
from astropy.visualization import make_lupton_rgb
from PIL import Image

from ingest import contract as c

RENDER_BANDS = ("g", "r", "i")  # SDSS colour cutouts map i, r, g to R, G, B
# Approximate SDSS camera numbers: electrons per nanomaggy and dark-sky brightness (mag/arcsec^2).
ELECTRONS_PER_NMGY = {"g": 900.0, "r": 940.0, "i": 640.0}
SKY_MAG_ARCSEC2 = {"g": 21.9, "r": 20.9, "i": 20.2}
LUPTON_STRETCH = 0.4
LUPTON_Q = 8.0
JPEG_QUALITY = 90
GSPARAMS = galsim.GSParams(folding_threshold=1e-2, maxk_threshold=2e-3, maximum_fft_size=4096)


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


def band_images(mags: dict[str, float], label: str, m: Morphology, seed: int) -> dict[str, np.ndarray]:
    """Sky-subtracted, noisy images in nanomaggies per pixel for g, r, i."""
    point, bulge, disk = _unit_components(label, m)
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
        e_per = ELECTRONS_PER_NMGY[band]
        sky_e = nanomaggies(SKY_MAG_ARCSEC2[band]) * pix_area * e_per
        img = galsim.ImageD(np.ascontiguousarray(ideal * e_per))
        img.addNoise(galsim.PoissonNoise(rng, sky_level=sky_e))
        out[band] = img.array / e_per
    return out


def to_jpeg(images: dict[str, np.ndarray]) -> bytes:
    rgb = make_lupton_rgb(images["i"], images["r"], images["g"], minimum=0.0,
                          stretch=LUPTON_STRETCH, Q=LUPTON_Q)
    buf = io.BytesIO()
    # astropy's array has y up; SkyServer's JPEGs have north at the top, so flip rows.
    Image.fromarray(np.ascontiguousarray(rgb[::-1])).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def render_jpeg(mags: dict[str, float], label: str, m: Morphology, seed: int) -> bytes:
    return to_jpeg(band_images(mags, label, m, seed))
