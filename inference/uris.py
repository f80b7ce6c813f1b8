"""Paths and URIs for the catalogue job: Spark reads its input (a CSV's cutouts too) and writes --out through
Hadoop's filesystems (file://, hdfs://, gs://, s3a://, with each cloud's connector on the cluster), while astropy's
tables and their cutouts are read by Python, and the Beam driver's output written, at a local or mounted path."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

HADOOP_SCHEMES = ("file", "hdfs", "gs", "s3a", "abfs", "abfss", "wasbs", "viewfs")


def remote(path: str) -> bool:
    """A URI of a filesystem that only Hadoop (Spark) reaches from here: not a plain path, not file://."""
    scheme = urlparse(path).scheme
    return scheme in HADOOP_SCHEMES and scheme != "file"


def to_uri(path: str) -> str:
    """A Hadoop URI for Spark: a plain path becomes file:// (absolute; a glob's characters kept), a URI stays."""
    if urlparse(path).scheme in HADOOP_SCHEMES:
        return path
    return "file://" + str(Path(path).absolute())


def local_path(path: str | None, flag: str) -> str | None:
    """A path this machine (and every worker, at the same place) reads: plain, or file:// made plain; another
    scheme is refused with the flag that gave it."""
    if path is None:
        return None
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if remote(path):
        raise ValueError(f"{flag} {path}: must be a local path or a file:// URI; only --engine spark's input "
                         f"(--csv and its --images, --records, --parquet) and --out may be on {parsed.scheme}://")
    return path
