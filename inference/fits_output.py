"""The catalogue job's rows as a FITS binary table, for TOPCAT, STILTS and astropy users.

Written from the finished Parquet output (after the counts are checked), so it holds exactly the rows counted in
summary.json, from either engine. Columns carry units where they have one (ra, dec in degrees; probabilities are
dimensionless) and UCDs (TUCDn) for the position and the class, and the header says which model classified them, from
which inputs, and the counts. The list column `outside_training_range` becomes one space-separated string.

Memory: the table is built in memory before it is written (the Parquet rows, then the FITS columns), so it grows
with the catalogue, unlike the job itself; its size at a million objects is not measured yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import contract as c

FITS_FILE = "classified.fits"
FORMATS = ("parquet", "fits", "both")
UNITS = {"ra": "deg", "dec": "deg"}
UCDS = {"objid": "meta.id;meta.main", "ra": "pos.eq.ra;meta.main", "dec": "pos.eq.dec;meta.main",
        "class": "src.class", **{f"p_{n}": "stat.probability" for n in c.CLASS_NAMES}}
PER_ROW_CONSTANT = ("model_version", "model_inputs")  # header keywords, not columns


def _text_column(name: str, values: list[str]) -> Any:
    from astropy.io import fits

    width = max([len(v.encode()) for v in values] + [1])
    return fits.Column(name=name, format=f"{width}A", array=np.array(values, dtype=f"S{width}"))


def write(out_dir: str, parquet_dir: str, summary: dict[str, Any]) -> Path:
    """out_dir/classified.fits from out_dir/parquet_dir; returns its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from inference.job import parquet_schema

    files = sorted(Path(out_dir, parquet_dir).glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files]) if files else parquet_schema().empty_table()
    path = Path(out_dir, FITS_FILE)
    write_table(table, summary, path)
    return path


def write_table(table: Any, summary: dict[str, Any], path: Path) -> None:
    """The classified rows (an Arrow table of job.parquet_schema) as a FITS file at the local `path`."""
    import pyarrow as pa
    from astropy.io import fits

    cols = []
    for name in table.column_names:
        if name in PER_ROW_CONSTANT:
            continue
        col = table[name]
        if name == c.OUTSIDE_TRAINING_RANGE:
            cols.append(_text_column(name, [" ".join(v or []) for v in col.to_pylist()]))
        elif pa.types.is_string(col.type):
            cols.append(_text_column(name, [v or "" for v in col.to_pylist()]))
        else:
            arr = col.to_numpy()
            cols.append(fits.Column(name=name, format="D" if arr.dtype == np.float64 else "E", array=arr,
                                    unit=UNITS.get(name)))
    hdu = fits.BinTableHDU.from_columns(cols, name="CLASSIFIED")
    for k, col in enumerate(cols, start=1):
        if col.name in UCDS:
            hdu.header[f"TUCD{k}"] = UCDS[col.name]
    h = hdu.header
    h["MODELVER"] = (summary["model_version"], "pushed model version that classified the rows")
    h["INPUTS"] = (summary["model_inputs"], "spectroscopic (with redshift) or photometric")
    h["NREAD"] = (summary["read"], "input rows read")
    h["NWRITTEN"] = (summary["written"], "rows classified (this table)")
    h["NREJECT"] = (summary["rejected"], "rows refused: rejects.csv says why")
    h["NSAMEOBJ"] = (summary["same_object"]["rows_flagged"], "rows flagged in same_object_as")
    h["ENGINE"] = (summary["engine"], "catalogue job engine")
    h["ORIGIN"] = "sdss-classify-catalog"
    if len(table) != summary["written"]:
        raise RuntimeError(f"FITS output has {len(table)} rows, the summary counted {summary['written']}")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
