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

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

EXACT_OBJID = re.compile(r"^\d{1,20}$")
SAME_OBJECT_ARCSEC = 1.0


def position_key(ra: float, dec: float) -> str:
    return f"J{ra:.5f}{dec:+.5f}"


def object_key(objid_text: str, ra: float, dec: float) -> str:
    """The key of one row on its own: the objid if written exactly, else its position."""
    text = objid_text.strip()
    return text if EXACT_OBJID.match(text) else position_key(ra, dec)


def separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (haversine, stable at small angles)."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h)))) * 3600


@dataclass(frozen=True)
class Sighting:
    """What a row says about which object it is: its objid as written and its position."""

    line: int
    objid: str
    ra: float
    dec: float


@dataclass
class Keys:
    key: dict[int, str] = field(default_factory=dict)  # row index -> key, for rows that are kept
    duplicate: dict[int, str] = field(default_factory=dict)  # row index -> why it repeats an earlier row
    inexact: dict[str, int] = field(default_factory=dict)  # shared objid -> how many objects carry it


def assign_keys(rows: list[Sighting]) -> Keys:
    out = Keys()
    groups: dict[str, list[int]] = defaultdict(list)
    for k, row in enumerate(rows):
        groups[object_key(row.objid, row.ra, row.dec)].append(k)
    for key, members in groups.items():
        kept: list[int] = []
        for k in members:
            same = next((j for j in kept if separation_arcsec(rows[j].ra, rows[j].dec, rows[k].ra, rows[k].dec)
                         <= SAME_OBJECT_ARCSEC), None)
            if same is None:
                kept.append(k)
            else:
                sep = separation_arcsec(rows[same].ra, rows[same].dec, rows[k].ra, rows[k].dec)
                out.duplicate[k] = (f"same object as line {rows[same].line} (objid {rows[k].objid.strip()}, "
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
            out.duplicate[k] = f"same position as line {rows[first[key]].line} (key {key})"
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
