"""Names of the transformed features, all derived from the record contract."""

from __future__ import annotations

import contract as c

COLOURS: tuple[tuple[str, str], ...] = tuple(zip(c.BANDS[:-1], c.BANDS[1:]))  # u-g, g-r, r-i, i-z


def xf(key: str) -> str:
    return f"{key}_xf"


def colour_name(a: str, b: str) -> str:
    return f"{a}_{b}"


# Redshift enters the MLP as asinh(z / REDSHIFT_SOFTENING), then z-scored: linear for stars (|z| << 0.01),
# logarithmic across galaxies (0.02-0.5) and quasars (to ~7), so one unit of the scaled input means as much at
# z ~ 0.1 as at z ~ 3. Chosen on the eval split (BENCHMARKS.md "Tabular branch"): tabular accuracy 0.978 -> 0.988.
REDSHIFT_SOFTENING = 0.01



def tabular_xf(inputs: str = c.SPECTROSCOPIC) -> tuple[str, ...]:
    """The MLP's columns for one input set: the scaled measurements, then the four colours."""
    return tuple(xf(k) for k in (*c.INPUTS[inputs], *(colour_name(a, b) for a, b in COLOURS)))


TABULAR_XF: tuple[str, ...] = tabular_xf(c.SPECTROSCOPIC)
IMAGE_XF = xf(c.IMAGE)
LABEL_XF = xf(c.LABEL)
CLASS_COUNTS_VOCAB = "class_counts"
MODEL_KINDS = ("fusion", "tabular", "image")
# What reads the photometry: gradient-boosted trees (trainer/forest.py), or the network's own MLP (trainer/model.py).
HEAD_FOREST, HEAD_MLP = "forest", "mlp"
HEADS = (HEAD_FOREST, HEAD_MLP)
# Per example, one flag per tabular input (c.INPUTS[inputs] order): 1 where the value lies outside the
# train split's [min, max] as Transform measured it. Serving returns it, so clients see extrapolation.
RANGE_FLAGS_XF = c.OUTSIDE_TRAINING_RANGE

# Evaluation slices by brightness and redshift (Transform writes the bin of every example; the Evaluator slices on
# it, alone and crossed with the class). Edges are fixed, not fitted, so bins mean the same in every run.
R_BIN = "r_mag_bin"
REDSHIFT_BIN = "redshift_bin"
BINS: dict[str, tuple[str, tuple[float, ...]]] = {
    R_BIN: (c.BANDS[2], (17.0, 18.0, 19.0, 20.0, 21.0)),  # SDSS spectroscopy reaches r ~ 17.8 (galaxies), ~ 20-21
    REDSHIFT_BIN: (c.REDSHIFT, (0.01, 0.1, 0.5, 1.0, 2.0, 3.0)),  # stars ~ 0; galaxies < 0.5; quasars beyond
}


# A photometric model's records may lack the redshift: their redshift slice says so instead of guessing a bin.
NO_REDSHIFT_BIN = "no redshift"


def bin_labels(feature: str, edges: tuple[float, ...]) -> list[str]:
    """'r < 17', 'r 17-18', ..., 'r >= 21': the slice values, readable in the report as they are."""
    fmt = lambda v: f"{v:g}"  # noqa: E731
    return ([f"{feature} < {fmt(edges[0])}"]
            + [f"{feature} {fmt(a)}-{fmt(b)}" for a, b in zip(edges[:-1], edges[1:])]
            + [f"{feature} >= {fmt(edges[-1])}"])
