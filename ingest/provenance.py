"""What a records folder holds, in one sentence, from the marker files `simulate` and `import` leave in it.

Every place that shows results (run summary, HTML report) prints this line, so
simulated data is never presented as observations.
"""

from __future__ import annotations

import json
from pathlib import Path

SIMULATED_MARKER = "SIMULATED.txt"  # written by `ingest simulate`
IMPORT_SUMMARY = "import_summary.json"  # written by `ingest import`


def describe(data_dir: str) -> str:
    folder = Path(data_dir)
    if (folder / SIMULATED_MARKER).exists():
        return ("(data: SIMULATED by the built-in simulator from real SDSS DR14 photometry statistics, "
                "cutouts rendered with GalSim; not real observations)")
    summary = folder / IMPORT_SUMMARY
    if summary.exists():
        info = json.loads(summary.read_text())
        if info.get("simulated_images"):
            return (f"(data: photometry imported from {info['source_csv']}; {info['simulated_images']} of "
                    f"{info['written']} cutouts SIMULATED with GalSim, not real images)")
        return f"(data: imported from {info['source_csv']} with cutouts from {info['images']})"
    return f"(data: records in {data_dir}, origin not recorded)"
