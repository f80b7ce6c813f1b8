"""Cutout geometry: any cutout file -> the contract's field (64 px at 0.396"/px, a 25.3" square), as JPEG.

A cutout has a pixel scale. Resizing a whole 128 px SkyServer file (0.4"/px,
51" across) to 64 px doubles the scale: objects look half their size and
neighbours crowd in, and a model trained at the contract's scale misreads
them. So the rule is: take the centred square that covers the contract's
field at the file's own scale, and resample only that square (by the scale
ratio) to the contract's pixels. Import (`ingest import`, `ingest cutouts`),
`predict.py`, the image calibration and the benchmarks all call `to_contract`;
the serving signatures accept only contract-geometry JPEGs and say so, so
there is one place where geometry is made.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

import contract as c

SKYSERVER_SCALE_ARCSEC = 0.396  # ImgCutout's default `scale`; SDSS's native pixel
FIELD_ARCSEC = c.IMAGE_SIZE * c.PIXEL_SCALE_ARCSEC  # 25.344"
FIELD_TOLERANCE = 0.02  # a field up to 2% short of the contract's (a 64 px file at 0.39") still passes
MIN_SIDE_PX = 16  # below this a "cutout" carries no image (1x1 placeholders, icons)
MAX_SIDE_PX = 2048  # SkyServer ImgCutout's own limit; above it, a whole frame or a mistake, not a cutout
MAX_ASPECT = 1.25  # cutouts are square; a strip or a screenshot is not one
JPEG_QUALITY = 90


class CutoutRejected(ValueError):
    """A cutout that cannot be brought to the contract's field; `reason` is the short code import reports."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def decode(raw: bytes, name: str = "cutout") -> Image.Image:
    try:
        img = Image.open(io.BytesIO(raw))
        img.load()
    except UnidentifiedImageError:
        # PIL's own message names the in-memory buffer's address: a different text on every run.
        raise CutoutRejected("bad_image", f"{name}: cannot decode (not an image format PIL reads)") from None
    except (OSError, ValueError) as e:
        raise CutoutRejected("bad_image", f"{name}: cannot decode ({e})") from None
    return img


def check_geometry(width: int, height: int, scale_arcsec: float, name: str = "cutout") -> None:
    """Raises CutoutRejected for degenerate sizes and for a field smaller than the contract's."""
    if not scale_arcsec > 0:
        raise CutoutRejected("bad_scale", f"{name}: pixel scale must be > 0 arcsec/px, got {scale_arcsec}")
    if min(width, height) < MIN_SIDE_PX or max(width, height) > MAX_SIDE_PX:
        raise CutoutRejected("degenerate_image", f"{name}: {width}x{height} px is not a cutout "
                             f"(sides must be {MIN_SIDE_PX}..{MAX_SIDE_PX} px)")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise CutoutRejected("degenerate_image", f"{name}: {width}x{height} px is not square enough for a cutout")
    field = min(width, height) * scale_arcsec
    if field < FIELD_ARCSEC * (1 - FIELD_TOLERANCE):
        raise CutoutRejected("small_field", f"{name}: field {field:.1f}\" ({min(width, height)} px at "
                             f"{scale_arcsec}\"/px) is smaller than the contract's {FIELD_ARCSEC:.1f}\"; "
                             "check --cutout-scale or fetch a larger cutout")


def crop_box(width: int, height: int, scale_arcsec: float) -> tuple[float, float, float, float]:
    """The centred square (in source pixels, fractional) that covers the contract's field."""
    side = min(FIELD_ARCSEC / scale_arcsec, width, height)
    cx, cy = width / 2.0, height / 2.0
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """RGB; transparent pixels become black sky, not white."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def check_content(img: Image.Image, name: str = "cutout") -> None:
    """A sky image always has noise: one flat colour is a placeholder (a 1x1 pixel blown up), not a cutout."""
    extrema = img.getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    if all(lo == hi for lo, hi in bands):
        raise CutoutRejected("blank_image", f"{name}: every pixel has the same value; not a cutout")


def check_contract(raw: bytes, name: str = "cutout") -> bytes:
    """A cutout that must already be the contract's (a 64 px JPEG, as records carry it): the model refuses any other
    geometry, so a record with another is rejected, not resampled. Returns it unchanged."""
    img = decode(raw, name)
    if img.size != (c.IMAGE_SIZE, c.IMAGE_SIZE) or img.format != "JPEG":
        raise CutoutRejected("degenerate_image", f"{name}: {img.width}x{img.height} px {img.format}, the contract's "
                             f"cutout is a {c.IMAGE_SIZE}x{c.IMAGE_SIZE} JPEG (import it with `python -m ingest`)")
    check_content(img, name)
    return raw


def to_contract(raw: bytes, scale_arcsec: float = SKYSERVER_SCALE_ARCSEC, name: str = "cutout") -> bytes:
    """JPEG bytes of the contract's field; a file already in the contract's geometry passes through unchanged."""
    img = decode(raw, name)
    check_geometry(img.width, img.height, scale_arcsec, name)
    check_content(img, name)
    size = (c.IMAGE_SIZE, c.IMAGE_SIZE)
    in_contract = img.size == size and abs(scale_arcsec - c.PIXEL_SCALE_ARCSEC) < 1e-9
    if in_contract and img.format == "JPEG" and img.mode == "RGB":
        return raw
    out = _flatten_alpha(img)
    if not in_contract:
        # Lanczos over the fractional box: one resampling, by the scale ratio, of the centred field only.
        out = out.resize(size, Image.LANCZOS, box=crop_box(img.width, img.height, scale_arcsec))
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()
