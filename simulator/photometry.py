"""Per-class photometry and redshift drawn from the mixture fitted to real DR14 objects."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

import contract as c

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# The DR14 table's own selection (its README). The mixture is fitted to objects inside it; cutting the draws
# again would truncate the fitted tails and bias every mean bright by ~0.1 mag, so draws are not re-cut.
SELECTION_CUTS = {"u": 19.6, "g": 20.0}
STAR_Z_SCALE = 1e4  # star redshifts are ~1e-4: rescale so the mixture fit is well conditioned


def to_model_space(cls: str, mags: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(u,g,r,i,z mags, redshift) -> (r, u-g, g-r, r-i, i-z, t(redshift))."""
    u, g, r, i, zb = mags.T
    if cls == "GALAXY":
        tz = np.log(np.clip(z, 1e-3, None))
    elif cls == "QSO":
        tz = np.log1p(np.clip(z, 0.0, None))
    else:
        tz = z * STAR_Z_SCALE
    return np.column_stack([r, u - g, g - r, r - i, i - zb, tz])


def from_model_space(cls: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, ug, gr, ri, iz, tz = x.T
    g = r + gr
    u = g + ug
    i = r - ri
    zb = i - iz
    if cls == "GALAXY":
        z = np.exp(tz)
    elif cls == "QSO":
        z = np.expm1(tz)
    else:
        z = tz / STAR_Z_SCALE
    return np.column_stack([u, g, r, i, zb]), z


@lru_cache(maxsize=1)
def calibration() -> dict:
    return json.loads(CALIBRATION_FILE.read_text())


def default_class_mix() -> dict[str, float]:
    return {name: p["fraction"] for name, p in calibration()["classes"].items()}


def sample_class(cls: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n objects of one class, by rejection against the plausible ranges only."""
    p = calibration()["classes"][cls]
    weights = np.asarray(p["weights"])
    means = np.asarray(p["means"])
    covs = np.asarray(p["covariances"])
    mags_out, z_out, have = [], [], 0
    while have < n:
        m = max(2 * (n - have), 16)
        comp = rng.choice(len(weights), size=m, p=weights / weights.sum())
        x = np.empty((m, means.shape[1]))
        for k in range(len(weights)):
            sel = comp == k
            x[sel] = rng.multivariate_normal(means[k], covs[k], size=int(sel.sum()))
        mags, z = from_model_space(cls, x)
        ok = (mags > c.MAG_RANGE[0]).all(axis=1) & (mags < c.MAG_RANGE[1]).all(axis=1)
        ok &= (z <= p["redshift_max"] * 1.05) & (z > c.REDSHIFT_RANGE[0])
        mags_out.append(mags[ok])
        z_out.append(z[ok])
        have += int(ok.sum())
    return np.concatenate(mags_out)[:n], np.concatenate(z_out)[:n]
