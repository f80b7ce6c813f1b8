"""Fetch objects and their cutouts from SkyServer (needs internet; nothing else in the product does).

    python -m ingest download --n 1000 --out data/skyserver [--mix dr|balanced]
    python -m ingest import --csv data/skyserver/export.csv --images data/skyserver/images --out data/mine

One SQL query per class (PhotoObj joined to SpecObj, through astroquery.sdss)
writes `export.csv`; then one ImgCutout JPEG per object goes to
`images/<objid>.jpg`. It is resumable: an existing export.csv is reused and
cutouts already on disk are skipped, so an interrupted run simply runs again.
Requests are rate-limited and retried with exponential back-off on server
errors and time-outs.

Magnitudes: `u..z` are PhotoObj's u..z, SkyServer's MODEL magnitudes
(modelMag), the ones every table the model is trained on carries (the DR14
table, real_multimodal), so the model reads what it learnt from. Their errors
(`err_u..err_z`) and the PSF magnitudes (`psfMag_u..psfMag_z`) come as extra
columns to study; the model never reads them. For a point source the two
systems differ by a few hundredths; for a galaxy by up to magnitudes. The
selection (clean photometry, psfMag_u <= 19.6, psfMag_g <= 20, zWarning 0) is
the 2021 study's.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import contract as c

DEFAULT_BASE_URL = "https://skyserver.sdss.org/dr16"  # the server and its data release
DEFAULT_RELEASE = 16
SQL_PATH = "/en/tools/search/x_results.aspx"  # astroquery.sdss's SQL endpoint, under /dr<N>
CUTOUT_PATH = "/SkyServerWS/ImgCutout/getjpeg"
RETRYABLE_HTTP = {429, 500, 502, 503, 504}
T = TypeVar("T")

SQL_TEMPLATE = """SELECT TOP {n} p.objid, p.ra, p.dec,
 p.u, p.g, p.r, p.i, p.z, p.err_u, p.err_g, p.err_r, p.err_i, p.err_z,
 p.psfMag_u, p.psfMag_g, p.psfMag_r, p.psfMag_i, p.psfMag_z,
 p.run, p.rerun, p.camcol, p.field, s.specobjid,
 s.class, s.z AS redshift, s.plate, s.mjd, s.fiberid
FROM PhotoObj AS p JOIN SpecObj AS s ON s.bestobjid = p.objid
WHERE s.class = '{cls}' AND s.zWarning = 0 AND p.clean = 1 AND p.psfMag_u <= 19.6 AND p.psfMag_g <= 20
ORDER BY p.objid"""


def split_base(base_url: str) -> tuple[str, int]:
    """(server root, data release) from `https://skyserver.sdss.org/dr16`; a root alone means DR16."""
    m = re.match(r"^(.*?)/dr(\d+)/?$", base_url)
    return (m.group(1), int(m.group(2))) if m else (base_url.rstrip("/"), DEFAULT_RELEASE)


@dataclass
class Fetcher:
    """HTTP GET with a polite rate limit and retries; one per download run."""

    min_interval_s: float = 0.5
    max_retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 30.0
    _last: float = field(default=0.0, repr=False)

    def get(self, url: str) -> bytes:
        def once() -> bytes:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                return resp.read()
        return self.call(once)

    def call(self, request: Callable[[], T]) -> T:
        """`request` rate-limited, retried on a retryable status or a lost connection, urllib's or requests' (which
        astroquery uses)."""
        import requests

        for attempt in range(self.max_retries + 1):
            wait = self._last + self.min_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            try:
                return request()
            except (urllib.error.HTTPError, requests.HTTPError) as e:
                status = e.code if isinstance(e, urllib.error.HTTPError) else e.response.status_code
                if status not in RETRYABLE_HTTP or attempt == self.max_retries:
                    raise
            except (urllib.error.URLError, TimeoutError, ConnectionError, requests.ConnectionError,
                    requests.Timeout):
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


def query_sql(fetcher: Fetcher, base_url: str, sql: str) -> Any:
    """One SQL query through astroquery.sdss (no cache: a download is a snapshot), as an astropy Table or None."""
    from astroquery.sdss import SDSS, conf

    root, release = split_base(base_url)
    with conf.set_temp("skyserver_baseurl", root):
        return fetcher.call(lambda: SDSS.query_sql(sql, data_release=release, cache=False,
                                                   timeout=fetcher.timeout_s))


def query_export(fetcher: Fetcher, base_url: str, n: int, mix: str, out_csv: Path) -> None:
    from astropy.table import vstack

    tables = []
    for cls, k in class_counts(n, mix).items():
        got = query_sql(fetcher, base_url, " ".join(SQL_TEMPLATE.format(n=k, cls=cls).split()))
        if got is None:
            continue
        if tables and got.colnames != tables[0].colnames:
            raise ValueError(f"SkyServer returned different columns for {cls}: {got.colnames} vs "
                             f"{tables[0].colnames}")
        tables.append(got)
    if not tables:
        raise ValueError(f"SkyServer at {base_url} returned no objects")
    tmp = out_csv.with_suffix(".tmp")
    vstack(tables).write(tmp, format="ascii.csv", overwrite=True)
    os.replace(tmp, out_csv)


def cutout_url(base_url: str, ra: float, dec: float) -> str:
    root, release = split_base(base_url)
    q = {"ra": ra, "dec": dec, "scale": c.PIXEL_SCALE_ARCSEC, "width": c.IMAGE_SIZE, "height": c.IMAGE_SIZE}
    return f"{root}/dr{release}{CUTOUT_PATH}?" + urllib.parse.urlencode(q)


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
