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
from ingest.cutout import SKYSERVER_SCALE_ARCSEC, CutoutRejected, check_contract, to_contract

SENTINELS = (-9999.0, 99.0, -99.0, 9999.0)  # SDSS's "no measurement" values
IMAGE_EXTS = (".jpg", ".jpeg", ".png")


class RowRejected(Exception):
    """Raised by a check: `reason` is the reject category (rejects files count by it), `field` the contract column it
    is about, `detail` what is wrong. The reader turns it into a Reject, which adds where the row is."""

    def __init__(self, reason: str, field: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.field, self.detail = reason, field, detail


@dataclass(frozen=True)
class Reject:
    """A row that was read and not accepted, as every reader reports it: where it is (`export.csv line 7`,
    `part-0.tfrecord.gz#objid`), why (the reason rejects files count by), the field, and what is wrong.
    Plain strings, so it travels between Beam or Spark workers (an exception with its own arguments does not pickle).
    """

    where: str
    reason: str
    field: str
    message: str  # what is wrong, without where
    line: int = 0  # the file line, for a CSV row
    row: tuple[str, ...] = ()  # the row's values as read, for a CSV or table row
    data_row: int = 0  # the 1-based data row, for a CSV or table row (a table row has no file line)

    @classmethod
    def of(cls, where: str, r: RowRejected, line: int = 0, row: tuple[str, ...] = (), data_row: int = 0) -> Reject:
        return cls(where, r.reason, r.field, r.detail, line, row, data_row)

    @property
    def detail(self) -> str:
        """`<where>, field '<field>': <what is wrong>`, as rejects files say it (their reason is a column)."""
        return f"{self.where}, field '{self.field}': {self.message}"

    def with_reason(self) -> str:
        """The same with the reason's name, where no column carries it (`sdss-predict`'s errors)."""
        return f"{self.where}, field '{self.field}': {self.reason}: {self.message}"


@dataclass(frozen=True)
class LabelledRow:
    """A row's checked values; its key and cutout come later (they depend on the other rows and the images)."""

    ra: float
    dec: float
    mags: dict[str, float]
    redshift: float  # NaN without a spectrum
    label: str


# The reject reason of each measurement, in every reader's rejects (import, sdss-predict, the catalogue job).
REASONS: dict[str, str] = {**{b: "bad_magnitude" for b in c.BANDS}, c.REDSHIFT: "bad_redshift",
                           c.RA: "bad_coordinates", c.DEC: "bad_coordinates"}


def check_value(field: str, value: float, shown: str | None = None) -> float:
    """One measurement against the contract's plausible range: the check every reader shares, CSV text or a
    record's float alike; raises RowRejected with the import's reason and words. `shown`: the value as written."""
    lo, hi = c.feature_range(field)
    if not math.isfinite(value) or value in SENTINELS:
        raise RowRejected(REASONS[field], field, f"non-finite or sentinel value {shown or value}")
    if not lo <= value <= hi:
        raise RowRejected(REASONS[field], field, f"{value} outside plausible range [{lo}, {hi}]")
    return value


def number(row: dict[str, str], field: str) -> float:
    text = (row.get(field) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise RowRejected(REASONS[field], field, f"not a number: {text!r}") from None
    return check_value(field, value, text)


def check_features(values: dict[str, float], features: tuple[str, ...]) -> None:
    """A record's model inputs (`features`: those the model reads), checked as a CSV row's are."""
    for field in features:
        check_value(field, values.get(field, float("nan")))


def contract_cutout(jpeg: bytes, name: str) -> bytes:
    """A record's cutout, which must already be in the contract's geometry; raises RowRejected."""
    try:
        return check_contract(jpeg, name)
    except CutoutRejected as e:
        raise RowRejected(e.reason, c.IMAGE, e.detail) from None


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
    mags = {b: number(row, b) for b in c.BANDS}
    return mags, number(row, c.REDSHIFT) if redshift else float("nan")


def parse_labelled(row: dict[str, str], redshift: bool = True) -> LabelledRow:
    ra, dec = number(row, c.RA), number(row, c.DEC)
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


def image_names(objid: str, key: str, data_row: int) -> list[str]:
    """The file names a row's cutout may have, in the order `find_image` looks for them (`<objid>`, then `row<N>`,
    then the import's key): for a reader that lists the folder rather than asking for each file."""
    stems = (objid, f"row{data_row}", key) if objid else (key, f"row{data_row}")
    return list(dict.fromkeys(f"{stem}{ext}" for stem in stems for ext in IMAGE_EXTS))


def load_cutout(path: Path, scale_arcsec: float = SKYSERVER_SCALE_ARCSEC) -> bytes:
    """JPEG bytes of the contract's field (ingest/cutout.py); raises RowRejected naming the file and why."""
    return cutout_from_bytes(path.read_bytes(), path.name, scale_arcsec)


def cutout_from_bytes(data: bytes, name: str, scale_arcsec: float = SKYSERVER_SCALE_ARCSEC) -> bytes:
    """The same for a cutout file's bytes read elsewhere (the Spark driver reads a Hadoop --images folder)."""
    try:
        return to_contract(data, scale_arcsec, name)
    except CutoutRejected as e:
        raise RowRejected(e.reason, c.IMAGE, e.detail) from None
