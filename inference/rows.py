"""Rows to classify, read from a user's CSV: `sdss-predict` and the catalogue job read them the same way.

The checks are the import's (ingest/rows.py), so a row refused at import is refused here for the same reason; a
bad row does not stop the others: it carries its error (file, line, field) and is reported, not predicted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import contract as c
from ingest.columns import read_rows
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from ingest.keys import object_key
from ingest.rows import RowRejected, class_label, find_image, load_cutout, parse_features

FEATURES = (*c.BANDS, c.REDSHIFT)


@dataclass
class Row:
    line: int  # file line (CSV) or 0 (values given on the command line)
    key: str
    ra: float = float("nan")
    dec: float = float("nan")
    mags: dict[str, float] | None = None
    redshift: float | None = None
    image_jpeg: bytes | None = None
    label: str = ""
    error: str = ""
    reason: str = ""  # the reject reason (ingest's names) when `error` is set

    def fail(self, where: str, r: RowRejected) -> None:
        self.error, self.reason = r.located(where, with_reason=True), r.reason


def row_key(row: dict[str, str], data_row: int) -> str:
    """The import's key where the row has an objid and position (ingest/keys.py), else the objid or `row<N>`."""
    objid = (row.get(c.OBJID) or "").strip()
    try:
        return object_key(objid, float(row[c.RA]), float(row[c.DEC]))
    except (KeyError, ValueError):
        return objid or f"row{data_row}"


def iter_csv(csv_path: Path, images: Path | None, cutout_scale: float = SKYSERVER_SCALE_ARCSEC,
             features: tuple[str, ...] = FEATURES) -> Iterator[Row]:
    """Rows one at a time, cutout loaded, or with `error` set. `features`: the tabular inputs the model takes
    (inference/model.model_features): a photometric model needs no redshift column."""
    _, raw_rows = read_rows(csv_path, required=features)
    for data_row, (line, raw) in enumerate(raw_rows, start=1):
        row = Row(line=line, key=row_key(raw, data_row), label=class_label(raw))
        try:
            row.ra, row.dec = (_coordinate(raw, c.RA), _coordinate(raw, c.DEC))
            row.mags, row.redshift = parse_features(raw, redshift=c.REDSHIFT in features)
            objid = (raw.get(c.OBJID) or "").strip()
            path = (objid and find_image(images, objid, data_row)) or find_image(images, row.key, data_row)
            if path is None:
                raise RowRejected("no_image", c.IMAGE, f"no {row.key} or row{data_row} .jpg/.jpeg/.png in {images}")
            row.image_jpeg = load_cutout(path, cutout_scale)
        except RowRejected as r:
            row.fail(f"{csv_path.name} line {line}", r)
        yield row


def _coordinate(raw: dict[str, str], name: str) -> float:
    """ra/dec where the CSV has them (they only travel to the output), else NaN; never a reason to refuse a row."""
    try:
        return float(raw.get(name) or "nan")
    except ValueError:
        return float("nan")
