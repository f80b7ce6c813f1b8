"""The end of every import: records, rejects.csv and the summary, written whole into a staged folder.

Every import ends the same way, and the accounting is checked here, once, for all of them: rows read = rows
written + rows rejected, and each rejected row is written out with its line, field and reason.
"""

from __future__ import annotations

import collections
import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.columns import Header
from ingest.provenance import IMPORT_SUMMARY
from ingest.rows import RowRejected
from ingest.staging import staged

REJECTS_FILE = "rejects.csv"


@dataclass
class Reject:
    line: int
    row: dict[str, str]
    error: RowRejected


@dataclass
class ImportReport:
    read: int
    written: int
    rejected: int
    by_reason: dict[str, int]
    splits: dict[str, int]
    rejects_path: str
    simulated_images: int = 0
    notes: list[str] = field(default_factory=list)  # what the user should know: renamed columns, re-keyed ids

    def line(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.by_reason.items())) or "none"
        simulated = f"; {self.simulated_images} of {self.written} cutouts SIMULATED" if self.simulated_images else ""
        return (f"read {self.read}, written {self.written}, rejected {self.rejected} (by reason: {reasons})"
                + simulated)


def reject(rejects: list[Reject], csv_path: Path, line: int, row: dict[str, str], r: RowRejected) -> None:
    """Keeps the row, its error located in the file (`export.csv line 7, field 'u': ...`)."""
    r.detail = r.located(f"{csv_path.name} line {line}")
    rejects.append(Reject(line, row, r))


def finish(objs: list, rejects: list[Reject], read: int, header: Header, out: Path, fractions: Sequence[float],
           summary: dict, notes: list[str] | None = None, overwrite: bool = False) -> ImportReport:
    """Writes records, rejects.csv and the summary into a staged folder that becomes `out` only when complete.

    Checks read = written + rejected on every run; with nothing accepted the folder still holds the rejects.
    """
    from ingest.records import write_all  # imports TensorFlow

    notes = list(notes or [])
    if header.renamed():
        notes.insert(0, f"columns read under other names: {header.describe()}")
    rejects = sorted(rejects, key=lambda rj: rj.line)
    by_reason = dict(collections.Counter(rj.error.reason for rj in rejects))
    with staged(out, overwrite) as tmp:
        splits = write_all(objs, tmp, fractions)
        with open(tmp / REJECTS_FILE, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["line", "reason", "field", "detail", *header.original])
            for rj in rejects:
                w.writerow([rj.line, rj.error.reason, rj.error.field, rj.error.detail, *rj.row.values()])
        report = ImportReport(read, len(objs), len(rejects), by_reason, splits, str(out / REJECTS_FILE),
                              summary.get("simulated_images", 0), notes)
        if report.read != report.written + report.rejected:
            raise AssertionError(f"row accounting broken: {report.line()}")
        (tmp / IMPORT_SUMMARY).write_text(json.dumps(
            {**report.__dict__, **summary, "column_mapping": header.mapping}, indent=1))
    return report
