"""Reading a user's CSV: the header's dialect, its mapping onto the contract's names, and the data rows.

Public SDSS tables name the same quantities differently: SkyServer's PhotoObj
says `objid, ra, dec, u..z`, its SpecPhotoAll `objID, modelMag_u.., z` (there
`z` is the redshift), and the Kaggle "Stellar Classification Dataset - SDSS17"
`obj_ID, alpha, delta`. Only aliases for the same measurement are accepted:
`modelMag_*` is what PhotoObj's `u..z` abbreviate, while `dered_*`, `psfMag_*`
or `petroMag_*` are other magnitudes and are never taken for them.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import contract as c

# Contract name -> accepted header names (lower case), the contract's own first.
ALIASES: dict[str, tuple[str, ...]] = {
    c.OBJID: (c.OBJID, "obj_id", "bestobjid"),
    c.RA: (c.RA, "alpha"),
    c.DEC: (c.DEC, "delta"),
    **{b: (b, f"modelmag_{b}") for b in c.BANDS},
    c.REDSHIFT: (c.REDSHIFT,),
    c.LABEL: (c.LABEL,),
}


@dataclass(frozen=True)
class Header:
    original: list[str]
    mapping: dict[str, str]  # contract name -> the file's column (lower case)

    def renamed(self) -> dict[str, str]:
        """Only the columns read under another name, e.g. {'obj_id': 'objid'}."""
        return {src: name for name, src in self.mapping.items() if src != name}

    def describe(self) -> str:
        renamed = self.renamed()
        return ", ".join(f"{src}->{dst}" for src, dst in renamed.items()) if renamed else ""


def _near(column: str, aliases: Sequence[str]) -> bool:
    """A spelling variant ('object_id') or a name with a unit or suffix ('RA_deg', 'dec (J2000)')."""
    tokens = set(re.split(r"[^a-z0-9]+", column))
    return bool(difflib.get_close_matches(column, aliases, n=1, cutoff=0.6) or tokens & set(aliases))


def resolve(header: list[str], required: Sequence[str], where: str, optional: Sequence[str] = ()) -> Header:
    """Maps the header onto contract names; a missing required name is an error listing what is accepted and near
    misses; an `optional` one is mapped when present."""
    keys = [h.strip().lower() for h in header]
    # SpecPhotoAll writes modelMag_u..z and the redshift as `z`; with plain u..z columns `z` is the z band.
    model_mags = all(f"modelmag_{b}" in keys for b in c.BANDS)
    mapping: dict[str, str] = {}
    for name in (*required, *optional):
        aliases = ALIASES.get(name, (name,))
        if model_mags and name in c.BANDS:
            aliases = (f"modelmag_{name}",)
        elif model_mags and name == c.REDSHIFT:
            aliases = (*aliases, "z")
        found = next((a for a in aliases if a in keys), None)
        if found is not None:
            mapping[name] = found
    missing = [name for name in required if name not in mapping]
    if missing:
        accepted = "; ".join(f"{name}: {' or '.join(ALIASES.get(name, (name,)))}" for name in missing)
        used = set(mapping.values())
        unused = [h for h, k in zip(header, keys) if k not in used]
        near = sorted({f"'{h}' (for {name}?)" for name in missing for h in unused
                       if _near(h.strip().lower(), ALIASES.get(name, (name,)))})
        raise ValueError(f"{where}: missing column(s) {missing}. Accepted names (any case): {accepted}."
                         + (f" Near misses in this header: {', '.join(near)}." if near else "")
                         + f" Header is {header}")
    return Header(header, mapping)


@dataclass(frozen=True)
class CsvLayout:
    """A file's header read once: each data line then maps onto contract names alone, so lines can be parsed
    anywhere, in any order (the Spark driver parses a CSV in partitions)."""

    header: Header
    header_line: int
    keys: tuple[str, ...]  # per column: its contract name, or its own lower-case name

    def row(self, values: Sequence[str]) -> dict[str, str]:
        return dict(zip(self.keys, values))


def is_data_line(text: str) -> bool:
    """Not SkyServer's '#Table1' comment, not blank: a line that holds the header or a row."""
    return not text.startswith("#") and bool(text.strip())


def parse_line(text: str) -> list[str]:
    """One CSV line's values (a quoted field spanning lines is not a SkyServer export's)."""
    return next(csv.reader([text]), [])


def layout(header: list[str], required: Sequence[str], where: str, header_line: int,
           optional: Sequence[str] = ()) -> CsvLayout:
    resolved = resolve(header, required, where, optional)
    keys = [h.strip().lower() for h in header]
    rename = {src: name for name, src in resolved.mapping.items()}
    # A column read under a contract name must not be shadowed by another column of that name (SpecPhotoAll's z).
    shadowed = {name for name in rename.values() if name in keys and name not in rename}
    return CsvLayout(resolved, header_line, tuple(rename.get(k, f"{k} (unused)" if k in shadowed else k)
                                                  for k in keys))


def layout_of_lines(lines: Iterable[str], name: str, required: Sequence[str], optional: Sequence[str] = ()
                    ) -> CsvLayout:
    """The layout from a CSV's first lines, wherever they were read (a Spark driver reads them through Hadoop)."""
    for n, text in enumerate(lines, start=1):
        text = text.lstrip("\ufeff") if n == 1 else text
        if is_data_line(text):
            return layout(parse_line(text), required, f"{name} line {n}", n, optional)
    raise ValueError(f"{name}: no header row")


def read_rows(csv_path: Path, required: Sequence[str], optional: Sequence[str] = ()
              ) -> tuple[Header, list[tuple[int, dict[str, str]]]]:
    """(header, [(file line number, row keyed by contract name, other columns by lower-case name)]).

    Skips SkyServer's '#Table1' comment lines and blank lines; the BOM is dropped.
    """
    raw = Path(csv_path).read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{csv_path} line {line}: not UTF-8 text (byte {raw[e.start]:#04x}); save the export "
                         "as UTF-8") from None
    lines = [(n, text) for n, text in enumerate(io.StringIO(content, newline=""), start=1) if is_data_line(text)]
    if not lines:
        raise ValueError(f"{csv_path}: no header row")
    reader = csv.reader(text for _, text in lines)
    parsed = []
    try:
        for values in reader:
            parsed.append(values)
    except csv.Error as e:
        raise ValueError(f"{csv_path} line {lines[len(parsed)][0]}: not readable as CSV ({e})") from None
    found = layout(parsed[0], required, f"{csv_path} line {lines[0][0]}", lines[0][0], optional)
    return found.header, [(lines[k + 1][0], found.row(values)) for k, values in enumerate(parsed[1:])]
