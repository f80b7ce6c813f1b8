"""Import a user's SkyServer SQL export (plus a folder of cutouts) into pipeline records.

    python -m ingest import --csv export.csv --images cutouts/ --out data/mine [--simulate-missing-images]

Columns may use another dialect's names (ingest/columns.py: Kaggle SDSS17's
obj_ID/alpha/delta, SpecPhotoAll's modelMag_*); the mapping used is printed.

Keys and cutout names (ingest/keys.py). An objid written as plain digits that
no other row shares at another position is the key, and its cutout is
`<objid>.jpg`. Any other objid (float notation, or one id at several positions:
rounded through float64) is inexact: the key becomes `J<ra>±<dec>` (5 decimals)
and the cutout `<key>.jpg`. Either way `row<N>.jpg`, N the 1-based data row,
is accepted too, as are `.jpeg` and `.png`. The same id within 1" is the same
object listed twice: rejected as `duplicate_objid`.

Nothing is dropped silently: every row is written or rejected, and rejects
go to `<out>/rejects.csv` with the line, field and reason. The output folder
appears only when complete (ingest/staging.py); a non-empty one is replaced
only with --overwrite.
"""

from __future__ import annotations

import collections
import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest import contract as c
from ingest.columns import Header, read_rows
from ingest.cutout import SKYSERVER_SCALE_ARCSEC, CutoutRejected, to_contract
from ingest.keys import Row, assign_keys, object_key
from ingest.provenance import IMPORT_SUMMARY
from ingest.staging import check_target, staged

REQUIRED = (c.OBJID, c.RA, c.DEC, *c.BANDS, c.LABEL)
# A photometric catalogue has no spectroscopic redshift: without the column, records carry none (--inputs photometric).
OPTIONAL = (c.REDSHIFT,)
SENTINELS = (-9999.0, 99.0, -99.0, 9999.0)
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
REJECTS_FILE = "rejects.csv"


class RowRejected(Exception):
    def __init__(self, reason: str, field: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.field, self.detail = reason, field, detail


@dataclass
class ImportReport:
    read: int
    written: int
    rejected: int
    by_reason: dict[str, int]
    splits: dict[str, int]
    rejects_path: str
    simulated_images: int = 0
    notes: list[str] = field(default_factory=list)  # what the user should know: renamed columns, re-keyed ids

    def line(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.by_reason.items())) or "none"
        simulated = f"; {self.simulated_images} of {self.written} cutouts SIMULATED" if self.simulated_images else ""
        return (f"read {self.read}, written {self.written}, rejected {self.rejected} (by reason: {reasons})"
                + simulated)


def _float(row: dict[str, str], field: str, lo: float, hi: float, reason: str) -> float:
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


def find_image(images_dir: Path | None, key: str, data_row: int) -> Path | None:
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


def parse_features(row: dict[str, str], redshift: bool = True) -> tuple[dict[str, float], float]:
    """The model's tabular inputs (magnitudes, and the redshift unless `redshift` is False: then NaN, as for an
    object without a spectrum), validated as on import; raises RowRejected."""
    mags = {b: _float(row, b, *c.MAG_RANGE, "bad_magnitude") for b in c.BANDS}
    return mags, _float(row, c.REDSHIFT, *c.REDSHIFT_RANGE, "bad_redshift") if redshift else float("nan")


def parse_row(row: dict[str, str], redshift: bool = True) -> tuple[float, float, dict[str, float], float, str]:
    ra = _float(row, c.RA, *c.RA_RANGE, "bad_coordinates")
    dec = _float(row, c.DEC, *c.DEC_RANGE, "bad_coordinates")
    mags, z = parse_features(row, redshift)
    label = (row.get(c.LABEL) or "").strip().upper()
    if label not in c.CLASS_NAMES:
        raise RowRejected("unknown_class", c.LABEL, f"{row.get(c.LABEL)!r} is not one of {list(c.CLASS_NAMES)}")
    return ra, dec, mags, z, label


Rejects = list[tuple[int, dict[str, str], RowRejected]]


def _reject(rejects: Rejects, csv_name: str, line: int, row: dict[str, str], r: RowRejected) -> None:
    r.detail = f"{csv_name} line {line}, field '{r.field}': {r.detail}"
    rejects.append((line, row, r))


