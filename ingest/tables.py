"""Catalogues as astronomers keep them: FITS binary tables, VOTables and ECSV, read through astropy, row by row as
the CSV reader gives them, so every row check (ingest/rows.py) applies unchanged.

A table's rows have no file line: a row is named by its 1-based number (`export.fits row 7`), which is also the N of
a `row<N>.jpg` cutout. A masked or blank value reads as an empty CSV cell; column names are matched as a CSV
header's are (ingest/columns.py: any case, the same aliases).

Memory: a FITS table is memory-mapped and read in slices of CHUNK_ROWS, so it stays flat as the table grows (a
`.fits.gz` is decompressed whole into memory first: astropy cannot map it). astropy reads a VOTable or an ECSV file
whole (its VOTable parser builds the table before returning it), so those grow with the table: convert a large one to
FITS (`stilts tcopy in.vot out.fits`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import contract as c
from ingest.columns import CsvLayout, Header, layout

CSV, FITS, VOTABLE, ECSV = "csv", "fits", "votable", "ecsv"
SUFFIXES = {".fits": FITS, ".fit": FITS, ".fts": FITS, ".fits.gz": FITS, ".fit.gz": FITS, ".vot": VOTABLE,
            ".xml": VOTABLE, ".votable": VOTABLE, ".ecsv": ECSV, ".csv": CSV}
CHUNK_ROWS = 50_000
NUMERIC = (c.RA, c.DEC, *c.BANDS, c.REDSHIFT)  # contract columns that must hold numbers in a typed table


def format_of(path: str | Path) -> str:
    """The table format by the file's extension (case-insensitive); anything else is read as CSV, as before."""
    name = str(path).lower()
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), CSV)


def is_table(path: str | Path) -> bool:
    """A typed table that astropy reads (not a CSV)."""
    return format_of(path) != CSV


@dataclass(frozen=True)
class TableLayout:
    """A table's columns mapped onto the contract's names, and how many rows it has."""

    path: str
    fmt: str
    rows: int
    layout: CsvLayout

    @property
    def header(self) -> Header:
        return self.layout.header


def _fail(path: str | Path, what: str) -> ValueError:
    return ValueError(f"{path}: {what}")


