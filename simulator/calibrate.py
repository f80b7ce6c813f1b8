"""Derive the simulator's photometry model from a real SDSS table (run once, output committed).

    python -m simulator.calibrate --csv ../shared/data/sdss_dr14_10k.csv --out simulator/calibration.json

Each class gets a Gaussian mixture in (r, u-g, g-r, r-i, i-z, t(z)), where t
is the redshift transform in `photometry.py`. Colours rather than raw bands
keep the stellar locus and the QSO UV excess; the mixture keeps their bends.
The table itself stays outside the repository; only these parameters are kept.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

import contract as c
from simulator.photometry import SELECTION_CUTS, to_model_space

N_COMPONENTS = 4


def fit(df: pd.DataFrame, n_components: int = N_COMPONENTS) -> dict:
    bands = df[list(c.BANDS)]
    # Drop failed measurements (a band fainter than 23 mag next to a bright one), as the data README warns.
    clean = df[(bands < 23).all(axis=1) & np.isfinite(bands).all(axis=1)]
    model: dict = {"selection_cuts": SELECTION_CUTS, "classes": {}}
    for name in c.CLASS_NAMES:
        sub = clean[clean["class"] == name]
        x = to_model_space(name, sub[list(c.BANDS)].to_numpy(), sub["redshift"].to_numpy())
        gm = GaussianMixture(n_components, covariance_type="full", random_state=0, reg_covar=1e-6).fit(x)
        model["classes"][name] = {
            "fraction": round(float((df["class"] == name).mean()), 4),
            "weights": gm.weights_.round(6).tolist(),
            "means": gm.means_.round(6).tolist(),
            "covariances": gm.covariances_.round(8).tolist(),
            "redshift_max": float(sub["redshift"].max()),
            "n_fit": int(len(sub)),
        }
    return model


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", required=True)
    p.add_argument("--out", default="simulator/calibration.json")
    args = p.parse_args(argv)
    model = fit(pd.read_csv(args.csv))
    model["source"] = "SDSS DR14 10k table (SkyServer export), fitted by simulator/calibrate.py"
    with open(args.out, "w") as f:
        json.dump(model, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