def import_export(csv_path: str, images_dir: str | None, out_dir: str, simulate_missing_images: bool = False,
                  seed: int = 0, fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS,
                  cutout_scale: float = SKYSERVER_SCALE_ARCSEC, overwrite: bool = False) -> ImportReport:
    from ingest.records import SkyObject  # imports TensorFlow

    csv_p, out = Path(csv_path), Path(out_dir)
    check_target(out, overwrite)
    img_dir = Path(images_dir) if images_dir else None
    header, rows = read_rows(csv_p, REQUIRED, OPTIONAL)
    with_redshift = c.REDSHIFT in header.mapping
    if not with_redshift and simulate_missing_images:
        raise ValueError(f"{csv_p}: no redshift column, and simulated cutouts need one (a galaxy's size depends on "
                         "it); give real cutouts with --images")
    rejects: Rejects = []
    parsed: dict[int, tuple[float, float, dict[str, float], float, str]] = {}
    for k, (line, row) in enumerate(rows):
        try:
            parsed[k] = parse_row(row, with_redshift)
        except RowRejected as r:
            _reject(rejects, csv_p.name, line, row, r)
    order = sorted(parsed)
    keys = assign_keys([Row(rows[k][0], rows[k][1].get(c.OBJID) or "", parsed[k][0], parsed[k][1]) for k in order])
    accepted: list[tuple[str, float, float, dict[str, float], float, str, bytes | None]] = []
    for j, k in enumerate(order):
        line, row = rows[k]
        try:
            if j in keys.duplicate:
                raise RowRejected("duplicate_objid", c.OBJID, keys.duplicate[j])
            key = keys.key[j]
            path = find_image(img_dir, key, k + 1)
            if path is None and not simulate_missing_images:
                rekeyed = key != object_key(row[c.OBJID], *parsed[k][:2])
                shared = (f"; objid {row[c.OBJID].strip()} is shared by objects at different positions, so "
                          "this cutout must be named by position") if rekeyed else ""
                raise RowRejected("no_image", c.IMAGE, f"no {key}.jpg or row{k + 1}.jpg in {img_dir}{shared}")
            jpeg = load_cutout(path, cutout_scale) if path is not None else None
        except RowRejected as r:
            _reject(rejects, csv_p.name, line, row, r)
            continue
        accepted.append((key, *parsed[k], jpeg))
    rejects.sort(key=lambda t: t[0])

    missing = [k for k, a in enumerate(accepted) if a[6] is None]
    if missing:
        from ingest.simulate import render_cutouts

        mags_arr = np.array([[accepted[k][3][b] for b in c.BANDS] for k in missing])
        jpegs = render_cutouts([accepted[k][5] for k in missing], mags_arr,
                               np.array([accepted[k][4] for k in missing]), seed)
        for k, jpeg in zip(missing, jpegs):
            accepted[k] = (*accepted[k][:6], jpeg)

    notes = [] if with_redshift else ["no redshift column: the records carry no redshift; train on them with "
                                      "`run_local.py --inputs photometric`"]
    if keys.inexact:
        n_rows = sum(keys.inexact.values())
        notes.append(f"{n_rows} objects share {len(keys.inexact)} objids at different positions (ids rounded "
                     "through float64?): keyed by position J<ra><dec> instead, not rejected")
    objs = [SkyObject(key, ra, dec, mags, z, jpeg, label) for key, ra, dec, mags, z, label, jpeg in accepted]
    return finish(objs, rejects, len(rows), header, out, fractions, {
        "source_csv": str(csv_p), "images": str(img_dir), "simulated_images": len(missing),
        "cutout_scale_arcsec": cutout_scale, "inexact_objids": dict(list(keys.inexact.items())[:100]),
        "objects_keyed_by_position": sum(keys.inexact.values())}, notes, overwrite)


def finish(objs: list, rejects: Rejects, read: int, header: Header, out: Path, fractions: Sequence[float],
           summary: dict, notes: list[str] | None = None, overwrite: bool = False) -> ImportReport:
    """Writes records, rejects.csv and the summary into a staged folder that becomes `out` only when complete.

    Checks read = written + rejected on every run; with nothing accepted the folder still holds the rejects.
    """
    from ingest.records import write_all  # imports TensorFlow

    notes = list(notes or [])
    if header.renamed():
        notes.insert(0, f"columns read under other names: {header.describe()}")
    by_reason = dict(collections.Counter(r.reason for _, _, r in rejects))
    with staged(out, overwrite) as tmp:
        splits = write_all(objs, tmp, fractions)
        with open(tmp / REJECTS_FILE, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["line", "reason", "field", "detail", *header.original])
            for line, row, r in rejects:
                w.writerow([line, r.reason, r.field, r.detail, *row.values()])
        report = ImportReport(read, len(objs), len(rejects), by_reason, splits, str(out / REJECTS_FILE),
                              summary.get("simulated_images", 0), notes)
        if report.read != report.written + report.rejected:
            raise AssertionError(f"row accounting broken: {report.line()}")
        (tmp / IMPORT_SUMMARY).write_text(json.dumps(
            {**report.__dict__, **summary, "column_mapping": header.mapping}, indent=1))
    return report
