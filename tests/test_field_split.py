"""Splitting by SDSS field, and an image encoder that never sees a fusion model's eval or test cutout.

On real data: a slice of ../shared/data/real_multimodal (photometry + each object's own cutout) and the real cutouts
that share objects with it. These tests fail, not skip, without ../shared: CI provides it."""

import collections
import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import contract as c
from ingest import records
from ingest.keys import field_of_objid
from ingest.labelled_cutouts import import_cutouts
from ingest.skyserver_import import import_export
from tests.helpers import REPO, SHARED_DATA

SHARED = SHARED_DATA
MULTIMODAL = SHARED / "real_multimodal"
CUTOUTS = SHARED / "real_cutouts"


def _need(path: Path) -> Path:
    assert path.exists(), f"{path} is missing: these tests read ../shared/data (CI provides it beside the clone)"
    return path


@pytest.fixture(scope="module")
def overlap_csv(tmp_path_factory) -> Path:
    """600 real_multimodal rows: every one whose cutout is also in real_cutouts comes first (up to 400), then others;
    written with their run/camcol/field columns."""
    pairs = pd.read_csv(_need(MULTIMODAL / "pairs.csv"), dtype={"objid": str})
    in_cutouts = set(pd.read_csv(_need(CUTOUTS / "labels.csv"), dtype={"objid": str})["objid"])
    shared = pairs[pairs["objid"].isin(in_cutouts)].head(400)
    rest = pairs[~pairs["objid"].isin(in_cutouts)].head(600 - len(shared))
    out = tmp_path_factory.mktemp("overlap") / "pairs.csv"
    pd.concat([shared, rest]).to_csv(out, index=False)
    return out


@pytest.fixture(scope="module")
def by_field(overlap_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("by_field") / "records"
    proc = subprocess.run([sys.executable, "-m", "ingest", "import", "--split-by", "field", "--csv", str(overlap_csv),
                           "--images", str(MULTIMODAL / "images"), "--cutout-scale", "0.4", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _splits(data: Path) -> dict[str, list[records.SkyObject]]:
    return {s: list(records.read_split(data, s)) for s in c.SPLITS}


def test_split_by_field_keeps_every_field_in_one_split(overlap_csv, by_field):
    rows = pd.read_csv(overlap_csv, dtype={"objid": str}).set_index("objid")
    where: dict[tuple, set[str]] = collections.defaultdict(set)
    for split, objs in _splits(by_field).items():
        for o in objs:
            row = rows.loc[o.objid]
            where[(row["run"], row["camcol"], row["field"])].add(split)
            assert field_of_objid(o.objid) == (row["run"], row["camcol"], row["field"])  # the bits say the same
    assert all(len(s) == 1 for s in where.values())
    assert sum(1 for s in where.values()) > 100 and len(set().union(*where.values())) == 3
    # Fields with several objects exist in this slice, so the test can fail: by object they would straddle.
    by_object = collections.defaultdict(set)
    for key, o in ((k, records.split_of(k)) for k in rows.index):
        r = rows.loc[key]
        by_object[(r["run"], r["camcol"], r["field"])].add(o)
    assert any(len(s) > 1 for s in by_object.values())
    summary = json.loads((by_field / "import_summary.json").read_text())
    assert summary["split_by"] == "field" and sum(summary["fields_per_split"].values()) == len(where)


def test_split_by_field_is_deterministic_and_reads_the_objid_without_field_columns(overlap_csv, by_field, tmp_path):
    """Without run/camcol/field columns the field is decoded from the exact objid: the same split, object by object."""
    slim = tmp_path / "slim.csv"
    pd.read_csv(overlap_csv, dtype={"objid": str}).drop(columns=["run", "rerun", "camcol", "field"]).to_csv(
        slim, index=False)
    import_export(str(slim), str(MULTIMODAL / "images"), str(tmp_path / "again"), cutout_scale=0.4, split_by="field")
    first, again = _splits(by_field), _splits(tmp_path / "again")
    assert {s: sorted(o.objid for o in v) for s, v in first.items()} == {
        s: sorted(o.objid for o in v) for s, v in again.items()}


def test_a_row_without_a_field_is_rejected_by_field_split_and_counted(tmp_path, overlap_csv):
    df = pd.read_csv(overlap_csv, dtype={"objid": str}).head(5).drop(columns=["run", "rerun", "camcol", "field"])
    df.loc[0, "objid"] = "1.23764587955100E+018"  # float-rounded: it tells no field
    df.to_csv(tmp_path / "x.csv", index=False)
    report = import_export(str(tmp_path / "x.csv"), str(MULTIMODAL / "images"), str(tmp_path / "out"),
                           cutout_scale=0.4, split_by="field")
    assert (report.read, report.written, report.rejected) == (5, 4, 1) and report.by_reason == {"no_field": 1}
    with open(tmp_path / "out" / "rejects.csv") as fh:
        (rejected,) = list(csv.DictReader(fh))
    assert rejected["field"] == "field" and "x.csv line 2" in rejected["detail"] and "exact SDSS objid" in rejected[
        "detail"]


def test_the_encoder_import_holds_no_fusion_object_and_no_eval_or_test_field(by_field, overlap_csv, tmp_path):
    splits = _splits(by_field)
    fusion = {o.objid for objs in splits.values() for o in objs}
    held_fields = {field_of_objid(o.objid) for s, objs in splits.items() if s != "train" for o in objs}
    overlap = set(pd.read_csv(overlap_csv, dtype={"objid": str})["objid"])
    labels = pd.read_csv(CUTOUTS / "labels.csv", dtype={"objid": str})
    # The cutouts that share objects with the slice, and as many that do not.
    mine = pd.concat([labels[labels["objid"].isin(overlap)], labels[~labels["objid"].isin(overlap)].head(100)])
    mine.to_csv(tmp_path / "labels.csv", index=False)
    same_object = set(mine["objid"]) & fusion
    same_field = {o for o in set(mine["objid"]) - fusion if field_of_objid(o) in held_fields}
    assert len(same_object) > 20 and same_field  # the test can fail: these would be trained on without --held-out
    out = tmp_path / "encoder_records"
    report = import_cutouts(str(tmp_path / "labels.csv"), str(CUTOUTS / "images"), str(out), cutout_scale=0.4,
                            held_out=str(by_field))
    written = {o.objid for s in c.SPLITS for o in records.read_split(out, s)}
    assert not written & fusion and not {field_of_objid(o) for o in written} & held_fields
    assert report.by_reason == {"held_out": len(same_object), "held_out_field": len(same_field)}
    assert report.read == report.written + report.rejected
    with open(out / "rejects.csv") as fh:
        details = [r["detail"] for r in csv.DictReader(fh)]
    assert all("split of" in d and str(by_field) in d for d in details)
    summary = json.loads((out / "import_summary.json").read_text())
    assert summary["held_out_from"] == str(by_field) and summary["held_out_objects"] == len(same_object)
    assert summary["held_out_field_objects"] == len(same_field)
