"""Positions through astropy, and the catalogue job's flag for an object listed twice (inference/duplicates.py),
on a written output of two Parquet files: the import's rule, across files, at the RA wrap."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inference import duplicates, job
from ingest.keys import near_pairs, separation_arcsec

ARCSEC = 1 / 3600


def test_separations_and_pairs_are_astropys_across_the_ra_wrap_and_near_the_pole():
    assert separation_arcsec(359.99999, 0.0, 0.00001, 0.0) == pytest.approx(0.072, rel=1e-3)
    assert separation_arcsec(10.0, 60.0, 10.0 + ARCSEC, 60.0) == pytest.approx(0.5, rel=1e-4)  # cos(dec)
    ra = np.array([359.99995, 0.00005, 120.0, 300.0, 120.0 + 0.9 * ARCSEC / np.cos(np.radians(89.9))])
    dec = np.array([0.0, 0.0, 89.9, -30.0, 89.9])
    i, j, sep = near_pairs(ra, dec, 1.0)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (2, 4)]  # 0.36" across RA 0, 0.9" near the pole
    assert sorted(np.round(sep, 3).tolist()) == [0.36, 0.9]
    assert len(near_pairs(ra[[0, 3]], dec[[0, 3]], 1.0)[0]) == 0


def _row(objid: str, ra: float, dec: float, source: str) -> dict:
    return {"objid": objid, "ra": ra, "dec": dec, "p_GALAXY": 0.2, "p_STAR": 0.7, "p_QSO": 0.1, "class": "STAR",
            "outside_training_range": [], "model_version": "1", "model_inputs": "photometric", "source": source,
            job.SAME_OBJECT: ""}


def test_repeats_are_flagged_by_the_imports_rule_and_nothing_else_changes(tmp_path):
    nan = float("nan")
    files = {
        "part-0.parquet": [_row("1", 150.0, 2.0, "a row 1"), _row("2", 151.0, 2.0, "a row 2"),
                           _row("7", 10.0, -5.0, "a row 3"), _row("9", nan, nan, "a row 4"),
                           _row("11", 200.0, 10.0, "a row 5")],
        "part-1.parquet": [_row("1", 150.0 + 0.3 * ARCSEC, 2.0, "a row 6"),  # objid 1 again, 0.3" away
                           _row("3", 151.0, 2.0 + 0.5 * ARCSEC, "a row 7"),  # another id 0.5" from row 2
                           _row("7", 80.0, 40.0, "a row 8"),  # objid 7 far away: an id rounded through float64
                           _row("9", nan, nan, "a row 9"),  # no position: the objid decides
                           _row("12", 200.0 + 1.5 * ARCSEC, 10.0, "a row 10")],  # 1.5": another object
    }
    folder = tmp_path / job.PARQUET_DIR
    folder.mkdir()
    for name, rows in files.items():
        pq.write_table(pa.Table.from_pylist(rows, job.parquet_schema()), folder / name)
    counts = duplicates.flag(str(tmp_path), job.PARQUET_DIR)
    assert counts == {"rows_flagged": 6, "objects_listed_more_than_once": 3}
    out = pq.read_table(folder).to_pandas()
    flags = dict(zip(out["source"], out[job.SAME_OBJECT]))
    assert flags == {"a row 1": "a row 6", "a row 6": "a row 1", "a row 2": "a row 7", "a row 7": "a row 2",
                     "a row 4": "a row 9", "a row 9": "a row 4", "a row 3": "", "a row 8": "", "a row 5": "",
                     "a row 10": ""}
    assert len(out) == 10 and np.allclose(out["p_STAR"], 0.7)  # every row kept, nothing else touched
    assert pq.read_schema(folder / "part-1.parquet").names == job.parquet_schema().names
