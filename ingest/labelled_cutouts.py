"""Import a folder of labelled cutouts (no photometry) as image-only records, to train the image encoder.

    python -m ingest cutouts --labels labels.csv --images images/ --out data/real_cutouts --cutout-scale 0.4

`labels.csv` needs `objid` and `class` columns (others are ignored); each
cutout is `<objid>.jpg` (or .jpeg/.png) and is brought to the contract's field
by `ingest/cutout.py`. Records carry objid, image and class only, split by
the same objid hash as every other import, and are validated against
`schema/image_schema.pbtxt`. Every row is written or rejected, with the reason
in `<out>/rejects.csv`.
"""

from __future__ import annotations

import collections
from pathlib import Path

import contract as c
from ingest.columns import read_rows
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from ingest.import_report import SPLIT_BY_OBJECT, ImportReport, finish, reject, split_group
from ingest.keys import field_key
from ingest.provenance import LABELLED_CUTOUTS
from ingest.rows import Reject, RowRejected, class_label, find_image, known_class, load_cutout
from ingest.staging import check_target

REQUIRED = (c.OBJID, c.LABEL)


def import_cutouts(labels_csv: str, images_dir: str, out_dir: str,
                   cutout_scale: float = SKYSERVER_SCALE_ARCSEC, per_class: int | None = None,
                   fractions: tuple[float, ...] = c.DEFAULT_SPLIT_FRACTIONS, overwrite: bool = False,
                   split_by: str = SPLIT_BY_OBJECT, held_out: str | None = None) -> ImportReport:
    """`per_class` keeps the first N accepted rows of each class (a small slice for tests); the rest is not read.

    `held_out`, a records folder (a multimodal import), refuses every cutout of an object in it, any split
    (`held_out`), and every other cutout from an SDSS field of its eval or test split (`held_out_field`, from the
    objid's bits): an encoder trained on these records never sees an object a fusion model built on it trains, is
    chosen or scored on, nor the seeing, sky and neighbours of a field it is chosen or scored on. So its outputs on
    the fusion train rows are out of sample too, as the forest head that reads them needs (trainer/crossfit.py)."""
    from ingest.records import image_only  # imports TensorFlow

    csv_p, img_dir, out = Path(labels_csv), Path(images_dir), Path(out_dir)
    check_target(out, overwrite)
    header, rows = read_rows(csv_p, required=REQUIRED)
    if per_class is not None:
        taken: collections.Counter = collections.Counter()
        kept = []
        for line, row in rows:
            label = class_label(row)
            if taken[label] < per_class:
                taken[label] += 1
                kept.append((line, row))
        rows = kept
    objs: list = []
    groups: list[str] = []
    rejects: list[Reject] = []
    seen: dict[str, int] = {}
    holdout, holdout_fields = held_out_objects(held_out) if held_out else ({}, {})
    for data_row, (line, row) in enumerate(rows, start=1):
        try:
            objid = (row.get(c.OBJID) or "").strip()
            if not objid:
                raise RowRejected("no_objid", c.OBJID, "empty objid")
            label = known_class(row)
            if objid in seen:
                raise RowRejected("duplicate_objid", c.OBJID, f"objid {objid} already read at line {seen[objid]}")
            if objid in holdout:
                raise RowRejected("held_out", c.OBJID, f"objid {objid} is in the {holdout[objid]} split of "
                                  f"{held_out}: a model built on this encoder trains, is chosen or scored on it")
            seen_field = field_key(row, objid)
            if seen_field in holdout_fields:
                raise RowRejected("held_out_field", c.OBJID, f"objid {objid} is in field {seen_field}, a field of "
                                  f"the {holdout_fields[seen_field]} split of {held_out}")
            group = split_group(split_by, row, objid)
            path = find_image(img_dir, objid, data_row)
            if path is None:
                raise RowRejected("no_image", c.IMAGE, f"no {objid}.jpg or row{data_row}.jpg in {img_dir}")
            jpeg = load_cutout(path, cutout_scale)
        except RowRejected as r:
            reject(rejects, csv_p, line, row, r, data_row)
            continue
        seen[objid] = line
        objs.append(image_only(objid, jpeg, label))
        groups.append(group or "")
    return finish(objs, rejects, len(rows), header, out, fractions, {
        "kind": LABELLED_CUTOUTS, "source_csv": str(csv_p), "images": str(img_dir), "simulated_images": 0,
        "cutout_scale_arcsec": cutout_scale, "held_out_from": held_out,
        "held_out_objects": sum(1 for rj in rejects if rj.reason == "held_out"),
        "held_out_field_objects": sum(1 for rj in rejects if rj.reason == "held_out_field")},
        overwrite=overwrite, groups=groups if split_by != SPLIT_BY_OBJECT else None)


def held_out_objects(data_dir: str) -> tuple[dict[str, str], dict[str, str]]:
    """(objid -> split for every object of a records folder, field -> split for every field of its eval and test
    splits), fields decoded from the objids."""
    from ingest.records import read_split  # imports TensorFlow

    if not Path(data_dir).is_dir():
        raise ValueError(f"--held-out {data_dir}: no such records folder (import the multimodal set first)")
    objids = {o.objid: s for s in c.SPLITS for o in read_split(data_dir, s)}
    if not any(s != "train" for s in objids.values()):
        raise ValueError(f"--held-out {data_dir}: its eval and test splits hold no records")
    fields = {}
    for objid, split in objids.items():
        field = field_key({}, objid)  # decoded from an exact objid's bits
        if split != "train" and field is not None:
            fields[field] = split
    return objids, fields
