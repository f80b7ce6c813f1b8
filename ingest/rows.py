"""One data row checked against the contract: the rules every reader of a user's CSV shares.

`python -m ingest import`, `python -m ingest cutouts`, `sdss-predict` and the catalogue job all read rows a
user wrote. A row is refused for the same reasons, named the same way (`<file> line N, field 'f': ...`), and
its cutout is found and brought to the contract's field by the same code, whichever of them reads it: a rule
that differed between import and prediction would be train/serve skew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import contract as c
from ingest.cutout import SKYSERVER_SCALE_ARCSEC, CutoutRejected, to_contract

SENTINELS = (-9999.0, 99.0, -99.0, 9999.0)  # SDSS's "no measurement" values
IMAGE_EXTS = (".jpg", ".jpeg", ".png")


class RowRejected(Exception):
    """`reason` is the reject category (rejects.csv counts by it), `field` the contract column it is about."""

    def __init__(self, reason: str, field: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.field, self.detail = reason, field, detail

    def located(self, where: str, with_reason: bool = False) -> str:
        """The message a user can act on: where the row is (`rows.csv line 7`), which field, what is wrong
        (after the reason's name where no rejects.csv column carries it)."""
        return f"{where}, field '{self.field}': " + (f"{self.reason}: " if with_reason else "") + self.detail


@dataclass(frozen=True)
class LabelledRow:
    """A row's checked values; its key and cutout come later (they depend on the other rows and the images)."""

    ra: float
    dec: float
    mags: dict[str, float]
    redshift: float  # NaN without a spectrum
    label: str


def number(row: dict[str, str], field: str, lo: float, hi: float, reason: str) -> float:
    text = (row.get(field) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise RowRejected(reason, field, f"not a number: {text!r}") from None
    if not math.isfinite(value) or value in SENTINELS:
        raise RowRejected(reason, field, f"non-finite or sentinel value {text}")
    if not lo <= value <= hi:
        raise RowRejected(reason, field, f"{value} outside plausible range [{lo}, {hi}]")
    return value


def class_label(row: dict[str, str]) -> str:
    """The class as written, tidied (' qso ' is QSO); '' where there is none. Not checked: see `known_class`."""
    return (row.get(c.LABEL) or "").strip().upper()


def known_class(row: dict[str, str]) -> str:
    label = class_label(row)
    if label not in c.CLASS_NAMES:
        raise RowRejected("unknown_class", c.LABEL, f"{row.get(c.LABEL)!r} is not one of {list(c.CLASS_NAMES)}")
    return label


def parse_features(row: dict[str, str], redshift: bool = True) -> tuple[dict[str, float], float]:
    """The model's tabular inputs (magnitudes, and the redshift unless `redshift` is False: then NaN, as for an
    object without a spectrum), validated as on import; raises RowRejected."""
    mags = {b: number(row, b, *c.MAG_RANGE, "bad_magnitude") for b in c.BANDS}
    return mags, number(row, c.REDSHIFT, *c.REDSHIFT_RANGE, "bad_redshift") if redshift else float("nan")


def parse_labelled(row: dict[str, str], redshift: bool = True) -> LabelledRow:
    ra = number(row, c.RA, *c.RA_RANGE, "bad_coordinates")
    dec = number(row, c.DEC, *c.DEC_RANGE, "bad_coordinates")
    mags, z = parse_features(row, redshift)
    return LabelledRow(ra, dec, mags, z, known_class(row))


def find_image(images_dir: Path | None, key: str, data_row: int) -> Path | None:
    """`<key>` or `row<N>` (N the 1-based data row), as .jpg, .jpeg or .png."""
    if images_dir is None:
        return None
    for stem in (key, f"row{data_row}"):
        for ext in IMAGE_EXTS:
            p = images_dir / f"{stem}{ext}"
            if p.is_file():
                return p
    return None


def load_cutout(path: Path, scale_arcsec: float = SKYSERVER_SCALE_ARCSEC) -> bytes:
    """JPEG bytes of the contract's field (ingest/cutout.py); raises RowRejected naming the file and why."""
    try:
        return to_contract(path.read_bytes(), scale_arcsec, path.name)
    except CutoutRejected as e:
        raise RowRejected(e.reason, c.IMAGE, e.detail) from None
