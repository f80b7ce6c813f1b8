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


def is_image_only(data_dir: str) -> bool:
    """True for records of labelled cutouts without photometry."""
    summary = Path(data_dir) / IMPORT_SUMMARY
    return summary.exists() and json.loads(summary.read_text()).get("kind") == LABELLED_CUTOUTS


def is_recorded(data_dir: str) -> bool:
    """True when `ingest` finished writing this folder (its summary or marker is written last, then renamed in)."""
    return (Path(data_dir) / SIMULATED_MARKER).exists() or (Path(data_dir) / IMPORT_SUMMARY).exists()


def describe(data_dir: str) -> str:
    folder = Path(data_dir)
    if (folder / SIMULATED_MARKER).exists():
        return ("(data: SIMULATED by the built-in simulator from real SDSS DR14 photometry statistics, "
                "cutouts rendered with GalSim; not real observations)")
    summary = folder / IMPORT_SUMMARY
    if summary.exists():
        info = json.loads(summary.read_text())
        if info.get("kind") == LABELLED_CUTOUTS:
            return (f"(data: labelled cutouts from {info['images']} with labels from {info['source_csv']}, "
                    "no photometry: an image-only model)")
        if info.get("simulated_images"):
            return (f"(data: photometry imported from {info['source_csv']}; {info['simulated_images']} of "
                    f"{info['written']} cutouts SIMULATED with GalSim, not real images)")
        return f"(data: imported from {info['source_csv']} with cutouts from {info['images']})"
    return f"(data: records in {data_dir}, origin not recorded)"
