"""Objects to classify, from a user's CSV, FITS/VOTable/ECSV table, tf.Example records or Parquet: one check for
`sdss-predict` and both catalogue drivers, and it is the import's (ingest/rows.py).

A row refused at import is refused here for the same reason and in the same words. A bad row does not stop the
others: it becomes a Reject (file, line or record, field) and is reported, not classified.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import contract as c
from inference.model import FEATURES
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from ingest.keys import object_key
from ingest.records import SkyObject
from ingest.rows import (
    Reject,
    RowRejected,
    check_features,
    class_label,
    contract_cutout,
    cutout_from_bytes,
    image_names,
    parse_features,
)


@dataclass
class ToClassify:
    """One input row: the object the model reads, or the Reject that says why it cannot be classified."""

    line: int  # file line (CSV) or 0 (a table row, values given on the command line, or a record)
    key: str
    where: str  # `export.csv line 7`, `part-0.tfrecord.gz#objid`, `command line`
    ra: float = float("nan")
    dec: float = float("nan")
    mags: dict[str, float] = field(default_factory=dict)
    redshift: float = float("nan")
    image_jpeg: bytes = b""
    label: str = ""
    reject: Reject | None = None

    @property
    def error(self) -> str:
        """The reject's message with its reason, as `sdss-predict` prints it; '' for a classifiable object."""
        return self.reject.with_reason() if self.reject else ""

    def obj(self) -> SkyObject:
        return SkyObject(self.key, self.ra, self.dec, self.mags, self.redshift, self.image_jpeg, "")


def row_key(row: dict[str, str], data_row: int) -> str:
    """The import's key where the row has an objid and position (ingest/keys.py), else the objid or `row<N>`."""
    objid = (row.get(c.OBJID) or "").strip()
    try:
        return object_key(objid, float(row[c.RA]), float(row[c.DEC]))
    except (KeyError, ValueError):
        return objid or f"row{data_row}"


def check_row(raw: dict[str, str], line: int, data_row: int, source_name: str, images: Path | str | None,
              cutout_scale: float, features: tuple[str, ...], joined: tuple[str, bytes] | None | bool = False
              ) -> ToClassify:
    """One CSV or table row (`data_row`: its 1-based number among the data rows, which names `row<N>` cutouts and a
    table row, which has no file `line`: 0). Its cutout is looked for in the local folder `images`, unless the
    caller read it already: `joined` is then its (file name, bytes), or None where there is none (the Spark driver
    joins a Hadoop --images folder to the rows by ingest/rows.image_names)."""
    where = f"{source_name} line {line}" if line else f"{source_name} row {data_row}"
    row = ToClassify(line=line, key=row_key(raw, data_row), where=where, label=class_label(raw))
    try:
        row.ra, row.dec = (_coordinate(raw, c.RA), _coordinate(raw, c.DEC))
        row.mags, row.redshift = parse_features(raw, redshift=c.REDSHIFT in features)
        objid = (raw.get(c.OBJID) or "").strip()
        if joined is False:
            names = image_names(objid, row.key, data_row) if images is not None else []
            path = next((p for p in (Path(images) / n for n in names) if p.is_file()), None)
            joined = (path.name, path.read_bytes()) if path is not None else None
        if joined is None:
            raise RowRejected("no_image", c.IMAGE, f"no {row.key} or row{data_row} .jpg/.jpeg/.png in {images}")
        row.image_jpeg = cutout_from_bytes(joined[1], joined[0], cutout_scale)
    except RowRejected as r:
        row.reject = Reject.of(row.where, r, line, tuple(raw.values()), data_row)
    return row


def table_layout(path: Path, features: tuple[str, ...] = FEATURES):
    """A FITS/VOTable/ECSV table's columns mapped onto the model's inputs (ingest/tables.py)."""
    from ingest.tables import open_table

    return open_table(path, required=features)


def iter_table(path: Path, images: Path | None, cutout_scale: float = SKYSERVER_SCALE_ARCSEC,
               features: tuple[str, ...] = FEATURES, start: int = 0, stop: int | None = None) -> Iterator[ToClassify]:
    """A table's rows [start, stop) as `iter_csv` gives a CSV's: the same checks, named `<file> row N`."""
    from ingest.tables import iter_rows

    for data_row, raw in iter_rows(table_layout(path, features), start, stop):
        yield check_row(raw, 0, data_row, path.name, images, cutout_scale, features)


def iter_csv(csv_path: Path, images: Path | None, cutout_scale: float = SKYSERVER_SCALE_ARCSEC,
             features: tuple[str, ...] = FEATURES) -> Iterator[ToClassify]:
    """Rows one at a time, cutout loaded, or with a reject. `features`: the tabular inputs the model takes
    (inference/model.model_features): a photometric model needs no redshift column. A FITS, VOTable or ECSV file
    (by extension) is read as a table."""
    from ingest.columns import read_rows
    from ingest.tables import is_table

    if is_table(csv_path):
        yield from iter_table(csv_path, images, cutout_scale, features)
        return
    _, raw_rows = read_rows(csv_path, required=features)
    for data_row, (line, raw) in enumerate(raw_rows, start=1):
        yield check_row(raw, line, data_row, csv_path.name, images, cutout_scale, features)


def check_object(where: str, obj: SkyObject, features: tuple[str, ...]) -> ToClassify:
    """A record's or Parquet row's object, checked as a CSV row is (values, then the contract's cutout)."""
    row = ToClassify(line=0, key=obj.objid, where=where, ra=obj.ra, dec=obj.dec, mags=dict(obj.mags),
                     redshift=obj.redshift, image_jpeg=obj.image_jpeg)
    try:
        check_features({**obj.mags, c.REDSHIFT: obj.redshift}, features)
        contract_cutout(obj.image_jpeg, "cutout")  # the reject's detail already says where
    except RowRejected as r:
        row.reject = Reject.of(where, r)
    return row


def check_record(filename: str, serialized: bytes, features: tuple[str, ...]) -> ToClassify:
    """A serialized tf.Example (its class, if any, ignored)."""
    from ingest.records import from_example

    name = Path(filename).name
    try:
        obj = from_example(serialized)
    except Exception as e:  # noqa: BLE001 - any undecodable record is one reject, never a failed job
        return ToClassify(line=0, key="", where=name, reject=Reject(
            name, "bad_record", "record", f"not a tf.Example with objid and image ({type(e).__name__})"))
    return check_object(f"{name}#{obj.objid}", obj, features)


def check_parquet_row(filename: str, values: dict[str, Any], features: tuple[str, ...]) -> ToClassify:
    """A Parquet row with the record's columns: objid, ra, dec, u..z, redshift (optional), image (JPEG bytes)."""
    name = Path(filename).name
    objid = str(values.get(c.OBJID) or "")
    where = f"{name}#{objid}"

    def number(key: str) -> float:
        v = values.get(key)
        return float("nan") if v is None else float(v)

    image = values.get(c.IMAGE)
    obj = SkyObject(objid, number(c.RA), number(c.DEC), {b: number(b) for b in c.BANDS}, number(c.REDSHIFT),
                    image if isinstance(image, bytes) else b"", "")
    return check_object(where, obj, features)


def _coordinate(raw: dict[str, str], name: str) -> float:
    """ra/dec where the CSV has them (they only travel to the output), else NaN; never a reason to refuse a row."""
    try:
        return float(raw.get(name) or "nan")
    except ValueError:
        return float("nan")
