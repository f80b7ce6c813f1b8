"""Fit the simulator's image look to real SkyServer cutouts (run once, output committed).

    python -m simulator.calibrate_images --pairs ../shared/data/real_multimodal --out simulator/image_calibration.json

A multimodal set gives real photometry next to a real cutout of the same
object (real_multimodal: always; the superseded real_pairs that the shipped
file was fitted on: mostly), so the simulator renders the very same objects and the two sets
of cutouts are compared quantity by quantity (simulator/image_stats.py): sky
level and noise, peak over sky, central FWHM, neighbour count, central
colours. Coordinate descent over the ImageModel parameters minimises the
distance between the per-class quartiles, each scaled by the real spread.
Only the fitted parameters and the before/after table are kept in the repository.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

import contract as c
from ingest.cutout import CutoutRejected, to_contract
from simulator import image_stats
from simulator.render import ImageModel

FIT_QUANTITIES = ("sky_level", "sky_noise", "peak_over_sky", "central_fwhm_px", "neighbours",
                  "centre_g_minus_r", "centre_r_minus_i")
QUARTILES = (25, 50, 75)
PAIRS_SCALE_ARCSEC = 0.4  # the shared real cutouts' pixel scale
# Multiplicative steps tried per parameter in each round (additive for the rates).
STEPS = (0.7, 0.85, 1.15, 1.4)
# Halos are too rare for quartiles to see; seeing_sigma is kept at its prior.
HALO_RATE_PRIOR = 0.02
NOT_FITTED = {"halo_rate": "a prior: bright-star halos are rare in the real sheets (a few in a hundred); too rare "
                            "for quartiles to fit", "seeing_sigma": "kept at its prior"}
SEARCH = ("seeing_median", "lupton_stretch", "lupton_q", "noise_scale", "galaxy_size_scale", "neighbour_rate",
          "gain_g", "gain_i")


@dataclasses.dataclass
class Sample:
    labels: np.ndarray
    mags: np.ndarray
    redshift: np.ndarray
    real: dict[str, np.ndarray]  # measured quantities of the real cutouts


def load_pairs(pairs_dir: str, per_class: int, seed: int = 0) -> tuple[Sample, list[bytes]]:
    df = pd.read_csv(Path(pairs_dir) / "pairs.csv")
    mags = df[list(c.BANDS)]
    df = df[((mags < 23) & (mags > c.MAG_RANGE[0])).all(axis=1)]  # failed measurements: 28.18, -9999
    picks = [g.sample(min(per_class, len(g)), random_state=seed) for _, g in df.groupby("class")]
    df = pd.concat(picks).reset_index(drop=True)
    jpegs, keep = [], []
    for k, objid in enumerate(df["objid"].astype(str)):
        try:
            jpegs.append(to_contract((Path(pairs_dir) / "images" / f"{objid}.jpg").read_bytes(), PAIRS_SCALE_ARCSEC))
            keep.append(k)
        except (OSError, CutoutRejected):
            continue
    df = df.iloc[keep]
    sample = Sample(df["class"].to_numpy(), df[list(c.BANDS)].to_numpy(float), df["redshift"].to_numpy(float),
                    image_stats.measure_all(jpegs))
    return sample, jpegs


def render(sample: Sample, model: ImageModel, seed: int = 0) -> list[bytes]:
    from simulator.simulate import render_cutouts

    return render_cutouts(list(sample.labels), sample.mags, np.clip(sample.redshift, 0, None), seed, model=model)


def distance(real: dict[str, np.ndarray], sim: dict[str, np.ndarray], labels: np.ndarray) -> float:
    """Sum over classes and quantities of |quartile difference| / real inter-quartile range."""
    total = 0.0
    for name in c.CLASS_NAMES:
        sel = labels == name
        for q in FIT_QUANTITIES:
            r, s = np.percentile(real[q][sel], QUARTILES), np.percentile(sim[q][sel], QUARTILES)
            total += float(np.abs(r - s).sum() / (r[2] - r[0] + 0.1 * abs(r[1]) + 1e-3))
    return total


def _with(model: ImageModel, name: str, step: float) -> ImageModel:
    if name.startswith("gain_"):
        gains = list(model.gains)
        gains[{"gain_i": 0, "gain_g": 2}[name]] *= step
        return dataclasses.replace(model, gains=tuple(gains))
    value = getattr(model, name)
    if name == "neighbour_rate":
        return dataclasses.replace(model, neighbour_rate=max(0.0, value * step if value else step - 0.5))
    return dataclasses.replace(model, **{name: value * step})


def fit(sample: Sample, start: ImageModel, rounds: int = 3, log=print) -> tuple[ImageModel, float, float]:
    def score(m: ImageModel) -> float:
        return distance(sample.real, image_stats.measure_all(render(sample, m)), sample.labels)

    best, best_d = start, score(start)
    first = best_d
    log(f"start: distance {best_d:.2f}")
    for rnd in range(rounds):
        improved = False
        for name in SEARCH:
            for step in STEPS:
                cand = _with(best, name, step)
                d = score(cand)
                if d < best_d - 1e-6:
                    best, best_d, improved = cand, d, True
                    log(f"round {rnd}: {name} x{step} -> distance {d:.2f}")
        if not improved:
            break
    return best, first, best_d


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", required=True,
                   help="../shared/data/real_multimodal (pairs.csv + images/); the shipped image_calibration.json was "
                        "fitted on the superseded real_pairs, as its `source` says; a refit records its own")
    p.add_argument("--out", default=str(Path(__file__).with_name("image_calibration.json")))
    p.add_argument("--per-class", type=int, default=150)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    sample, _ = load_pairs(args.pairs, args.per_class)
    model, before, after = fit(sample, ImageModel(), args.rounds)
    params = dataclasses.asdict(dataclasses.replace(model, halo_rate=HALO_RATE_PRIOR))
    params["gains"] = [round(g, 4) for g in params["gains"]]
    params = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in params.items()}
    Path(args.out).write_text(json.dumps({
        "source": f"SDSS DR16 SkyServer cutouts of {Path(args.pairs).name} ({args.pairs}), fitted by "
                  "simulator/calibrate_images.py",
        "objects": int(len(sample.labels)), "distance_before": round(before, 3), "distance_after": round(after, 3),
        "params": params, "not_fitted": NOT_FITTED}, indent=1) + "\n")
    print(f"wrote {args.out}: distance {before:.2f} -> {after:.2f}")


if __name__ == "__main__":
    main()
