"""What a records folder holds, in one sentence, from the marker files `simulate` and `import` leave in it.

Every place that shows results (run summary, HTML report) prints this line, so
simulated data is never presented as observations.
"""

from __future__ import annotations

import json
from pathlib import Path

SIMULATED_MARKER = "SIMULATED.txt"  # written by `ingest simulate`
IMPORT_SUMMARY = "import_summary.json"  # written by `ingest import` and `ingest cutouts`
LABELLED_CUTOUTS = "labelled_cutouts"  # the summary's `kind` for `ingest cutouts`


def _exists(path: str) -> bool:
    """Local paths through pathlib (no TensorFlow start-up for the CLIs); gs:// and the like through tf.io.gfile."""
    if "://" not in path:
        return Path(path).exists()
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def _read(path: str) -> str:
    if "://" not in path:
        return Path(path).read_text()
    import tensorflow as tf

    with tf.io.gfile.GFile(path) as fh:
        return fh.read()


def _summary(data_dir: str) -> dict | None:
    path = f"{str(data_dir).rstrip('/')}/{IMPORT_SUMMARY}"
    return json.loads(_read(path)) if _exists(path) else None


def is_image_only(data_dir: str) -> bool:
    """True for records of labelled cutouts without photometry."""
    summary = _summary(data_dir)
    return bool(summary) and summary.get("kind") == LABELLED_CUTOUTS


def is_recorded(data_dir: str) -> bool:
    """True when `ingest` finished writing this folder (its summary or marker is written last, then renamed in)."""
    return _exists(f"{str(data_dir).rstrip('/')}/{SIMULATED_MARKER}") or _summary(data_dir) is not None


def describe(data_dir: str) -> str:
    if _exists(f"{str(data_dir).rstrip('/')}/{SIMULATED_MARKER}"):
        return ("(data: SIMULATED by the built-in simulator from real SDSS DR14 photometry statistics, "
                "cutouts rendered with GalSim; not real observations)")
    info = _summary(data_dir)
    if info is not None:
        if info.get("kind") == LABELLED_CUTOUTS:
            return (f"(data: labelled cutouts from {info['images']} with labels from {info['source_csv']}, "
                    "no photometry: an image-only model)")
        if info.get("simulated_images"):
            return (f"(data: photometry imported from {info['source_csv']}; {info['simulated_images']} of "
                    f"{info['written']} cutouts SIMULATED with GalSim, not real images)")
        split = "; split by SDSS field" if info.get("split_by") == "field" else ""
        return f"(data: imported from {info['source_csv']} with cutouts from {info['images']}{split})"
    return f"(data: records in {data_dir}, origin not recorded)"
