"""The curated schemas the data is validated against, shipped inside the package: an installed pipeline (a wheel,
a container) validates against the same files as a checkout, found through the package rather than a path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

MULTIMODAL = "schema.pbtxt"  # photometry, redshift, cutout, class
PHOTOMETRIC = "photometric_schema.pbtxt"  # the same with the redshift optional (--inputs photometric)
IMAGE_ONLY = "image_schema.pbtxt"  # labelled cutouts without photometry (`python -m ingest cutouts`)


def path(name: str) -> Path:
    """The file of one schema, wherever the package is installed. Inside a zipped wheel (spark-submit --py-files)
    the path names the member: the catalogue job, which runs from one, never reads a schema."""
    found = resources.files(__name__).joinpath(name)
    if not found.is_file():
        raise FileNotFoundError(f"no schema {name!r} in the installed package at {found.parent}")
    return Path(str(found))
