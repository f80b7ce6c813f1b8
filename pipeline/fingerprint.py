"""Content hashes that go into component parameters, so that edits invalidate TFX's cache.

With dotted `run_fn`/`preprocessing_fn` paths, or a metric named by module,
TFX keys the cache on the string only; hashing the code keeps dotted paths
(which Dataflow workers can import from the installed package) and still
re-runs a component when the code that shapes its output changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


def tree_sha256(paths: Iterable[Path]) -> str:
    """One hash over the given files and every *.py under the given folders (names and contents)."""
    h = hashlib.sha256()
    files: set[Path] = set()
    for p in map(Path, paths):
        files |= set(p.rglob("*.py")) if p.is_dir() else {p}
    for p in sorted(files):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class Fingerprints:
    """One hash per component family whose output code shapes; a field, not a string key, so a missing or
    misspelt one fails where it is read. pipeline/configs.py CODE_FOR says which code each one covers."""

    train: str  # Transform and Trainer
    evaluate: str  # the Evaluator's own metric
    report: str  # EvaluationReport
    push: str  # Pusher
    drift: str  # DriftCheck

    @classmethod
    def of(cls, code_for: Mapping[str, Iterable[Path]]) -> Fingerprints:
        """The hashes of the code that `code_for` names for each field; its keys must be exactly the fields."""
        fields = {f.name for f in dataclasses.fields(cls)}
        if set(code_for) != fields:
            raise ValueError(f"CODE_FOR must name exactly {sorted(fields)}, got {sorted(code_for)}")
        return cls(**{name: tree_sha256(paths) for name, paths in code_for.items()})
