"""Import a user's SkyServer SQL export (plus a folder of cutouts) into pipeline records.

    python -m ingest import --csv export.csv --images cutouts/ --out data/mine [--simulate-missing-images]

Keys and cutout names. SkyServer objids are exact 64-bit integers, but many
tools write them as floats (1.23764870457714E+018), which collide. An objid
written as plain digits is the key, and its cutout is `<objid>.jpg`. Any other
objid is inexact: the key becomes `J<ra>±<dec>` (5 decimals, from the exact
coordinates) and the cutout is `<key>.jpg`. Either way `row<N>.jpg`, N the
1-based data row, is accepted too. `.jpeg` and `.png` work as well.

Nothing is dropped silently: every row is written or rejected, and rejects
go to `<out>/rejects.csv` with the line, field and reason.
"""

from __future__ import annotations

import collections
import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest import contract as c
from ingest.cutout import SKYSERVER_SCALE_ARCSEC, CutoutRejected, to_contract
from ingest.provenance import IMPORT_SUMMARY

REQUIRED = (c.OBJID, c.RA, c.DEC, *c.BANDS, c.LABEL, c.REDSHIFT)
SENTINELS = (-9999.0, 99.0, -99.0, 9999.0)
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
EXACT_OBJID = re.compile(r"^\d{1,20}$")


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

    def line(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.by_reason.items())) or "none"
        return f"read {self.read}, written {self.written}, rejected {self.rejected} (by reason: {reasons})"


def read_rows(csv_path: Path,
              required: Sequence[str] = REQUIRED) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(original header, [(file line number, row keyed by lower-case column)]); skips SkyServer's '#Table1' lines."""
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        lines = [(n, text) for n, text in enumerate(f, start=1) if not text.startswith("#") and text.strip()]
    if not lines:
        raise ValueError(f"{csv_path}: no header row")
    reader = csv.reader(text for _, text in lines)
    header = next(reader)
    keys = [h.strip().lower() for h in header]
    missing = [k for k in required if k not in keys]
    if missing:
        raise ValueError(f"{csv_path} line {lines[0][0]}: missing column(s) {missing}; header is {header}")
    rows = [(lines[k + 1][0], dict(zip(keys, values))) for k, values in enumerate(reader)]
    return header, rows


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


def object_key(objid_text: str, ra: float, dec: float) -> str:
    text = objid_text.strip()
    return text if EXACT_OBJID.match(text) else f"J{ra:.5f}{dec:+.5f}"


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


def parse_features(row: dict[str, str]) -> tuple[dict[str, float], float]:
    """The model's tabular inputs (magnitudes, redshift), validated as on import; raises RowRejected."""
    mags = {b: _float(row, b, *c.MAG_RANGE, "bad_magnitude") for b in c.BANDS}
    return mags, _float(row, c.REDSHIFT, *c.REDSHIFT_RANGE, "bad_redshift")


def parse_row(row: dict[str, str]) -> tuple[str, float, float, dict[str, float], float, str]:
    ra = _float(row, c.RA, *c.RA_RANGE, "bad_coordinates")
    dec = _float(row, c.DEC, *c.DEC_RANGE, "bad_coordinates")
    mags, z = parse_features(row)
    label = (row.get(c.LABEL) or "").strip().upper()
    if label not in c.CLASS_NAMES:
        raise RowRejected("unknown_class", c.LABEL, f"{row.get(c.LABEL)!r} is not one of {list(c.CLASS_NAMES)}")
    return object_key(row.get(c.OBJID) or "", ra, dec), ra, dec, mags, z, label


def import_export(csv_path: str, images_dir: str | None, out_dir: str, simulate_missing_images: bool = False,
                  seed: int = 0, fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS,
                  cutout_scale: float = SKYSERVER_SCALE_ARCSEC) -> ImportReport:
    from ingest.records import SkyObject  # imports TensorFlow

    csv_p, out = Path(csv_path), Path(out_dir)
    img_dir = Path(images_dir) if images_dir else None
    header, rows = read_rows(csv_p)
    accepted: list[tuple[str, float, float, dict[str, float], float, str, bytes | None]] = []
    rejects: list[tuple[int, dict[str, str], RowRejected]] = []
    seen: dict[str, int] = {}
    for data_row, (line, row) in enumerate(rows, start=1):
        try:
            key, ra, dec, mags, z, label = parse_row(row)
            if key in seen:
                raise RowRejected("duplicate_objid", c.OBJID, f"key {key} already read at line {seen[key]}")
            path = find_image(img_dir, key, data_row)
            if path is None and not simulate_missing_images:
                raise RowRejected("no_image", c.IMAGE, f"no {key}.jpg or row{data_row}.jpg in {img_dir}")
            jpeg = load_cutout(path, cutout_scale) if path is not None else None
        except RowRejected as r:
            r.detail = f"{csv_p.name} line {line}, field '{r.field}': {r.detail}"
            rejects.append((line, row, r))
            continue
        seen[key] = line
        accepted.append((key, ra, dec, mags, z, label, jpeg))

    missing = [k for k, a in enumerate(accepted) if a[6] is None]
    if missing:
        from ingest.simulate import render_cutouts

        mags_arr = np.array([[accepted[k][3][b] for b in c.BANDS] for k in missing])
        jpegs = render_cutouts([accepted[k][5] for k in missing], mags_arr,
                               np.array([accepted[k][4] for k in missing]), seed)
        for k, jpeg in zip(missing, jpegs):
            accepted[k] = (*accepted[k][:6], jpeg)

    objs = [SkyObject(key, ra, dec, mags, z, jpeg, label) for key, ra, dec, mags, z, label, jpeg in accepted]
    return finish(objs, rejects, len(rows), header, out, fractions, {
        "source_csv": str(csv_p), "images": str(img_dir), "simulated_images": len(missing),
        "cutout_scale_arcsec": cutout_scale})


def finish(objs: list, rejects: list[tuple[int, dict[str, str], RowRejected]], read: int, header: list[str],
           out: Path, fractions: Sequence[float], summary: dict) -> ImportReport:
    """Writes records, rejects.csv and the summary; checks read = written + rejected on every run."""
    from ingest.records import write_all  # imports TensorFlow

    out.mkdir(parents=True, exist_ok=True)
    splits = write_all(objs, out, fractions)
    rejects_path = out / "rejects.csv"
    with open(rejects_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["line", "reason", "field", "detail", *header])
        for line, row, r in rejects:
            w.writerow([line, r.reason, r.field, r.detail, *row.values()])
    by_reason = dict(collections.Counter(r.reason for _, _, r in rejects))
    report = ImportReport(read, len(objs), len(rejects), by_reason, splits, str(rejects_path))
    if report.read != report.written + report.rejected:
        raise AssertionError(f"row accounting broken: {report.line()}")
    (out / IMPORT_SUMMARY).write_text(json.dumps({**report.__dict__, **summary}, indent=1))
    return report
