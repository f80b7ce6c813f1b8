"""Cutout geometry on real SDSS cutouts: centre crop at the file's scale, never a resize of the whole frame."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import contract as c
from ingest import cutout
from ingest import skyserver_import as sky
from ingest.rows import load_cutout
from tests.helpers import SHARED_DATA

REAL = SHARED_DATA / "real_cutouts"


@pytest.fixture(scope="module")
def real_files() -> list[Path]:
    """Three real 128 px SkyServer cutouts at 0.4"/px, one per class."""
    if not (REAL / "labels.csv").exists():
        pytest.fail(f"real cutouts not found at {REAL}: CI provides ../shared beside the clone")
    with open(REAL / "labels.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [REAL / "images" / f"{next(r['objid'] for r in rows if r['class'] == k)}.jpg" for k in c.CLASS_NAMES]


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)


def _jpeg(img: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=95)
    return buf.getvalue()


def test_real_128px_at_0p4_imports_as_its_centre_64px(real_files):
    for path in real_files:
        src = Image.open(path)
        assert src.size == (128, 128)
        out = _pixels(cutout.to_contract(path.read_bytes(), 0.4, path.name))
        assert out.shape == (c.IMAGE_SIZE, c.IMAGE_SIZE, 3)
        centre = np.asarray(src.convert("RGB"), dtype=np.float32)[32:96, 32:96]
        whole = np.asarray(src.convert("RGB").resize((64, 64), Image.LANCZOS), dtype=np.float32)
        # 0.4 vs 0.396"/px is a 1% resampling of the centre: close to it, far from the halved whole frame.
        assert np.abs(out - centre).mean() < 3.0
        assert np.abs(out - whole).mean() > 2 * np.abs(out - centre).mean()
        # The object stays at the centre: the central 8x8 pixels are no fainter than the typical pixel
        # (one of these stars saturates most of the field, so "brighter" cannot be asked of every file).
        lum = out.sum(axis=2)
        assert lum[28:36, 28:36].mean() >= np.median(lum), path.name


def test_two_times_finer_and_coarser_scales_give_the_same_field(real_files):
    for path in real_files:
        src = Image.open(path).convert("RGB")
        ref = _pixels(cutout.to_contract(path.read_bytes(), 0.4))
        finer = _jpeg(src.resize((256, 256), Image.LANCZOS))  # the same sky at 0.2"/px
        coarse = _jpeg(src.resize((64, 64), Image.LANCZOS))  # the whole frame at 0.8"/px
        at_fine = _pixels(cutout.to_contract(finer, 0.2))
        at_coarse = _pixels(cutout.to_contract(coarse, 0.8))
        assert np.abs(at_fine - ref).mean() < 3.0
        # Half the resolution cannot come back, but the field and the object's size must match.
        assert np.corrcoef(at_coarse.ravel(), ref.ravel())[0, 1] > 0.8
        wrong = _pixels(cutout.to_contract(coarse, c.PIXEL_SCALE_ARCSEC))  # scale not given: a doubled field
        assert np.corrcoef(wrong.ravel(), ref.ravel())[0, 1] < np.corrcoef(at_coarse.ravel(), ref.ravel())[0, 1]


@pytest.mark.parametrize(("size", "scale", "reason"), [
    ((1, 1), 0.396, "degenerate_image"),
    ((8, 8), 0.396, "degenerate_image"),
    ((4000, 4000), 0.396, "degenerate_image"),
    ((128, 32), 0.4, "degenerate_image"),
    ((64, 64), 0.2, "small_field"),  # a 12.8" field cannot hold the contract's 25.3"
    ((128, 128), 0.0, "bad_scale"),
])
def test_degenerate_or_too_small_cutouts_are_rejected(size, scale, reason):
    raw = _jpeg(_noise(size), "PNG")
    with pytest.raises(cutout.CutoutRejected) as e:
        cutout.to_contract(raw, scale, "x.png")
    assert e.value.reason == reason and "x.png" in e.value.detail


def _noise(size, mode="RGB") -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 60, (size[1], size[0], len(mode)), dtype=np.uint8), mode)


def test_contract_jpeg_passes_through_and_alpha_is_flattened():
    raw = _jpeg(_noise((64, 64)))
    assert cutout.to_contract(raw) == raw
    rgba = _noise((64, 64), "RGBA")
    rgba.putalpha(255)
    rgba.paste((200, 100, 50, 255), (16, 16, 64, 64))
    rgba.paste((255, 255, 255, 0), (0, 0, 16, 16))
    out = _pixels(cutout.to_contract(_jpeg(rgba, "PNG")))
    assert out.shape == (64, 64, 3) and out[:12, :12].max() < 30  # transparent -> black sky, not white


def test_a_flat_placeholder_is_rejected_as_blank():
    blown_up = Image.new("RGB", (1, 1), (30, 30, 30)).resize((64, 64))  # a 1x1 pixel at cutout size
    with pytest.raises(cutout.CutoutRejected) as e:
        cutout.to_contract(_jpeg(blown_up, "PNG"), name="p.png")
    assert e.value.reason == "blank_image"


def test_import_and_predict_bring_a_file_to_identical_bytes(real_files, tmp_path):
    """Train/serve skew guard: import and predict.py call the same function with the same scale."""
    from inference import predict

    path = real_files[2]
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / path.name).write_bytes(path.read_bytes())
    objid = path.stem
    (tmp_path / "rows.csv").write_text(f"objid,u,g,r,i,z,redshift\n{objid},19.1,18.9,18.8,18.7,18.6,1.2\n")
    rows = predict.load_csv(tmp_path / "rows.csv", tmp_path / "img", cutout_scale=0.4)
    assert not rows[0].error
    assert rows[0].image_jpeg == load_cutout(path, 0.4) == cutout.to_contract(path.read_bytes(), 0.4)


def test_import_rejects_a_degenerate_cutout_naming_file_row_and_field(tmp_path):
    img = tmp_path / "img"
    img.mkdir()
    (img / "1237648704577142822.jpg").write_bytes(_jpeg(Image.new("RGB", (1, 1))))
    (img / "1237648704577142823.jpg").write_bytes(_jpeg(_noise((128, 128))))
    header = "objid,ra,dec,u,g,r,i,z,class,redshift\n"
    body = ("1237648704577142822,180.0,1.0,18,17.5,17.2,17.1,17.0,STAR,0.0\n"
            "1237648704577142823,180.1,1.0,18,17.5,17.2,17.1,17.0,STAR,0.0\n")
    (tmp_path / "e.csv").write_text(header + body)
    report = sky.import_export(str(tmp_path / "e.csv"), str(img), str(tmp_path / "out"), cutout_scale=0.4)
    assert (report.read, report.written, report.rejected) == (2, 1, 1)
    assert report.by_reason == {"degenerate_image": 1}
    rejects = (tmp_path / "out" / "rejects.csv").read_text()
    assert "e.csv line 2, field 'image': 1237648704577142822.jpg: 1x1 px is not a cutout" in rejects
