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
from ingest.keys import FIELD_COLUMNS, field_key
from ingest.provenance import IMPORT_SUMMARY
from ingest.rows import Reject, RowRejected
from ingest.staging import staged

REJECTS_FILE = "rejects.csv"
SPLIT_BY_OBJECT, SPLIT_BY_FIELD = "object", "field"
SPLIT_BY = (SPLIT_BY_OBJECT, SPLIT_BY_FIELD)


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


def reject(rejects: list[Reject], path: Path, line: int, row: dict[str, str], r: RowRejected, data_row: int) -> None:
    """Keeps the row, its error located in the file: `export.csv line 7, field 'u': ...` for a CSV, `export.fits
    row 6, ...` for a table (`line` 0: a table row has no file line)."""
    where = f"{path.name} line {line}" if line else f"{path.name} row {data_row}"
    rejects.append(Reject.of(where, r, line, tuple(row.values()), data_row))


def finish(objs: list, rejects: list[Reject], read: int, header: Header, out: Path, fractions: Sequence[float],
           summary: dict, notes: list[str] | None = None, overwrite: bool = False,
           groups: list[str] | None = None) -> ImportReport:
    """Writes records, rejects.csv and the summary into a staged folder that becomes `out` only when complete.

    Checks read = written + rejected on every run; with nothing accepted the folder still holds the rejects.
    `groups` (one per object, from `split_group`) splits by group instead of by object; the summary records how.
    """
    from ingest.records import write_all  # imports TensorFlow

    notes = list(notes or [])
    if header.renamed():
        notes.insert(0, f"columns read under other names: {header.describe()}")
    rejects = sorted(rejects, key=lambda rj: (rj.data_row, rj.line))
    by_reason = dict(collections.Counter(rj.reason for rj in rejects))
    with staged(out, overwrite) as tmp:
        splits = write_all(objs, tmp, fractions, groups)
        with open(tmp / REJECTS_FILE, "w", newline="") as f:
            w = csv.writer(f)
            ours = ["line", "row", "reason", "field", "detail"]
            # An SDSS export has its own `field` (the imaging field): a repeated name would shadow ours in readers.
            w.writerow([*ours, *(f"{h} (input)" if h.strip().lower() in ours else h for h in header.original)])
            for rj in rejects:
                w.writerow([rj.line or "", rj.data_row or "", rj.reason, rj.field, rj.detail, *rj.row])
        report = ImportReport(read, len(objs), len(rejects), by_reason, splits, str(out / REJECTS_FILE),
                              summary.get("simulated_images", 0), notes)
        if report.read != report.written + report.rejected:
            raise AssertionError(f"row accounting broken: {report.line()}")
        split_info = {"split_by": SPLIT_BY_FIELD if groups is not None else SPLIT_BY_OBJECT,
                      "split_fractions": list(fractions)}
        if groups is not None:
            split_info["fields_per_split"] = _groups_per_split(groups, fractions)
        (tmp / IMPORT_SUMMARY).write_text(json.dumps(
            {**report.__dict__, **summary, **split_info, "column_mapping": header.mapping}, indent=1))
    return report


def split_group(split_by: str, row: dict[str, str], key: str) -> str | None:
    """None when splitting by object. By field, the object's SDSS (run, camcol, field), so that every object of one
    field lands in one split: from the row's run/camcol/field columns, else decoded from an exact objid; a row that
    tells neither is refused (`no_field`) rather than split by object behind the user's back."""
    if split_by not in SPLIT_BY:
        raise ValueError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}")
    if split_by == SPLIT_BY_OBJECT:
        return None
    group = field_key(row, key)
    if group is None:
        raise RowRejected("no_field", FIELD_COLUMNS[-1], "--split-by field needs run, camcol and field columns "
                          f"or an exact SDSS objid; object {key} has neither")
    return group


def _groups_per_split(groups: list[str], fractions: Sequence[float]) -> dict[str, int]:
    from ingest.records import split_of

    per: dict[str, set[str]] = collections.defaultdict(set)
    for g in set(groups):
        per[split_of(g, fractions)].add(g)
    return {s: len(v) for s, v in sorted(per.items())}
