"""Built-in dataset: SDSS-like objects simulated from real DR14 statistics (photometry) and GalSim (cutouts).

    python -m simulator.simulate --n 1000 --seed 0 --out data/simulated [--preview sheet.png]

The same seed gives byte-identical records whatever the worker count: every
random draw is made up front from the seed, and each object's photon noise
has its own seed derived from (seed, index).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import contract as c
from ingest.provenance import SIMULATED_MARKER
from simulator import morphology, photometry
from simulator.render import ImageModel, Morphology, render_jpeg

# SDSS's main footprint, roughly: objects land in a plausible patch of sky.
RA_SPAN = (110.0, 260.0)
DEC_SPAN = (-5.0, 65.0)


def _render_task(task: tuple[dict[str, float], str, Morphology, int, ImageModel]) -> bytes:
    return render_jpeg(*task)


def render_cutouts(labels: Sequence[str], mags: np.ndarray, redshifts: np.ndarray, seed: int,
                   workers: int | None = None, model: ImageModel | None = None) -> list[bytes]:
    """JPEG cutouts for objects whose photometry is given (simulated or a user's CSV).

    `model` is the image look (default: the calibrated one); the calibration script passes candidates.
    """
    model = model or ImageModel.calibrated()
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 1])
    morph = morphology.sample(labels, mags[:, c.BANDS.index("r")], redshifts, rng, model)
    noise_seeds = np.random.SeedSequence([seed, 2]).generate_state(len(labels), dtype=np.uint32)
    tasks = [({b: float(mags[k, j]) for j, b in enumerate(c.BANDS)}, str(labels[k]), morph[k], int(noise_seeds[k]) + 1,
              model) for k in range(len(labels))]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(tasks) < 64:
        return [_render_task(t) for t in tasks]
    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.map(_render_task, tasks, chunksize=max(8, len(tasks) // (workers * 8)))


def sample_catalogue(n: int, seed: int, class_mix: dict[str, float] | None = None
                     ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(objids, ra, dec, labels, mags[n,5], redshift[n]) for n simulated objects."""
    mix = class_mix or photometry.default_class_mix()
    rng = np.random.default_rng([seed, 0])
    names = list(c.CLASS_NAMES)
    p = np.array([mix[k] for k in names], dtype=float)
    labels = rng.choice(names, size=n, p=p / p.sum())
    mags = np.empty((n, len(c.BANDS)))
    z = np.empty(n)
    for name in names:
        sel = labels == name
        mags[sel], z[sel] = photometry.sample_class(name, int(sel.sum()), rng)
    ra = rng.uniform(*RA_SPAN, size=n)
    sin_dec = rng.uniform(*np.sin(np.radians(DEC_SPAN)), size=n)
    dec = np.degrees(np.arcsin(sin_dec))
    objids = [f"sim{seed}-{k:08d}" for k in range(n)]
    return objids, ra, dec, labels, mags, z


def simulate(n: int, seed: int, out_dir: str, workers: int | None = None,
             fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS, preview: str | None = None,
             overwrite: bool = False) -> dict[str, int]:
    from ingest.records import SkyObject, write_all  # imports TensorFlow: only when writing
    from ingest.staging import check_target, staged

    check_target(Path(out_dir), overwrite)
    objids, ra, dec, labels, mags, z = sample_catalogue(n, seed)
    jpegs = render_cutouts(labels, mags, z, seed, workers)
    objs = [SkyObject(objids[k], float(ra[k]), float(dec[k]), {b: float(mags[k, j]) for j, b in enumerate(c.BANDS)},
                      float(z[k]), jpegs[k], str(labels[k])) for k in range(n)]
    with staged(out_dir, overwrite) as tmp:
        counts = write_all(objs, tmp, fractions)
        Path(tmp, SIMULATED_MARKER).write_text(
            f"Simulated data (not real observations): n={n} seed={seed}.\n"
            "Photometry drawn from a mixture fitted to real SDSS DR14 statistics; cutouts rendered with GalSim.\n")
    if preview:
        from simulator.preview import contact_sheet

        contact_sheet(objs, preview, title=f"Simulated SDSS-like cutouts (seed {seed}; GalSim, not real sky)")
    return counts


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder; records go to <out>/<split>/part-*.tfrecord.gz")
    p.add_argument("--workers", type=int, default=None, help="render processes (default: all cores)")
    p.add_argument("--splits", type=float, nargs=3, default=c.DEFAULT_SPLIT_FRACTIONS,
                   metavar=("TRAIN", "EVAL", "TEST"))
    p.add_argument("--preview", default=None, help="also write a PNG sheet of sample cutouts per class")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out whole")
    args = p.parse_args(argv)
    t0 = time.time()
    counts = simulate(args.n, args.seed, args.out, args.workers, args.splits, args.preview, args.overwrite)
    print(f"simulated {args.n} objects in {time.time() - t0:.1f}s -> {args.out} "
          + " ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
