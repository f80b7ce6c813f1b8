"""Fetch objects and their cutouts from SkyServer (needs internet; nothing else in the product does).

    python -m ingest download --n 1000 --out data/skyserver [--mix dr|balanced]
    python -m ingest import --csv data/skyserver/export.csv --images data/skyserver/images --out data/mine

One SQL query per class (PhotoObj joined to SpecObj) writes `export.csv`; then
one ImgCutout JPEG per object goes to `images/<objid>.jpg`. It is resumable:
an existing export.csv is reused and cutouts already on disk are skipped, so
an interrupted run simply runs again. Requests are rate-limited and retried
with exponential back-off on server errors and time-outs.
"""

from __future__ import annotations

import csv
import io
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import contract as c

DEFAULT_BASE_URL = "https://skyserver.sdss.org/dr16"
SQL_PATH = "/SkyServerWS/SearchTools/SqlSearch"
CUTOUT_PATH = "/SkyServerWS/ImgCutout/getjpeg"
RETRYABLE_HTTP = {429, 500, 502, 503, 504}

SQL_TEMPLATE = """SELECT TOP {n} CAST(p.objid AS VARCHAR(20)) AS objid, p.ra, p.dec,
 p.psfMag_u AS u, p.psfMag_g AS g, p.psfMag_r AS r, p.psfMag_i AS i, p.psfMag_z AS z,
 p.run, p.rerun, p.camcol, p.field, CAST(s.specobjid AS VARCHAR(20)) AS specobjid,
 s.class, s.z AS redshift, s.plate, s.mjd, s.fiberid
FROM PhotoObj AS p JOIN SpecObj AS s ON s.bestobjid = p.objid
WHERE s.class = '{cls}' AND s.zWarning = 0 AND p.clean = 1 AND p.psfMag_u <= 19.6 AND p.psfMag_g <= 20
ORDER BY p.objid"""


@dataclass
class Fetcher:
    """HTTP GET with a polite rate limit and retries; one per download run."""

    min_interval_s: float = 0.5
    max_retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 30.0
    _last: float = field(default=0.0, repr=False)

    def get(self, url: str) -> bytes:
        for attempt in range(self.max_retries + 1):
            wait = self._last + self.min_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                    return resp.read()
            except urllib.error.HTTPError as e:
                if e.code not in RETRYABLE_HTTP or attempt == self.max_retries:
                    raise
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if attempt == self.max_retries:
                    raise
            time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")


def class_counts(n: int, mix: str) -> dict[str, int]:
    if mix == "balanced":
        frac = {k: 1 / len(c.CLASS_NAMES) for k in c.CLASS_NAMES}
    else:
        from simulator.photometry import default_class_mix

        frac = default_class_mix()
    counts = {k: int(round(n * frac[k])) for k in c.CLASS_NAMES}
    counts[c.CLASS_NAMES[0]] += n - sum(counts.values())
    return counts


def query_export(fetcher: Fetcher, base_url: str, n: int, mix: str, out_csv: Path) -> None:
    header: list[str] | None = None
    rows: list[list[str]] = []
    for cls, k in class_counts(n, mix).items():
        sql = " ".join(SQL_TEMPLATE.format(n=k, cls=cls).split())
        url = f"{base_url}{SQL_PATH}?" + urllib.parse.urlencode({"cmd": sql, "format": "csv"})
        text = fetcher.get(url).decode("utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        reader = csv.reader(lines)
        this_header = next(reader)
        header = header or this_header
        if this_header != header:
            raise ValueError(f"SkyServer returned different columns for {cls}: {this_header} vs {header}")
        rows.extend(reader)
    tmp = out_csv.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([header or [], *rows])
    os.replace(tmp, out_csv)


def cutout_url(base_url: str, ra: float, dec: float) -> str:
    q = {"ra": ra, "dec": dec, "scale": c.PIXEL_SCALE_ARCSEC, "width": c.IMAGE_SIZE, "height": c.IMAGE_SIZE}
    return f"{base_url}{CUTOUT_PATH}?" + urllib.parse.urlencode(q)


def download(n: int, out_dir: str, base_url: str = DEFAULT_BASE_URL, mix: str = "dr",
             fetcher: Fetcher | None = None) -> dict[str, int]:
    """Returns counts: fetched, skipped (already on disk), failed."""
    fetcher = fetcher or Fetcher()
    out = Path(out_dir)
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    export = out / "export.csv"
    if not export.exists():
        query_export(fetcher, base_url, n, mix, export)
    counts = {"fetched": 0, "skipped": 0, "failed": 0}
    failures: list[tuple[str, str]] = []
    with open(export, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        target = images / f"{row['objid'].strip()}.jpg"
        if target.exists():
            counts["skipped"] += 1
            continue
        try:
            data = fetcher.get(cutout_url(base_url, float(row["ra"]), float(row["dec"])))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            counts["failed"] += 1
            failures.append((row["objid"], str(e)))
            continue
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # a file on disk is always a whole cutout, so resume can trust it
        counts["fetched"] += 1
    if failures:
        buf = io.StringIO()
        csv.writer(buf).writerows([["objid", "error"], *failures])
        (out / "download_failures.csv").write_text(buf.getvalue())
    return counts
