"""Helpers for tests that run the real preprocessing_fn and schema."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the checkout under test
SHARED_DATA = REPO.parent / "shared" / "data"  # ../shared/data: CI lays it beside the clone


def write_photometric_csv(objs, folder: Path) -> tuple[Path, Path]:
    """`objs` as a SkyServer-style CSV without a redshift column (rows.csv) and their cutouts (cutouts/<objid>.jpg),
    as sdss-predict reads them. Returns (csv, cutouts folder)."""
    import csv

    import contract as c

    images = folder / "cutouts"
    images.mkdir()
    with open(folder / "rows.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["objid", "ra", "dec", *c.BANDS])
        for o in objs:
            (images / f"{o.objid}.jpg").write_bytes(o.image_jpeg)
            w.writerow([o.objid, repr(o.ra), repr(o.dec), *(repr(o.mags[b]) for b in c.BANDS)])
    return folder / "rows.csv", images


def load_schema(name: str = "schema.pbtxt"):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    return text_format.Parse((REPO / "schema" / name).read_text(), schema_pb2.Schema())


def as_instances(objs) -> list[dict]:
    """Records as the in-memory instance dicts tft_beam takes (one value per feature)."""
    import contract as c

    rows = []
    for o in objs:
        row = {c.OBJID: [o.objid.encode()], c.RA: [o.ra], c.DEC: [o.dec], c.REDSHIFT: [o.redshift],
               c.IMAGE: [o.image_jpeg], c.LABEL: [o.label.encode()]}
        row.update({b: [v] for b, v in o.mags.items()})
        rows.append(row)
    return rows


def analyze_and_transform(instances, out_dir: Path, custom_config: dict | None = None, schema: str = "schema.pbtxt"):
    """Runs the real preprocessing_fn with tft_beam in memory; writes the transform graph to out_dir."""
    import functools

    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

    from trainer.transform import preprocessing_fn

    fn = functools.partial(preprocessing_fn, custom_config=custom_config or {})
    metadata = dataset_metadata.DatasetMetadata(load_schema(schema))
    with tft_beam.Context(temp_dir=str(out_dir / "tmp")):
        (transformed, _), transform_fn = (instances, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(out_dir))
    metadata_io.write_metadata(metadata, str(out_dir / "metadata"))  # raw schema, as Transform writes it
    return transformed



def build_wheel(base: Path) -> Path:
    """The project's wheel, built from a copy of this checkout's sources (setuptools writes build/ beside the
    sources it builds) with the environment's own setuptools (no download). Returns its path under base/wheels."""
    import shutil
    import subprocess
    import sys

    src, wheels = base / "src", base / "wheels"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "data", "outputs", "build", "*.egg-info", "__pycache__", ".*_cache"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "--wheel-dir", str(wheels), str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("*.whl")
    return wheel
