"""Names of the transformed features, all derived from the record contract."""

from __future__ import annotations

from ingest import contract as c

COLOURS: tuple[tuple[str, str], ...] = tuple(zip(c.BANDS[:-1], c.BANDS[1:]))  # u-g, g-r, r-i, i-z


def xf(key: str) -> str:
    return f"{key}_xf"


def colour_name(a: str, b: str) -> str:
    return f"{a}_{b}"


TABULAR_XF: tuple[str, ...] = tuple(xf(k) for k in (*c.TABULAR_FEATURES, *(colour_name(a, b) for a, b in COLOURS)))
IMAGE_XF = xf(c.IMAGE)
LABEL_XF = xf(c.LABEL)
CLASS_COUNTS_VOCAB = "class_counts"
MODEL_KINDS = ("fusion", "tabular", "image")
# Per example, one flag per tabular feature (c.TABULAR_FEATURES order): 1 where the value lies outside the
# train split's [min, max] as Transform measured it. Serving returns it, so clients see extrapolation.
RANGE_FLAGS_XF = c.OUTSIDE_TRAINING_RANGE
