"""Generated inputs: whatever rows and cutout bytes a user's export holds, import never ends in a traceback,
read = written + rejected always holds, and every written record decodes."""

import csv
import io
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import contract as c
from ingest import records
from ingest.cutout import CutoutRejected, to_contract
from ingest.skyserver_import import import_export

HEADER = ["objid", "ra", "dec", *c.BANDS, "class", "redshift"]
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=True)  # the same cases on every run: a failure here is reproducible in CI


def _image(size: int, seed: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


# NUL has its own test below; lone surrogates cannot be written as UTF-8 (bad encodings have theirs too).
text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=10, max_value=30).map(str),
    st.sampled_from(["", " ", "-9999", "99", "1e400", "-0", "NaN", "inf", "18,5", "１８.５", "0x12", "None"]),
    text,
)
objids = st.one_of(st.integers(0, 2**64).map(str), st.just("1237678802627461376"), st.just("1.23764870457714E+018"),
                   text)
labels = st.one_of(st.sampled_from([*c.CLASS_NAMES, "qso", " STAR ", "UNKNOWN", ""]), text)
rows = st.lists(st.fixed_dictionaries({
    "objid": objids, "ra": st.one_of(st.floats(0, 360).map(str), numbers),
    "dec": st.one_of(st.floats(-90, 90).map(str), numbers), **{b: numbers for b in c.BANDS},
    "class": labels, "redshift": st.one_of(st.floats(-0.05, 7.5).map(str), numbers)}), max_size=12)


@FUZZ
@given(rows=rows, image_kinds=st.lists(st.sampled_from(["jpeg", "tiny", "junk", "none"]), min_size=12, max_size=12))
def test_any_rows_are_written_or_rejected_and_written_records_decode(tmp_path_factory, rows, image_kinds):
    work = tmp_path_factory.mktemp("fuzz")
    src = work / "export.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    images = work / "images"
    images.mkdir()
    for k, kind in enumerate(image_kinds, start=1):
        blob = {"jpeg": _image(64, k), "tiny": _image(4, k), "junk": b"\xff\xd8\xff" + bytes(k), "none": None}[kind]
        if blob is not None:
            (images / f"row{k}.jpg").write_bytes(blob)
    report = import_export(str(src), str(images), str(work / "out"))
    assert report.read == len(rows) == report.written + report.rejected
    with open(report.rejects_path, newline="") as f:
        assert sum(1 for _ in csv.DictReader(f)) == report.rejected
    written = [o for s in c.SPLITS for o in records.read_split(work / "out", s)]
    assert len(written) == report.written
    for o in written:
        assert o.label in c.CLASS_NAMES and all(math.isfinite(v) for v in o.mags.values())
        assert Image.open(io.BytesIO(o.image_jpeg)).size == (c.IMAGE_SIZE, c.IMAGE_SIZE)


def _encoded(size: tuple[int, int], mode: str, fmt: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 4), dtype=np.uint8), "RGBA").convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


images = st.builds(_encoded, st.tuples(st.integers(1, 300), st.integers(1, 300)),
                   st.sampled_from(["RGB", "RGBA", "L", "P", "1", "CMYK"]), st.sampled_from(["PNG", "TIFF", "GIF"]),
                   st.integers(0, 1000))
jpegs = st.builds(_encoded, st.tuples(st.integers(1, 300), st.integers(1, 300)), st.sampled_from(["RGB", "L"]),
                  st.just("JPEG"), st.integers(0, 1000))


@st.composite
def damaged(draw, source):
    blob = bytearray(draw(source))
    cut = draw(st.integers(0, len(blob)))
    flips = draw(st.lists(st.tuples(st.integers(0, max(len(blob) - 1, 0)), st.integers(0, 255)), max_size=5))
    for pos, value in flips:
        if blob:
            blob[pos] = value
    return bytes(blob[:cut] if draw(st.booleans()) else blob)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=2000), images, jpegs, damaged(jpegs), damaged(images)),
       scale=st.sampled_from([0.396, 0.4, 0.2, 0.8, 0.0, -1.0, 1e-9, 1e9]))
def test_any_cutout_bytes_become_a_contract_jpeg_or_a_named_rejection(raw, scale):
    try:
        out = to_contract(raw, scale, "fuzz.jpg")
    except CutoutRejected as e:
        assert e.reason in {"bad_image", "bad_scale", "degenerate_image", "small_field", "blank_image"}
        assert "fuzz.jpg" in str(e)
        return
    img = Image.open(io.BytesIO(out))
    assert img.format == "JPEG" and img.size == (c.IMAGE_SIZE, c.IMAGE_SIZE) and img.mode == "RGB"


def test_a_nul_byte_in_the_csv_is_an_error_naming_the_line(tmp_path):
    import pytest

    src = tmp_path / "export.csv"
    src.write_bytes(b"objid,ra,dec,u,g,r,i,z,class,redshift\n1,2,3,18,18,18,18,18,STAR,0\n2,2,3,18,1\x008,18,18,18,STAR,0\n")
    with pytest.raises(ValueError, match=r"export.csv line 3: not readable as CSV \(line contains NUL\)"):
        import_export(str(src), None, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_utf8_is_an_error_naming_the_line(tmp_path):
    import pytest

    src = tmp_path / "export.csv"
    src.write_bytes("objid,ra,dec,u,g,r,i,z,class,redshift\n1,2,3,18,18,18,18,18,GALAXY,0.1\n"
                    "2,2,3,18,18,18,18,18,GALAXY,0.1 Sérsic\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"export.csv line 3: not UTF-8 text"):
        import_export(str(src), None, str(tmp_path / "out"))
