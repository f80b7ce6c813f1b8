"""The downloader against a local imitation of SkyServer's SQL and ImgCutout endpoints (no internet)."""

import csv
import io
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from ingest import records
from ingest.download import CUTOUT_PATH, SQL_PATH, Fetcher, download
from ingest.skyserver_import import import_export


class FakeSkyServer(BaseHTTPRequestHandler):
    sql_calls = 0
    sql_texts: list = []
    sql_fail_first = False  # the first SQL request answers 503
    cutout_calls: list = []
    fail_after: int | None = None  # cutouts served before the "outage"
    flaky_every: int = 0  # every Nth cutout request answers 503 once

    def log_message(self, *args):
        pass

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        cls = type(self)
        if url.path.endswith(SQL_PATH):
            cls.sql_calls += 1
            sql = q["cmd"][0]
            cls.sql_texts.append(sql)
            if cls.sql_fail_first and cls.sql_calls == 1:
                return self._send(503, b"busy", "text/plain")
            n = int(sql.split("TOP ")[1].split()[0])
            label = sql.split("s.class = '")[1].split("'")[0]
            base = {"GALAXY": 1000, "STAR": 2000, "QSO": 3000}[label]
            # SkyServer's own column names for what the query asks (PhotoObj's u..z are model magnitudes).
            columns = ("objid,ra,dec,u,g,r,i,z,err_u,err_g,err_r,err_i,err_z,psfMag_u,psfMag_g,psfMag_r,psfMag_i,"
                       "psfMag_z,run,rerun,camcol,field,specobjid,class,redshift,plate,mjd,fiberid")
            lines = ["#Table1", columns]
            for k in range(n):
                psf = "18.6,17.3,16.8,16.5,16.3" if label == "GALAXY" else "18.5,17.2,16.6,16.3,16.1"
                lines.append(f"123764870457{base + k:07d},{150 + base / 100 + k * 0.01:.5f},{2 + k * 0.01:.5f},"
                             f"18.5,17.2,16.6,16.3,16.1,0.05,0.01,0.01,0.01,0.02,{psf},752,301,4,267,"
                             f"2994{base + k:015d},{label},{0.1 if label != 'STAR' else 0.0},266,51630,1")
            return self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain")
        if url.path.endswith(CUTOUT_PATH):
            served = len([c for c in cls.cutout_calls if c[1] == 200])
            if cls.fail_after is not None and served >= cls.fail_after:
                cls.cutout_calls.append((self.path, 500))
                return self._send(500, b"down", "text/plain")
            if cls.flaky_every and len(cls.cutout_calls) % cls.flaky_every == 1:
                cls.cutout_calls.append((self.path, 503))
                return self._send(503, b"busy", "text/plain")
            cls.cutout_calls.append((self.path, 200))
            w = int(q["width"][0])
            buf = io.BytesIO()
            sky = np.random.default_rng(w).integers(20, 60, (w, w, 3), dtype=np.uint8)  # a flat image is refused
            Image.fromarray(sky).save(buf, format="JPEG")
            return self._send(200, buf.getvalue(), "image/jpeg")
        return self._send(404, b"", "text/plain")


@pytest.fixture()
def server():
    FakeSkyServer.sql_calls, FakeSkyServer.cutout_calls, FakeSkyServer.sql_texts = 0, [], []
    FakeSkyServer.sql_fail_first = False
    FakeSkyServer.fail_after, FakeSkyServer.flaky_every = None, 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeSkyServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def fast(retries=3):
    return Fetcher(min_interval_s=0.0, max_retries=retries, backoff_s=0.01, timeout_s=5)


def test_download_retries_then_feeds_import(server, tmp_path):
    FakeSkyServer.flaky_every = 4
    counts = download(20, str(tmp_path / "dl"), base_url=server, mix="balanced", fetcher=fast())
    assert counts == {"fetched": 20, "skipped": 0, "failed": 0}
    assert FakeSkyServer.sql_calls == 3  # one query per class
    assert any(code == 503 for _, code in FakeSkyServer.cutout_calls)  # retried through the flaky answers
    report = import_export(str(tmp_path / "dl" / "export.csv"), str(tmp_path / "dl" / "images"), str(tmp_path / "rec"))
    assert (report.read, report.written, report.rejected) == (20, 20, 0)
    labels = [o.label for s in ("train", "eval", "test") for o in records.read_split(tmp_path / "rec", s)]
    assert sorted(set(labels)) == ["GALAXY", "QSO", "STAR"]


def test_interrupted_download_resumes_without_refetching(server, tmp_path):
    FakeSkyServer.fail_after = 7
    first = download(12, str(tmp_path / "dl"), base_url=server, mix="balanced", fetcher=fast(retries=1))
    assert first["fetched"] == 7 and first["failed"] == 5
    assert (tmp_path / "dl" / "download_failures.csv").exists()
    assert not list((tmp_path / "dl" / "images").glob("*.part"))  # no half-written cutouts
    fetched_before = {p for p, code in FakeSkyServer.cutout_calls if code == 200}
    FakeSkyServer.fail_after = None
    FakeSkyServer.cutout_calls = []
    second = download(12, str(tmp_path / "dl"), base_url=server, mix="balanced", fetcher=fast())
    assert second == {"fetched": 5, "skipped": 7, "failed": 0}
    assert FakeSkyServer.sql_calls == 3  # the export was reused, not queried again
    assert not fetched_before & {p for p, _ in FakeSkyServer.cutout_calls}
    assert len(list((tmp_path / "dl" / "images").glob("*.jpg"))) == 12


def test_download_asks_for_model_magnitudes_through_astroquery(server, tmp_path):
    """u..z are SkyServer's model magnitudes, as in every table the model trains on; PSF magnitudes and the errors
    come as extra columns, and the import reads u..z."""
    FakeSkyServer.sql_fail_first = True
    counts = download(6, str(tmp_path / "dl"), base_url=server, mix="balanced", fetcher=fast())
    assert counts["fetched"] == 6
    assert FakeSkyServer.sql_calls == 4  # the 503 was retried
    sql = FakeSkyServer.sql_texts[-1]
    assert "p.u, p.g, p.r, p.i, p.z" in sql and "psfMag_u AS" not in sql and "p.err_u" in sql
    with open(tmp_path / "dl" / "export.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"u", "err_u", "psfMag_u", "psfMag_z", "redshift"} <= set(rows[0])
    galaxy = next(r for r in rows if r["class"] == "GALAXY")
    assert (float(galaxy["u"]), float(galaxy["psfMag_u"])) == (18.5, 18.6)
    assert galaxy["objid"].isdigit() and len(galaxy["objid"]) == 19  # exact, not through float64
    import_export(str(tmp_path / "dl" / "export.csv"), str(tmp_path / "dl" / "images"), str(tmp_path / "rec"))
    objs = [o for s in ("train", "eval", "test") for o in records.read_split(tmp_path / "rec", s)]
    assert {round(o.mags["u"], 3) for o in objs if o.label == "GALAXY"} == {18.5}
