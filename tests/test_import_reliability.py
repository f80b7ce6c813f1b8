"""What a new user's first imports run into: re-imports, all-rejected files, float-rounded objids,
interrupted writes, other tables' column names. Each test replays one finding of the "Nothing lost" issue."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import contract as c
from ingest import records
from ingest.keys import SAME_OBJECT_ARCSEC, Sighting, assign_keys, separation_arcsec
from ingest.provenance import IMPORT_SUMMARY
from ingest.skyserver_import import import_export
from tests.test_import import _jpeg

KAGGLE_SDSS17 = ["obj_ID", "alpha", "delta", "u", "g", "r", "i", "z", "run_ID", "rerun_ID", "cam_col", "field_ID",
                 "spec_obj_ID", "class", "redshift", "plate", "MJD", "fiber_ID"]


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _ours(objid, ra, dec, cls="STAR", z=0.0):
    return [objid, ra, dec, 18.0, 17.2, 16.8, 16.6, 16.5, cls, z]


OURS = ["objid", "ra", "dec", "u", "g", "r", "i", "z", "class", "redshift"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True)


def test_reimport_into_a_non_empty_out_is_refused_and_overwrite_replaces_it_whole(tmp_path):
    big = _write(tmp_path / "big.csv", OURS, [_ours(str(1000 + k), 10 + k, 1.0) for k in range(40)])
    small = _write(tmp_path / "small.csv", OURS, [_ours("5000", 50.0, 1.0)])
    out = tmp_path / "rec"
    import_export(str(big), None, str(out), simulate_missing_images=True)
    assert sum(1 for s in c.SPLITS for _ in records.read_split(out, s)) == 40

    refused = _cli("import", "--csv", small, "--out", out, "--simulate-missing-images")
    assert refused.returncode == 2 and "is not empty: pass --overwrite" in refused.stderr

    done = _cli("import", "--csv", small, "--out", out, "--simulate-missing-images", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert [o.objid for s in c.SPLITS for o in records.read_split(out, s)] == ["5000"]  # nothing old left
    assert not list(tmp_path.glob(".rec*"))


@pytest.mark.parametrize("content", ["all_rejected", "header_only"])
def test_nothing_accepted_still_saves_and_shows_the_reasons(tmp_path, content):
    rows = [_ours(str(k), 10.0 + k, 1.0) for k in range(3)] if content == "all_rejected" else []
    src = _write(tmp_path / "e.csv", OURS, rows)
    images = tmp_path / "imgs"
    images.mkdir()
    out = tmp_path / "new" / "rec"  # parent does not exist yet either
    proc = _cli("import", "--csv", src, "--images", images, "--out", out)
    assert proc.returncode == 1
    assert f"read {len(rows)}, written 0, rejected {len(rows)}" in proc.stdout
    assert ("no row was accepted" if rows else "has a header but no data rows") in proc.stderr
    rejects = list(csv.DictReader(open(out / "rejects.csv")))
    assert len(rejects) == len(rows)
    if rows:
        assert "no_image: e.csv line 2, field 'image': no 0.jpg or row1.jpg" in proc.stderr
        assert {r["reason"] for r in rejects} == {"no_image"}
    assert json.loads((out / IMPORT_SUMMARY).read_text())["written"] == 0


def test_float_rounded_objids_are_keyed_by_position_and_true_duplicates_still_rejected(tmp_path):
    rounded = "1237678802627461376"  # a float64 value printed as digits: several objects share it
    rows = [_ours(rounded, 150.0, 2.0), _ours(rounded, 150.2, 2.1, "GALAXY", 0.1),
            _ours(rounded, 151.0, 2.5, "QSO", 1.2),
            _ours(rounded, 150.0 + 0.5 / 3600, 2.0),  # the first object again, 0.5" away: a true duplicate
            _ours("1237678802627461377", 152.0, 2.0), _ours("1237678802627461377", 152.0, 2.0)]  # exact id twice
    src = _write(tmp_path / "e.csv", OURS, rows)
    out = tmp_path / "rec"
    proc = _cli("import", "--csv", src, "--out", out, "--simulate-missing-images")
    assert proc.returncode == 0, proc.stderr
    assert "read 6, written 4, rejected 2 (by reason: duplicate_objid=2)" in proc.stdout
    assert "note: 3 objects share 1 objids at different positions" in proc.stdout
    keys = sorted(o.objid for s in c.SPLITS for o in records.read_split(out, s))
    assert keys == ["1237678802627461377", "J150.00000+2.00000", "J150.20000+2.10000", "J151.00000+2.50000"]
    summary = json.loads((out / IMPORT_SUMMARY).read_text())
    assert summary["objects_keyed_by_position"] == 3 and summary["inexact_objids"] == {rounded: 3}
    details = [r["detail"] for r in csv.DictReader(open(out / "rejects.csv"))]
    assert "line 5" in details[0] and "same object as line 2" in details[0] and '0.50" apart' in details[0]
    assert "same object as line 6" in details[1]


def test_same_object_radius_is_an_arcsecond_on_the_sky():
    assert separation_arcsec(10.0, 0.0, 10.0 + 1 / 3600, 0.0) == pytest.approx(1.0, rel=1e-6)
    assert separation_arcsec(10.0, 60.0, 10.0 + 1 / 3600, 60.0) == pytest.approx(0.5, rel=1e-4)  # cos(dec)
    keys = assign_keys([Sighting(2, "7", 10.0, 60.0), Sighting(3, "7", 10.0 + 1.8 / 3600, 60.0)])
    assert SAME_OBJECT_ARCSEC == 1.0 and 1 in keys.duplicate  # 0.9" apart at dec 60


def test_kaggle_sdss17_columns_import_by_alias_and_print_the_mapping(tmp_path):
    rows = [[str(1237660961327743000 + k), 135.7 + k, 32.5, 23.9, 22.3, 20.4, 19.2, 18.8, 3606, 301, 2, 79,
             "6.54e18", cls, z, 5812, 56354, 171] for k, (cls, z) in enumerate([("GALAXY", 0.63), ("QSO", 1.42)])]
    src = _write(tmp_path / "star_classification.csv", KAGGLE_SDSS17, rows)
    out = tmp_path / "rec"
    proc = _cli("import", "--csv", src, "--out", out, "--simulate-missing-images")
    assert proc.returncode == 0, proc.stderr
    assert "note: columns read under other names: obj_id->objid, alpha->ra, delta->dec" in proc.stdout
    objs = sorted((o for s in c.SPLITS for o in records.read_split(out, s)), key=lambda o: o.objid)
    assert [o.label for o in objs] == ["GALAXY", "QSO"]
    assert objs[0].ra == pytest.approx(135.7) and objs[1].redshift == pytest.approx(1.42)


def test_specphotoall_z_is_the_redshift_beside_modelmag_columns(tmp_path):
    header = ["objID", "ra", "dec", *(f"modelMag_{b}" for b in c.BANDS), "class", "z"]
    src = _write(tmp_path / "spa.csv", header, [["1237648704577142822", 180.0, 1.0, 19.1, 18.2, 17.9, 17.7, 17.6,
                                                 "QSO", 2.25]])
    report = import_export(str(src), None, str(tmp_path / "rec"), simulate_missing_images=True)
    (obj,) = [o for s in c.SPLITS for o in records.read_split(tmp_path / "rec", s)]
    assert report.written == 1 and obj.redshift == pytest.approx(2.25) and obj.mags["z"] == pytest.approx(17.6)


def test_unknown_header_lists_accepted_names_and_near_misses(tmp_path):
    src = _write(tmp_path / "odd.csv", ["object_id", "RA_deg", "dec", *c.BANDS, "class", "redshift"], [])
    proc = _cli("import", "--csv", src, "--out", tmp_path / "rec")
    assert proc.returncode == 2
    assert "odd.csv line 1: missing column(s) ['objid', 'ra']" in proc.stderr
    assert "objid: objid or obj_id or bestobjid" in proc.stderr and "ra: ra or alpha" in proc.stderr
    assert "'object_id' (for objid?)" in proc.stderr and "'RA_deg' (for ra?)" in proc.stderr
    assert not (tmp_path / "rec").exists()


def test_killed_import_leaves_no_dataset_and_the_next_import_succeeds(tmp_path):
    src = _write(tmp_path / "e.csv", OURS, [_ours(str(k), 10 + k * 0.01, 1.0) for k in range(3000)])
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "import", "--csv", str(src), "--out", str(out),
                             "--simulate-missing-images"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".rec.partial-*/train/*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "import finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # the half-written shards are only in the hidden partial folder
    small = _write(tmp_path / "s.csv", OURS, [_ours("1", 10.0, 1.0)])
    again = _cli("import", "--csv", small, "--out", out, "--simulate-missing-images")
    assert again.returncode == 0, again.stderr
    assert not list(tmp_path.glob(".rec.partial-*"))  # the dead writer's leftovers are cleaned up
    assert (out / IMPORT_SUMMARY).exists()


def test_console_says_how_many_cutouts_were_simulated(tmp_path):
    src = _write(tmp_path / "e.csv", OURS, [_ours(str(k), 10 + k, 1.0) for k in range(3)])
    images = tmp_path / "imgs"
    images.mkdir()
    (images / "0.jpg").write_bytes(_jpeg())
    proc = _cli("import", "--csv", src, "--images", images, "--out", tmp_path / "rec", "--simulate-missing-images")
    assert "read 3, written 3, rejected 0 (by reason: none); 2 of 3 cutouts SIMULATED" in proc.stdout


def test_simulate_refuses_a_non_empty_out(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    proc = _cli("simulate", "--n", 3, "--out", tmp_path)
    assert proc.returncode == 2 and "is not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_the_readme_reliability_catalogue_names_tests_that_exist():
    import re

    from tests.helpers import REPO as repo

    readme = (repo / "README.md").read_text()
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    assert len(rows) >= 20
    defined = set(re.findall(r"^def (test_\w+)\(", "\n".join(p.read_text() for p in (repo / "tests").glob("*.py")),
                             re.M))
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row)
        assert named, row
        assert set(named) <= defined, (set(named) - defined, row)
