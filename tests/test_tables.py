"""The astronomers' table formats on import: FITS binary tables, VOTables and ECSV give the records and rejects a
CSV of the same REAL rows gives (2,000 real_multimodal objects with their own cutouts), and a damaged table fails with
one line naming the file and the column. STILTS (TOPCAT's command line) writes some of the tables, so the check is
not astropy reading its own output."""

import csv
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ingest import records
from ingest.__main__ import _import
from tests.helpers import SHARED_DATA

PAIRS = SHARED_DATA / "real_multimodal"
N_ROWS = 2000
STILTS_INSTALL = "apt-get install -y stilts"


@pytest.fixture(scope="module")
def real_table(tmp_path_factory):
    """2,000 real rows as one astropy Table, with bad cells each format can hold: a blank (masked) magnitude, a
    sentinel, an unknown class, and a repeated object (the same objid 0.3\" away)."""
    from astropy.table import MaskedColumn, Table

    t = Table.read(PAIRS / "pairs.csv", format="ascii.csv", converters={"objid": np.int64})[:N_ROWS]
    t.remove_column("source")
    for band in "ugriz":
        t[band] = MaskedColumn(t[band], mask=np.zeros(len(t), bool))
    t["u"].mask[5] = True
    t["g"][7] = 99.0
    t["class"] = t["class"].astype("U8")
    t["class"][9] = "XYZ"
    t["objid"][12], t["ra"][12], t["dec"][12] = t["objid"][11], t["ra"][11] + 0.3 / 3600, t["dec"][11]
    folder = tmp_path_factory.mktemp("tables")
    return t, folder


def _write_all(t, folder: Path) -> dict[str, Path]:
    files = {"csv": folder / "pairs.csv", "fits": folder / "pairs.fits", "vot": folder / "pairs.vot",
             "ecsv": folder / "pairs.ecsv"}
    t.write(files["csv"], format="ascii.csv", overwrite=True)
    t.write(files["fits"], overwrite=True)
    t.write(files["vot"], format="votable", overwrite=True)
    t.write(files["ecsv"], overwrite=True)
    return files


def _import_table(path: Path, out: Path, capsys) -> tuple[int, str]:
    code = _import(["--table", str(path), "--images", str(PAIRS / "images"), "--cutout-scale", "0.4",
                    "--out", str(out), "--split-by", "field"])
    return code, capsys.readouterr().err


def _records(out: Path) -> list[tuple]:
    objs = [(s, o) for s in ("train", "eval", "test") for o in records.read_split(out, s)]
    return sorted((s, o.objid, o.ra, o.dec, tuple(o.mags[b] for b in "ugriz"), o.redshift, o.label,
                   hash(o.image_jpeg)) for s, o in objs)


def _rejects(out: Path) -> list[tuple]:
    """(row, reason, field, what is wrong): the same in every format; only `where` says CSV line or table row."""
    with open(out / "rejects.csv", newline="") as fh:
        return [(r["row"], r["reason"], r["field"], r["detail"].split(": ", 1)[1]) for r in csv.DictReader(fh)]


def test_fits_votable_and_ecsv_import_as_the_csv_does(real_table, capsys):
    t, folder = real_table
    files = _write_all(t, folder)
    outs = {}
    for fmt, path in files.items():
        outs[fmt] = folder / f"out_{fmt}"
        code, err = _import_table(path, outs[fmt], capsys)
        assert code == 0, err
    want_records, want_rejects = _records(outs["csv"]), _rejects(outs["csv"])
    assert len(want_records) > 1900
    reasons = {(r[0], r[1], r[2]) for r in want_rejects}
    assert {("6", "bad_magnitude", "u"), ("8", "bad_magnitude", "g"), ("10", "unknown_class", "class"),
            ("13", "duplicate_objid", "objid")} <= reasons
    for fmt in ("fits", "vot", "ecsv"):
        assert _records(outs[fmt]) == want_records, fmt
        got = _rejects(outs[fmt])
        assert [r[:3] for r in got] == [r[:3] for r in want_rejects], fmt
        # The same words, but where a CSV names the earlier listing by its file line, a table names its row.
        assert [r[3] for r in got] == [re.sub(r"as line (\d+)", lambda m: f"as row {int(m[1]) - 1}", r[3])
                                       for r in want_rejects], fmt
    assert ("13", "duplicate_objid", "objid", 'same object as row 12 (objid 1237645941291614227, 0.30" apart)') \
        in _rejects(outs["fits"])
    with open(outs["fits"] / "rejects.csv", newline="") as fh:
        first = next(csv.DictReader(fh))
    # A table row has no file line: the row number names it, and the blank cell reads as an empty CSV cell.
    assert (first["line"], first["row"]) == ("", "6")
    assert first["detail"] == "pairs.fits row 6, field 'u': not a number: ''"


def test_a_damaged_table_fails_with_one_line_naming_file_and_column(real_table, capsys):
    from astropy.table import Table

    t, folder = real_table
    good = folder / "good.fits"
    Table(t[:50]).write(good, overwrite=True)
    cases = {}
    truncated = folder / "truncated.fits"
    truncated.write_bytes(good.read_bytes()[:-3000])
    cases[truncated] = "truncated FITS file"
    missing = folder / "no_r.fits"
    m = Table(t[:50])
    m.remove_column("r")
    m.write(missing, overwrite=True)
    cases[missing] = "missing column(s) ['r']"
    wrong = folder / "text_u.vot"
    w = Table(t[:50])
    w["u"] = [str(v) for v in w["u"]]
    w.write(wrong, format="votable", overwrite=True)
    cases[wrong] = "column 'u' (u) holds"
    for path, words in cases.items():
        out = folder / f"out_{path.stem}"
        code, err = _import_table(path, out, capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1, err
        assert str(path) in lines[0] and words in lines[0], lines[0]
        assert not out.exists()


def stilts() -> str:
    """The STILTS command, or a failure that says how to install it (the test does not skip)."""
    found = shutil.which("stilts")
    if found is None:
        pytest.fail(f"STILTS is not installed: {STILTS_INSTALL}")
    return found


def test_tables_written_by_stilts_import_with_the_csvs_counts(real_table, capsys):
    t, folder = real_table
    source = folder / "stilts_in.csv"
    t.write(source, format="ascii.csv", overwrite=True)
    counts = {}
    for fmt, ofmt in (("csv", None), ("fits", "fits"), ("vot", "votable")):
        path = source if ofmt is None else folder / f"stilts.{fmt}"
        if ofmt:
            done = subprocess.run([stilts(), "tcopy", f"in={source}", "ifmt=csv", f"out={path}", f"ofmt={ofmt}"],
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        code, err = _import_table(path, folder / f"stilts_out_{fmt}", capsys)
        assert code == 0, err
        summary = (folder / f"stilts_out_{fmt}" / "rejects.csv").read_text().splitlines()
        counts[fmt] = (len(_records(folder / f"stilts_out_{fmt}")), len(summary) - 1)
    assert counts["fits"] == counts["vot"] == counts["csv"], counts
