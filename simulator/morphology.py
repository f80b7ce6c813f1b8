"""Per-object morphology and seeing, sampled in bulk so the result does not depend on worker count."""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.cosmology import Planck18

import contract as c
from simulator.render import ImageModel, Morphology, Neighbour

SEEING_CLIP = (0.8, 2.5)  # arcsec FWHM: SDSS imaging is rarely outside this
MAX_HLR = 8.0  # arcsec: a cutout is 25" across
QSO_HOST_ZMAX = 0.6
# Neighbours: faint field stars and galaxies, anywhere but on the object itself.
NEIGHBOUR_R_MAG = (17.5, 22.5)
NEIGHBOUR_GALAXY_SHARE = 0.4
NEIGHBOUR_MIN_SEPARATION_PX = 6.0
HALO_R_MAG = (10.5, 13.0)  # a bright star just outside the field, whose wings reach in
HALO_DISTANCE_PX = (36.0, 56.0)


def kpc_per_arcsec(z: np.ndarray) -> np.ndarray:
    return Planck18.angular_diameter_distance(np.clip(z, 1e-3, None)).to(u.kpc).value * (np.pi / 180 / 3600)


def galaxy_sizes(r_mag: np.ndarray, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Disk half-light radius in arcsec from a size-luminosity relation and the angular-diameter distance.

    Brighter galaxies are physically larger (Shen et al. 2003 slope, roughly);
    distance shrinks them, so faint or distant galaxies approach the PSF.
    """
    if len(z) == 0:  # astropy's cosmology refuses empty arrays
        return np.zeros(0)
    abs_mag = r_mag - Planck18.distmod(np.clip(z, 1e-3, None)).value
    log_re_kpc = 0.4 - 0.16 * (abs_mag + 21.0) + rng.normal(0.0, 0.25, size=len(z))
    re_kpc = np.clip(10**log_re_kpc, 0.3, 30.0)
    return np.clip(re_kpc / kpc_per_arcsec(z), 0.1, MAX_HLR)


def _neighbours(k: int, rng: np.random.Generator, model: ImageModel) -> tuple[Neighbour, ...]:
    out = []
    half = c.IMAGE_SIZE / 2.0
    for _ in range(k):
        while True:
            dx, dy = rng.uniform(-half, half, size=2)
            if np.hypot(dx, dy) >= NEIGHBOUR_MIN_SEPARATION_PX:
                break
        hlr = float(np.exp(rng.normal(np.log(1.0), 0.4))) if rng.random() < NEIGHBOUR_GALAXY_SHARE else 0.0
        out.append(Neighbour(float(dx), float(dy), float(rng.uniform(*NEIGHBOUR_R_MAG)),
                             float(rng.normal(0.7, 0.4)), float(rng.normal(0.3, 0.2)), hlr))
    if rng.random() < model.halo_rate:
        angle = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(*HALO_DISTANCE_PX)
        out.append(Neighbour(float(dist * np.cos(angle)), float(dist * np.sin(angle)),
                             float(rng.uniform(*HALO_R_MAG)), float(rng.normal(0.5, 0.3)), 0.2, halo=True))
    return tuple(out)


def sample(labels: np.ndarray, r_mag: np.ndarray, z: np.ndarray, rng: np.random.Generator,
           model: ImageModel | None = None) -> list[Morphology]:
    model = model or ImageModel.calibrated()
    n = len(labels)
    seeing = np.clip(model.seeing_median * np.exp(rng.normal(0.0, model.seeing_sigma, size=n)), *SEEING_CLIP)
    offsets = rng.uniform(-0.5, 0.5, size=(n, 2))
    bulge_fraction = rng.beta(1.2, 2.0, size=n)
    disk_q = rng.uniform(0.2, 1.0, size=n)
    bulge_q = rng.uniform(0.6, 1.0, size=n)
    angle = rng.uniform(0.0, 180.0, size=n)
    host = rng.uniform(0.1, 0.4, size=n)
    is_gal = labels == "GALAXY"
    disk_hlr = np.zeros(n)
    disk_hlr[is_gal] = np.clip(model.galaxy_size_scale * galaxy_sizes(r_mag[is_gal], z[is_gal], rng), 0.1, MAX_HLR)
    # Low-redshift QSOs sit in a faint host that fades out by z ~ 0.6.
    is_host = (labels == "QSO") & (z < QSO_HOST_ZMAX)
    host_fraction = np.where(is_host, host * (1 - z / QSO_HOST_ZMAX), 0.0)
    disk_hlr[is_host] = np.clip(galaxy_sizes(r_mag[is_host] + 1.5, z[is_host], rng), 0.3, MAX_HLR)
    n_neighbours = rng.poisson(model.neighbour_rate, size=n)
    out = []
    for k in range(n):
        out.append(Morphology(
            seeing_fwhm=float(seeing[k]),
            offset=(float(offsets[k, 0]), float(offsets[k, 1])),
            bulge_fraction=float(bulge_fraction[k]) if is_gal[k] else 0.0,
            disk_hlr=float(disk_hlr[k]),
            bulge_hlr=float(0.5 * disk_hlr[k]) if is_gal[k] else 0.0,
            disk_q=float(disk_q[k]),
            bulge_q=float(bulge_q[k]),
            angle_deg=float(angle[k]),
            host_fraction=float(host_fraction[k]),
            neighbours=_neighbours(int(n_neighbours[k]), rng, model),
        ))
    return out