def _fits_hdu(hdul: Any, path: str | Path) -> Any:
    """The first binary-table extension, with its data all present (a truncated file is refused here, not at a
    row deep into the job)."""
    import warnings

    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "may have been truncated": said below as an error
        hdu = next((h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
    if hdu is None:
        raise _fail(path, "no FITS table extension (a binary table, as CasJobs and TOPCAT write)")
    info, size = hdu.fileinfo(), Path(path).stat().st_size
    need = info["datLoc"] + hdu.header["NAXIS1"] * hdu.header["NAXIS2"] + hdu.header.get("PCOUNT", 0)
    if not str(path).lower().endswith(".gz") and size < need:
        raise _fail(path, f"truncated FITS file: {size} bytes, the table's header says {need}")
    return hdu


def _open_fits(path: str | Path) -> Any:
    import warnings

    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a truncation warning: _fits_hdu says it as an error
            return fits.open(path, memmap=not str(path).lower().endswith(".gz"))
    except (OSError, IndexError, EOFError, TypeError, ValueError) as e:
        raise _fail(path, f"not a readable FITS file ({type(e).__name__}: {e})") from None


def _read_whole(path: str | Path, fmt: str) -> Any:
    stat = Path(path).stat()
    return _read_whole_cached(str(path), fmt, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1)
def _read_whole_cached(path: str, fmt: str, mtime_ns: int, size: int) -> Any:
    """One parse per file and process: the layout and the rows both need it (the key changes if the file does)."""
    from astropy.table import Table

    try:
        return Table.read(path, format="votable" if fmt == VOTABLE else "ascii.ecsv")
    except Exception as e:  # noqa: BLE001 - astropy raises many kinds for a damaged file; one line names it
        raise _fail(path, f"not a readable {fmt.upper()} table ({type(e).__name__}: {str(e)[:200]})") from None


def _columns(path: str | Path, fmt: str) -> tuple[list[str], dict[str, np.dtype], int]:
    """(names, dtype of each, row count), from the FITS header alone or the whole VOTable/ECSV."""
    if fmt == FITS:
        with _open_fits(path) as hdul:
            hdu = _fits_hdu(hdul, path)
            cols = hdu.columns
            return list(cols.names), {n: np.dtype(cols[n].dtype) for n in cols.names}, int(hdu.header["NAXIS2"])
    t = _read_whole(path, fmt)
    return list(t.colnames), {n: t[n].dtype for n in t.colnames}, len(t)


def open_table(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()) -> TableLayout:
    """The table's layout; a missing required column, or a contract column of the wrong type, is a ValueError naming
    the file and the column (a typed table says its types once, so a wrong one is the file's fault, not a row's)."""
    fmt = format_of(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    names, dtypes, rows = _columns(path, fmt)
    found = layout(names, required, str(path), 0, optional)
    for name, src in found.header.mapping.items():
        column = names[[n.strip().lower() for n in names].index(src)]
        kind = dtypes[column].kind
        if name in NUMERIC and kind not in "fiu":
            raise _fail(path, f"column '{column}' ({name}) holds {dtypes[column]} values; it must be numeric")
        if name == c.LABEL and kind not in "USO":
            raise _fail(path, f"column '{column}' ({name}) holds {dtypes[column]} values; it must be text")
    return TableLayout(str(path), fmt, rows, found)


def _text(value: Any) -> str:
    """A cell as the CSV reader would give it: masked -> '', numbers in full precision. NaN is a float column's blank
    in FITS and VOTable (their standards say so), so it reads as an empty cell too."""
    if value is np.ma.masked or value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).strip()


def _null_masks(hdu: Any, names: list[str], part: Any) -> dict[str, np.ndarray]:
    """FITS integer columns mark a blank with TNULLn; the raw record array does not apply it."""
    out = {}
    for k, name in enumerate(names, start=1):
        null = hdu.header.get(f"TNULL{k}")
        if null is not None:
            out[name] = np.asarray(part[name]) == null
    return out


def _slices(tl: TableLayout, start: int, stop: int) -> Iterator[tuple[int, list[str], list[np.ndarray], dict]]:
    """(first row index, column names, column arrays, blank masks) per slice of at most CHUNK_ROWS rows."""
    if tl.fmt == FITS:
        with _open_fits(tl.path) as hdul:
            hdu = _fits_hdu(hdul, tl.path)
            names = list(hdu.columns.names)
            for s in range(start, stop, CHUNK_ROWS):
                part = hdu.data[s:min(stop, s + CHUNK_ROWS)]
                yield s, names, [part[n] for n in names], _null_masks(hdu, names, part)
        return
    t = _read_whole(tl.path, tl.fmt)
    names = list(t.colnames)
    for s in range(start, stop, CHUNK_ROWS):
        part = t[s:min(stop, s + CHUNK_ROWS)]
        masks = {n: np.ma.getmaskarray(part[n]) for n in names if hasattr(part[n], "mask")}
        yield s, names, [np.ma.getdata(part[n]) for n in names], masks


def iter_rows(tl: TableLayout, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(1-based row number, row keyed as ingest/columns.CsvLayout keys a CSV row) for rows [start, stop)."""
    stop = tl.rows if stop is None else min(stop, tl.rows)
    for first, names, arrays, masks in _slices(tl, start, stop):
        blank = [masks.get(n) for n in names]
        for k in range(len(arrays[0]) if arrays else 0):
            values = ["" if (b is not None and b[k]) else _text(a[k]) for a, b in zip(arrays, blank)]
            yield first + k + 1, tl.layout.row(values)


def read_table_rows(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()
                    ) -> tuple[Header, list[tuple[int, dict[str, str]]]]:
    """The whole table as ingest/columns.read_rows gives a CSV, each row numbered by its 1-based row number."""
    tl = open_table(path, required, optional)
    return tl.header, list(iter_rows(tl))


def row_ranges(tl: TableLayout, rows_per_task: int = 4 * CHUNK_ROWS) -> list[tuple[int, int]]:
    """The table cut into [start, stop) ranges for parallel workers. A FITS table is mapped, so each worker reads
    only its range; a VOTable or ECSV is read whole by whoever reads it, so it is one range."""
    if tl.fmt != FITS:
        return [(0, tl.rows)]
    return [(s, min(tl.rows, s + rows_per_task)) for s in range(0, tl.rows, rows_per_task)] or [(0, 0)]


def read_any(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()
             ) -> tuple[Header, list[tuple[int, int, dict[str, str]]]]:
    """(header, [(file line or 0 for a table row, 1-based data row, row)]) from a CSV, FITS, VOTable or ECSV file,
    by its extension: what `ingest import` reads."""
    from ingest.columns import read_rows

    if is_table(path):
        header, rows = read_table_rows(path, required, optional)
        return header, [(0, n, row) for n, row in rows]
    header, rows = read_rows(Path(path), required, optional)
    return header, [(line, n, row) for n, (line, row) in enumerate(rows, start=1)]
