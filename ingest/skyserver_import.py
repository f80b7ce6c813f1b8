"""Import a user's SkyServer SQL export (plus a folder of cutouts) into pipeline records.

    python -m ingest import --csv export.csv --images cutouts/ --out data/mine [--simulate-missing-images]
    python -m ingest import --table casjobs.fits --images cutouts/ --out data/mine     (or .vot, .xml, .ecsv)

The table's format goes by its extension (ingest/tables.py): a FITS binary table, a VOTable or ECSV through astropy,
anything else as CSV. A table row is named by its 1-based row number (`export.fits row 7`), a CSV row by its file
line; rejects.csv has both columns, and `row` means the same in every format.

Columns may use another dialect's names (ingest/columns.py: Kaggle SDSS17's
obj_ID/alpha/delta, SpecPhotoAll's modelMag_*); the mapping used is printed.

Keys and cutout names (ingest/keys.py). An objid written as plain digits that
no other row shares at another position is the key, and its cutout is
`<objid>.jpg`. Any other objid (float notation, or one id at several positions:
rounded through float64) is inexact: the key becomes `J<ra>±<dec>` (5 decimals)
and the cutout `<key>.jpg`. Either way `row<N>.jpg`, N the 1-based data row,
is accepted too, as are `.jpeg` and `.png`. The same id within 1" is the same
object listed twice: rejected as `duplicate_objid`.

Splits: by default each object's key is hashed into train/eval/test. With
`--split-by field` the hash is of the object's SDSS field (run, camcol, field:
from those columns, else decoded from an exact objid), so objects that share
seeing, sky and neighbours never straddle a split; the summary records it.

Nothing is dropped silently: every row is written or rejected, and rejects
go to `<out>/rejects.csv` with the line, field and reason (ingest/rows.py says
why a row is refused, ingest/import_report.py writes the folder). The output
folder appears only when complete (ingest/staging.py); a non-empty one is
replaced only with --overwrite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import contract as c
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from ingest.import_report import SPLIT_BY_OBJECT, ImportReport, finish, reject, split_group
from ingest.keys import Sighting, assign_keys, object_key
from ingest.rows import LabelledRow, Reject, RowRejected, find_image, load_cutout, parse_labelled
from ingest.staging import check_target
from ingest.tables import read_any

REQUIRED = (c.OBJID, c.RA, c.DEC, *c.BANDS, c.LABEL)
# A photometric catalogue has no spectroscopic redshift: without the column, records carry none (--inputs photometric).
OPTIONAL = (c.REDSHIFT,)


def import_export(csv_path: str, images_dir: str | None, out_dir: str, simulate_missing_images: bool = False,
                  seed: int = 0, fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS,
                  cutout_scale: float = SKYSERVER_SCALE_ARCSEC, overwrite: bool = False,
                  split_by: str = SPLIT_BY_OBJECT) -> ImportReport:
    """`split_by` "field" puts every object of one SDSS field in the same split (ingest/import_report.split_group)."""
    from ingest.records import SkyObject  # imports TensorFlow

    csv_p, out = Path(csv_path), Path(out_dir)
    check_target(out, overwrite)
    img_dir = Path(images_dir) if images_dir else None
    header, rows = read_any(csv_p, REQUIRED, OPTIONAL)
    with_redshift = c.REDSHIFT in header.mapping
    if not with_redshift and simulate_missing_images:
        raise ValueError(f"{csv_p}: no redshift column, and simulated cutouts need one (a galaxy's size depends on "
                         "it); give real cutouts with --images")
    rejects: list[Reject] = []
    parsed: dict[int, LabelledRow] = {}
    for k, (line, data_row, row) in enumerate(rows):
        try:
            parsed[k] = parse_labelled(row, with_redshift)
        except RowRejected as r:
            reject(rejects, csv_p, line, row, r, data_row)
    order = sorted(parsed)
    keys = assign_keys([Sighting(rows[k][0] or rows[k][1], rows[k][2].get(c.OBJID) or "", parsed[k].ra,
                                 parsed[k].dec) for k in order], "line" if rows and rows[0][0] else "row")
    # Accepted objects; image_jpeg is None until a cutout is simulated for it (--simulate-missing-images).
    accepted: list[SkyObject] = []
    groups: list[str] = []
    for j, k in enumerate(order):
        line, data_row, row = rows[k]
        p = parsed[k]
        try:
            if j in keys.duplicate:
                raise RowRejected("duplicate_objid", c.OBJID, keys.duplicate[j])
            key = keys.key[j]
            group = split_group(split_by, row, key)
            path = find_image(img_dir, key, data_row)
            if path is None and not simulate_missing_images:
                rekeyed = key != object_key(row[c.OBJID], p.ra, p.dec)
                shared = (f"; objid {row[c.OBJID].strip()} is shared by objects at different positions, so "
                          "this cutout must be named by position") if rekeyed else ""
                raise RowRejected("no_image", c.IMAGE, f"no {key}.jpg or row{data_row}.jpg in {img_dir}{shared}")
            jpeg = load_cutout(path, cutout_scale) if path is not None else None
        except RowRejected as r:
            reject(rejects, csv_p, line, row, r, data_row)
            continue
        accepted.append(SkyObject(key, p.ra, p.dec, p.mags, p.redshift, jpeg, p.label))
        groups.append(group or "")

    missing = [k for k, o in enumerate(accepted) if o.image_jpeg is None]
    if missing:
        from simulator.simulate import render_cutouts

        todo = [accepted[k] for k in missing]
        jpegs = render_cutouts([o.label for o in todo], np.array([[o.mags[b] for b in c.BANDS] for o in todo]),
                               np.array([o.redshift for o in todo]), seed)
        for k, jpeg in zip(missing, jpegs):
            accepted[k] = dataclasses.replace(accepted[k], image_jpeg=jpeg)

    notes = [] if with_redshift else ["no redshift column: the records carry no redshift; train on them with "
                                      "`run_local.py --inputs photometric`"]
    if keys.inexact:
        n_rows = sum(keys.inexact.values())
        notes.append(f"{n_rows} objects share {len(keys.inexact)} objids at different positions (ids rounded "
                     "through float64?): keyed by position J<ra><dec> instead, not rejected")
    return finish(accepted, rejects, len(rows), header, out, fractions, {
        "source_csv": str(csv_p), "images": str(img_dir), "simulated_images": len(missing),
        "cutout_scale_arcsec": cutout_scale, "inexact_objids": dict(list(keys.inexact.items())[:100]),
        "objects_keyed_by_position": sum(keys.inexact.values())}, notes, overwrite,
        groups if split_by != SPLIT_BY_OBJECT else None)
