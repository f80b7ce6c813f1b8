"""The same object listed twice in a catalogue: flagged in the output, never passed silently, never dropped.

A catalogue stitched from overlapping queries or fields lists some objects twice: rows within SAME_OBJECT_ARCSEC
(ingest/keys.py), with the same objid or another (SDSS deblending does not put two objects that close). The import
refuses the later listing (`duplicate_objid`): a training set must not count an object twice. A catalogue job's
user asked for every row, so it classifies each, and flags them: `same_object_as` lists the `source` of every other
row of the same object (empty for an object listed once). Both rows are flagged, so which one is "first" does not depend
on the engine's order; keep one with `df[~df.same_object_as.str.contains(...)]` or by your own rule.

Both drivers flag the same rows with one rule (same_object): positions are compared with astropy's search_around_sky
(a k-d tree). The Beam driver flags its written Parquet files (flag: objids and positions in memory, then only the
flagged rows' sources; files without a flagged row are not rewritten); the Spark driver flags its rows before it
writes them, wherever --out is (inference/drivers/spark_finish.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from inference.job import SAME_OBJECT as COLUMN
from ingest.keys import SAME_OBJECT_ARCSEC, near_pairs


def objid_hash(objids: Any) -> np.ndarray:
    return np.array([int.from_bytes(hashlib.blake2b(o.encode(), digest_size=8).digest(), "little", signed=True)
                     for o in objids], dtype=np.int64)


def _groups(objid_hash: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """A group label per row listed more than once, -1 for the rest. The import's rule (ingest/keys.py): rows within
    SAME_OBJECT_ARCSEC are one object, whatever their ids; one id at positions further apart is an id rounded through
    float64, not one object. A row without a position falls back to its objid."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(objid_hash)
    placed = np.isfinite(ra) & np.isfinite(dec)
    order = np.argsort(objid_hash, kind="stable")
    same = objid_hash[order][1:] == objid_hash[order][:-1]
    a, b = order[:-1][same], order[1:][same]
    unplaced = ~(placed[a] & placed[b])
    ok = np.flatnonzero(placed)
    i, j, _ = near_pairs(ra[ok], dec[ok], SAME_OBJECT_ARCSEC)
    a, b = np.concatenate([a[unplaced], ok[i]]), np.concatenate([b[unplaced], ok[j]])
    if not len(a):
        return np.full(n, -1)
    _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    listed = np.bincount(comp)
    return np.where(listed[comp] > 1, comp, -1)


def same_object(hashes: np.ndarray, ra: np.ndarray, dec: np.ndarray,
                sources_of: Callable[[np.ndarray], dict[int, str]]) -> tuple[dict[int, str], dict[str, int]]:
    """`same_object_as` for every flagged row (its index: the sources of the other rows of its object) and the
    counts for the summary. `hashes`: objid_hash of each row's objid (8 bytes a row, where the ids would take ~60).
    `sources_of(rows)` gives the `source` of those rows, so a caller reads only theirs."""
    labels = _groups(hashes, ra, dec)
    flagged = np.flatnonzero(labels >= 0)
    if not len(flagged):
        return {}, {"rows_flagged": 0, "objects_listed_more_than_once": 0}
    sources = sources_of(flagged)
    members: dict[int, list[int]] = {}
    for r in flagged:
        members.setdefault(int(labels[r]), []).append(int(r))
    values = {int(r): "; ".join(sorted(sources[m] for m in members[int(labels[r])] if m != r)) for r in flagged}
    return values, {"rows_flagged": int(len(flagged)), "objects_listed_more_than_once": len(members)}


def flag(out_dir: str, parquet_dir: str) -> dict[str, int]:
    """Fills `same_object_as` in the Parquet files under out_dir/parquet_dir (a local folder: the Beam driver's);
    returns the counts for the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(Path(out_dir, parquet_dir).glob("*.parquet"))
    parts = [pq.read_table(f, columns=["objid", "ra", "dec"]) for f in files]
    starts = np.concatenate([[0], np.cumsum([len(t) for t in parts])]).astype(int)
    hashes = np.concatenate([objid_hash(t["objid"].to_pylist()) for t in parts]) if parts else np.zeros(0, np.int64)
    ra = np.concatenate([t["ra"].to_numpy() for t in parts]) if parts else np.zeros(0)
    dec = np.concatenate([t["dec"].to_numpy() for t in parts]) if parts else np.zeros(0)
    del parts

    def in_file(k: int, rows: np.ndarray) -> np.ndarray:
        return rows[(rows >= starts[k]) & (rows < starts[k + 1])]

    def sources_of(rows: np.ndarray) -> dict[int, str]:
        found: dict[int, str] = {}
        for k, f in enumerate(files):
            if len(mine := in_file(k, rows)):
                src = pq.read_table(f, columns=["source"])["source"]
                found.update({int(r): src[int(r - starts[k])].as_py() for r in mine})
        return found

    values, counts = same_object(hashes, ra, dec, sources_of)
    flagged = np.array(sorted(values), dtype=int)
    for k, f in enumerate(files):
        if not len(mine := in_file(k, flagged)):
            continue  # files without a flagged row are not rewritten
        table = pq.read_table(f)
        column = table[COLUMN].to_pylist()
        for r in mine:
            column[int(r - starts[k])] = values[int(r)]
        table = table.set_column(table.schema.get_field_index(COLUMN), COLUMN, pa.array(column, pa.string()))
        tmp = f.with_suffix(".tmp")
        pq.write_table(table, tmp)
        tmp.replace(f)
    return counts
