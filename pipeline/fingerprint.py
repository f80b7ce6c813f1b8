"""Content hashes that go into component parameters, so that edits invalidate TFX's cache.

With dotted `run_fn`/`preprocessing_fn` paths TFX keys the cache on the string
only; hashing the code keeps dotted paths (which Dataflow workers can import
from the installed package) and still re-runs Transform and Trainer when the
code changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def tree_sha256(dirs: Iterable[Path], files: Iterable[Path] = ()) -> str:
    h = hashlib.sha256()
    paths = sorted({p for d in dirs for p in Path(d).rglob("*.py")} | {Path(f) for f in files})
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()
