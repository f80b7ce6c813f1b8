import csv
import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import contract as c
from ingest import records
from ingest.skyserver_import import import_export

HEADER = ["specobjid", "class", "redshift", "z", "i", "r", "g", "u", "dec", "ra", "objid", "plate"]  # shuffled + extras


def _jpeg(size=64, fmt="JPEG") -> bytes:
    rng = np.random.default_rng(size)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def _row(objid, cls="STAR", u=18.0, z=0.0001, ra=180.0, dec=1.0):
    return {"specobjid": "1", "class": cls, "redshift": z, "z": 16.5, "i": 16.6, "r": 16.8, "g": 17.2, "u": u,
            "dec": dec, "ra": ra, "objid": objid, "plate": 266}


@pytest.fixture()
def export(tmp_path):
    rows = [
        _row("1237648704577142822"),                               # 1 exact objid, <objid>.jpg
        _row("1.23764870457714E+018", cls="GALAXY", z=0.08, ra=181.5, dec=-0.5),  # 2 inexact -> J key
        _row("1.23764870457714E+018", cls="QSO", z=1.5, ra=182.0),  # 3 found as row3.jpg
        _row("1237648704577142823", u=-9999),                      # 4 sentinel magnitude
        _row("1237648704577142824", u=99),                         # 5 sentinel magnitude
        _row("1237648704577142825", cls="UNKNOWN"),                # 6 unknown class
        _row("1237648704577142822"),                               # 7 duplicate of 1
        _row("1237648704577142826"),                               # 8 no image
        _row("1237648704577142827"),                               # 9 undecodable image
        _row("1237648704577142828", z="nan"),                      # 10 non-finite redshift
        _row("1237648704577142829", cls="qso", z=2.0),             # 11 128px PNG, lower-case class
    ]
    csv_path = tmp_path / "export.csv"
    with open(csv_path, "w", newline="") as f:
        f.write("#Table1\n")
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    img = tmp_path / "cutouts"
    img.mkdir()
    (img / "1237648704577142822.jpg").write_bytes(_jpeg())
    (img / "J181.50000-0.50000.jpg").write_bytes(_jpeg())
    (img / "row3.jpg").write_bytes(_jpeg())
    (img / "1237648704577142827.jpg").write_bytes(b"this is not a jpeg")
    (img / "1237648704577142829.png").write_bytes(_jpeg(128, "PNG"))
    for stem in ("1237648704577142823", "1237648704577142824", "1237648704577142825", "1237648704577142828"):
        (img / f"{stem}.jpg").write_bytes(_jpeg())
    return csv_path, img


def test_every_row_is_written_or_rejected_with_a_reason(export, tmp_path):
    csv_path, img = export
    out = tmp_path / "records"
    report = import_export(str(csv_path), str(img), str(out))
    assert report.read == 11
    assert report.read == report.written + report.rejected
    assert report.by_reason == {"bad_magnitude": 2, "unknown_class": 1, "duplicate_objid": 1, "no_image": 1,
                                "bad_image": 1, "bad_redshift": 1}
    assert report.written == 4
    rejects = pd.read_csv(report.rejects_path)
    assert len(rejects) == report.rejected
    first = rejects.iloc[0]
    # File line numbers count the '#Table1' and header lines: data row 4 is line 6.
    assert (first["line"], first["reason"], first["field"]) == (6, "bad_magnitude", "u")
    assert "export.csv line 6, field 'u'" in first["detail"] and "-9999" in first["detail"]
    objs = [o for s in c.SPLITS for o in records.read_split(out, s)]
    assert sorted(o.objid for o in objs) == sorted(
        ["1237648704577142822", "J181.50000-0.50000", "J182.00000+1.00000", "1237648704577142829"])
    resized = next(o for o in objs if o.objid == "1237648704577142829")
    assert Image.open(io.BytesIO(resized.image_jpeg)).size == (c.IMAGE_SIZE, c.IMAGE_SIZE)
    assert resized.label == "QSO"


def test_simulate_missing_images_fills_only_the_gaps(export, tmp_path):
    from ingest.provenance import describe as data_provenance

    csv_path, img = export
    report = import_export(str(csv_path), str(img), str(tmp_path / "r"), simulate_missing_images=True)
    assert "no_image" not in report.by_reason
    assert report.written == 5 and report.read == report.written + report.rejected
    # Results on these records must say that one cutout is simulated.
    assert "1 of 5 cutouts SIMULATED" in data_provenance(str(tmp_path / "r"))


def test_missing_column_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("objid,ra,dec,u,g,r,i,class,redshift\n1,2,3,4,5,6,7,STAR,0\n")
    with pytest.raises(ValueError, match=r"bad.csv line 1: missing column\(s\) \['z'\]"):
        import_export(str(bad), None, str(tmp_path / "o"))


def test_cli_prints_the_accounting_line(export, tmp_path):
    csv_path, img = export
    out = subprocess.run([sys.executable, "-m", "ingest", "import", "--csv", str(csv_path), "--images", str(img),
                          "--out", str(tmp_path / "cli")], capture_output=True, text=True, check=True).stdout
    assert "read 11, written 4, rejected 7 (by reason: bad_image=1, bad_magnitude=2, bad_redshift=1, " \
           "duplicate_objid=1, no_image=1, unknown_class=1)" in out


def test_real_dr14_rows_import_with_simulated_images(dr14_csv, tmp_path):
    subset = tmp_path / "dr14_600.csv"
    pd.read_csv(dr14_csv, dtype=str).iloc[:600].to_csv(subset, index=False)
    report = import_export(str(subset), None, str(tmp_path / "dr14"), simulate_missing_images=True)
    assert report.read == 600 == report.written + report.rejected
    assert report.written >= 595  # the README's dirt is kept unless outside the plausible ranges
    objs = list(records.read_split(tmp_path / "dr14", "train"))
    assert {o.label for o in objs} == set(c.CLASS_NAMES)
    assert all(o.objid.startswith("J") for o in objs)  # float objids are inexact: keyed by ra/dec


def test_a_csv_without_redshift_imports_records_without_one(export, tmp_path):
    """Objects without a spectrum: no redshift column, records without the feature (for --inputs photometric)."""
    import tensorflow as tf

    csv_path, img = export
    rows = list(csv.DictReader(line for line in open(csv_path) if not line.startswith("#")))
    no_z = tmp_path / "photometric.csv"
    with open(no_z, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[h for h in HEADER if h != c.REDSHIFT])
        w.writeheader()
        w.writerows({k: v for k, v in r.items() if k != c.REDSHIFT} for r in rows)
    report = import_export(str(no_z), str(img), str(tmp_path / "out"))
    assert any("no redshift column" in note for note in report.notes)
    assert report.read == report.written + report.rejected == len(rows) and "bad_redshift" not in report.by_reason
    files = [str(p) for p in (tmp_path / "out").glob(f"*/{c.RECORD_GLOB}")]
    examples = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files, "GZIP")]
    assert len(examples) == report.written > 0
    assert all(c.REDSHIFT not in ex.features.feature and "u" in ex.features.feature for ex in examples)
    with pytest.raises(ValueError, match="no redshift column"):  # a simulated cutout needs the redshift
        import_export(str(no_z), None, str(tmp_path / "sim"), simulate_missing_images=True)
