"""Object keys: which rows are the same object, and what to call an object whose objid cannot be trusted.

SkyServer objids are exact 64-bit integers, but many shared tables pass them
through float64: written as `1.23764870457714E+018`, or printed back as digits
(`1237678802627461376`), different objects end up with one id. So an objid
is only a key when it is plain digits AND no other row has it at another
position. Rows with the same id within SAME_OBJECT_ARCSEC are one object
listed twice (duplicates); the same id at different positions means the id
is inexact, and those rows are keyed by position, `J<ra>±<dec>` (5 decimals).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

EXACT_OBJID = re.compile(r"^\d{1,20}$")
SAME_OBJECT_ARCSEC = 1.0


def position_key(ra: float, dec: float) -> str:
    return f"J{ra:.5f}{dec:+.5f}"


def object_key(objid_text: str, ra: float, dec: float) -> str:
    """The key of one row on its own: the objid if written exactly, else its position."""
    text = objid_text.strip()
    return text if EXACT_OBJID.match(text) else position_key(ra, dec)


def sky(ra: Sequence[float] | np.ndarray, dec: Sequence[float] | np.ndarray):
    """ICRS positions in degrees, as astropy compares them (SkyServer's ra, dec are ICRS)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra=np.asarray(ra, float) * u.deg, dec=np.asarray(dec, float) * u.deg, frame="icrs")


def separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (astropy's Vincenty formula, exact at small and large angles)."""
    return float(sky([ra1], [dec1]).separation(sky([ra2], [dec2]))[0].arcsec)


def near_pairs(ra: np.ndarray, dec: np.ndarray, radius_arcsec: float = SAME_OBJECT_ARCSEC
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) of positions within `radius_arcsec`, with its separation in arcsec: astropy's
    search_around_sky (a k-d tree), so a million rows are compared without a million squared."""
    import astropy.units as u
    from astropy.coordinates import search_around_sky

    if len(ra) < 2:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    coords = sky(ra, dec)
    i, j, sep, _ = search_around_sky(coords, coords, radius_arcsec * u.arcsec)
    keep = i < j
    return i[keep], j[keep], sep[keep].arcsec


@dataclass(frozen=True)
class Sighting:
    """What a row says about which object it is: its objid as written and its position."""

    line: int  # the file line (a CSV) or the 1-based row (a FITS, VOTable or ECSV table): see `unit`
    objid: str
    ra: float
    dec: float


@dataclass
class Keys:
    key: dict[int, str] = field(default_factory=dict)  # row index -> key, for rows that are kept
    duplicate: dict[int, str] = field(default_factory=dict)  # row index -> why it repeats an earlier row
    inexact: dict[str, int] = field(default_factory=dict)  # shared objid -> how many objects carry it


def assign_keys(rows: list[Sighting], unit: str = "line") -> Keys:
    """`unit`: what Sighting.line counts, as the duplicates' reasons name it ("line" of a CSV, "row" of a table)."""
    out = Keys()
    groups: dict[str, list[int]] = defaultdict(list)
    for k, row in enumerate(rows):
        groups[object_key(row.objid, row.ra, row.dec)].append(k)
    for key, members in groups.items():
        kept: list[int] = []
        if len(members) > 1:  # one SkyCoord per shared key, not per row: most keys are one row's
            coords = sky([rows[k].ra for k in members], [rows[k].dec for k in members])
        for n, k in enumerate(members):
            seps = coords[n].separation(coords[[members.index(j) for j in kept]]).arcsec if kept else []
            same = next((j for j, sep in zip(kept, seps) if sep <= SAME_OBJECT_ARCSEC), None)
            if same is None:
                kept.append(k)
            else:
                sep = float(seps[kept.index(same)])
                out.duplicate[k] = (f"same object as {unit} {rows[same].line} (objid {rows[k].objid.strip()}, "
                                    f"{sep:.2f}\" apart)")
        rekey = len(kept) > 1 and EXACT_OBJID.match(key) is not None
        if rekey:
            out.inexact[key] = len(kept)
        for k in kept:
            out.key[k] = position_key(rows[k].ra, rows[k].dec) if rekey else key
    first: dict[str, int] = {}
    for k in sorted(out.key):
        key = out.key[k]
        if key in first:
            out.duplicate[k] = f"same position as {unit} {rows[first[key]].line} (key {key})"
            del out.key[k]
        else:
            first[key] = k
    return out


# SDSS photometric objids pack where the object was imaged (skyServer's fGetObjFromObjID): run in bits 32-47,
# camcol in 29-31, field in 16-27. Objects of one field share seeing, sky and neighbours.
FIELD_COLUMNS = ("run", "camcol", "field")


def field_of_objid(objid: str) -> tuple[int, int, int]:
    """(run, camcol, field) decoded from an exact SDSS objid."""
    n = int(objid)
    return (n >> 32) & 0xFFFF, (n >> 29) & 0x7, (n >> 16) & 0xFFF


def field_key(row: dict[str, str], key: str) -> str | None:
    """`field <run>-<camcol>-<field>` from the row's run/camcol/field columns or, without them, from an exact objid
    key; None where neither says (a float-rounded objid and no field columns)."""
    values = [(row.get(name) or "").strip() for name in FIELD_COLUMNS]
    if all(values):
        try:
            return "field " + "-".join(str(int(float(v))) for v in values)
        except ValueError:
            return None
    if EXACT_OBJID.match(key):
        return "field {}-{}-{}".format(*field_of_objid(key))
    return None
