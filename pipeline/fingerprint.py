"""Content hashes that go into component parameters, so that edits invalidate TFX's cache.

With dotted `run_fn`/`preprocessing_fn` paths, or a metric named by module,
TFX keys the cache on the string only; hashing the code keeps dotted paths
(which Dataflow workers can import from the installed package) and still
re-runs a component when the code that shapes its output changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
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


def code_hashes(code_for: Mapping[str, Iterable[Path]]) -> dict[str, str]:
    """{'train': sha, 'evaluate': sha, ...} for pipeline/configs.py's CODE_FOR."""
    return {name: tree_sha256(paths) for name, paths in code_for.items()}
