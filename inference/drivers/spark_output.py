"""The Spark driver's output through Hadoop's FileSystem, so --out may be any URI the cluster reaches (file://,
hdfs://, gs://, s3a://, viewfs://) as well as a plain path, with the same layout and guarantees as a local output:

- Staged: everything is written into a hidden sibling (`.<name>.partial-<pid>`, or `-<host>-<pid>` off the local
  filesystem) and renamed into place once complete, so a failed or killed driver leaves nothing at --out; the next
  run removes a leftover of a dead writer on this machine. On HDFS a rename is atomic. On object stores (gs://,
  s3a://) Hadoop renames a folder object by object, so a reader there should wait for summary.json, which the job
  writes only once everything else is complete.
- Objects listed twice are found among the written rows (their objid, position and source come to the driver,
  about 100 bytes an object); where there are any, Spark rewrites the Parquet files with `same_object_as` filled.
  Counts are read back from what was written.
- A FITS output is built on the driver from the written Parquet files (a local copy where --out is remote) and
  copied up.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from inference import job
from ingest.staging import PARTIAL, OutputExists, pid_alive

REJECTS_PART_DIR = "_rejects"  # Spark writes the rejects here; the driver moves its one CSV to rejects.csv


class Files:
    """The Hadoop filesystem of one URI, reached through the driver's JVM (py4j), with the session's Hadoop
    settings (connectors and credentials given with --spark-conf spark.hadoop.*)."""

    def __init__(self, spark: Any, uri: str) -> None:
        sc = spark.sparkContext
        self._jvm, self._conf = sc._jvm, sc._jsc.hadoopConfiguration()
        self.local = urlparse(uri).scheme == "file"
        self.fs = self.path(uri).getFileSystem(self._conf)

    def path(self, uri: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self.path(uri)))

    def is_dir(self, uri: str) -> bool:
        return bool(self.fs.getFileStatus(self.path(uri)).isDirectory())

    def names(self, uri: str, pattern: str = "*") -> list[str]:
        """The names in folder `uri` matching a glob pattern, sorted."""
        found = self.fs.globStatus(self.path(f"{uri.rstrip('/')}/{pattern}")) or []
        return sorted(s.getPath().getName() for s in found)

    def size(self, uri: str) -> int:
        return int(self.fs.getFileStatus(self.path(uri)).getLen())

    def mkdirs(self, uri: str) -> None:
        if not self.fs.mkdirs(self.path(uri)):
            raise OSError(f"{uri}: cannot create the folder")

    def delete(self, uri: str) -> None:
        self.fs.delete(self.path(uri), True)

    def rename(self, src: str, dst: str) -> None:
        """Hadoop moves src into dst where dst is a folder: callers make sure it is not there."""
        if not self.fs.rename(self.path(src), self.path(dst)):
            raise OSError(f"cannot rename {src} to {dst}")

    def write_bytes(self, uri: str, data: bytes) -> None:
        stream = self.fs.create(self.path(uri), True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def upload(self, local: Path, uri: str) -> None:
        self.fs.copyFromLocalFile(False, True, self.path(str(local.absolute().as_uri())), self.path(uri))

    def download(self, uri: str, local: Path) -> None:
        self.fs.copyToLocalFile(False, self.path(uri), self.path(str(local.absolute().as_uri())), True)

    def drop_checksums(self, uri: str) -> None:
        """Hadoop's checksummed filesystem (the local one, under file:// or a viewfs:// mount) leaves a hidden .crc
        beside each file it writes and hides them from its own listings; the output holds only what the job wrote, as
        the Beam driver's does. Other filesystems (HDFS, the object stores) write none."""
        real = self.fs.resolvePath(self.path(uri))  # a viewfs:// path: the file:// one it mounts
        fs = real.getFileSystem(self._conf)
        if not self._jvm.java.lang.Class.forName("org.apache.hadoop.fs.ChecksumFileSystem").isInstance(fs):
            return
        raw = fs.getRawFileSystem()
        it = raw.listFiles(real, True)
        crcs = []
        while it.hasNext():
            p = it.next().getPath()
            if p.getName().startswith(".") and p.getName().endswith(".crc"):
                crcs.append(p)
        for p in crcs:
            raw.delete(p, False)


def _child(uri: str, name: str) -> str:
    return f"{uri.rstrip('/')}/{name}"


def _parent_and_name(files: Files, uri: str) -> tuple[str, str]:
    p = files.path(uri)
    return p.getParent().toString(), p.getName()


def _tag(files: Files) -> str:
    """This writer in a staged folder's name: its pid on the local filesystem (as ingest/staging.py names it), its
    host and pid elsewhere, where another machine's driver may write beside it."""
    return str(os.getpid()) if files.local else f"{socket.gethostname()}-{os.getpid()}"


def _dead_here(tag: str, local: bool) -> bool:
    """A leftover this machine can tell is dead: its pid (on this host) no longer runs."""
    if local:
        return not tag.isdigit() or not pid_alive(int(tag))
    host, _, pid = tag.rpartition("-")
    return host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


def check_target(files: Files, out: str, overwrite: bool) -> None:
    if files.exists(out) and not files.is_dir(out):
        raise OutputExists(f"--out {out} is a file, not a folder")
    if files.exists(out) and files.names(out) and not overwrite:
        raise OutputExists(f"--out {out} is not empty: pass --overwrite to replace it whole, or choose a new folder "
                           "(old and new records are never mixed)")


@contextlib.contextmanager
def staged(files: Files, out: str, overwrite: bool = False) -> Iterator[str]:
    """Yields the URI of an empty folder to write into; on a clean exit it becomes `out`, on an exception it is
    removed."""
    check_target(files, out, overwrite)
    parent, name = _parent_and_name(files, out)
    files.mkdirs(parent)
    for leftover in files.names(parent, f".{name}{PARTIAL}*"):
        if _dead_here(leftover.rsplit(PARTIAL, 1)[-1], files.local):
            files.delete(_child(parent, leftover))
    tmp = _child(parent, f".{name}{PARTIAL}{_tag(files)}")
    files.delete(tmp)
    files.mkdirs(tmp)
    try:
        yield tmp
    except BaseException:
        files.delete(tmp)
        raise
    old = _child(parent, f".{name}.replaced-{_tag(files)}")
    if files.exists(out):
        files.rename(out, old)  # empty, or --overwrite: out is never a folder when tmp moves in
    files.rename(tmp, out)
    files.delete(old)


def _same_object_flags(rows: Any) -> tuple[Any, dict[str, int]]:
    """Objects listed twice among the classified rows: a small DataFrame of the flagged rows' keys and
    `same_object_as`, or None where there are none, and the summary's counts."""
    import numpy as np

    from inference import duplicates

    keys = ["source", "objid", "ra", "dec"]  # with the position: a source may repeat (two shards of one name)
    table = rows.select(*keys).toPandas()
    values, counts = duplicates.same_object(duplicates.objid_hash(table["objid"]), table["ra"].to_numpy(np.float64),
                                            table["dec"].to_numpy(np.float64),
                                            lambda r: {int(i): table["source"].iat[int(i)] for i in r})
    if not values:
        return None, counts
    flagged = {(str(table["source"].iat[i]), str(table["objid"].iat[i]), float(table["ra"].iat[i]),
                float(table["dec"].iat[i])): v for i, v in values.items()}  # a repeated key: the same value
    frame = rows.sparkSession.createDataFrame([(*k, v) for k, v in flagged.items()],
                                              "source STRING, objid STRING, ra DOUBLE, dec DOUBLE, _same STRING")
    return frame, counts


def flag_same_objects(spark: Any, files: Files, out: str, ddl: str) -> dict[str, int]:
    """Fills `same_object_as` in the Parquet files under out/classified (rewritten only where a row is flagged);
    returns the counts for the summary."""
    from pyspark.sql import functions as F

    folder = _child(out, job.PARQUET_DIR)
    rows = spark.read.schema(ddl).parquet(folder)
    flags, counts = _same_object_flags(rows)
    if flags is None:
        return counts
    joined = rows.drop(job.SAME_OBJECT).join(F.broadcast(flags), ["source", "objid", "ra", "dec"], "left")
    flagged = joined.withColumn(job.SAME_OBJECT, F.coalesce(F.col("_same"), F.lit(""))).select(*rows.columns)
    rewritten = _child(out, "_flagged")
    flagged.write.parquet(rewritten)
    files.delete(folder)
    files.rename(rewritten, folder)
    return counts


def move_rejects(files: Files, out: str) -> None:
    """Spark's one CSV part file becomes rejects.csv (a job without rejects still writes its header)."""
    folder = _child(out, REJECTS_PART_DIR)
    parts = files.names(folder, "part-*.csv")
    if len(parts) > 1:
        raise job.CountMismatch(f"{len(parts)} rejects files where Spark was asked for one")
    target = _child(out, job.REJECTS_FILE)
    if parts and files.size(_child(folder, parts[0])):
        files.rename(_child(folder, parts[0]), target)
    else:
        files.write_bytes(target, (",".join(job.REJECT_HEADER) + "\n").encode())
    files.delete(folder)


def count_written(spark: Any, out: str, ddl: str) -> dict[str, Any]:
    """Written and rejected, read back from the files themselves, and the rejects by reason."""
    written = spark.read.schema(ddl).parquet(_child(out, job.PARQUET_DIR)).count()
    rejects = (spark.read.option("header", True).option("escape", '"').option("multiLine", True)
               .schema("source STRING, reason STRING, detail STRING").csv(_child(out, job.REJECTS_FILE)))
    by_reason = {r["reason"]: int(r["count"]) for r in rejects.groupBy("reason").count().collect()}
    return {"written": int(written), "rejected": sum(by_reason.values()), "by_reason": by_reason}


def write_fits(files: Files, out: str, summary: dict[str, Any]) -> None:
    """classified.fits beside the Parquet files, built on the driver from a local copy of them."""
    from inference import fits_output

    if files.local:
        fits_output.write(urlparse(out).path, job.PARQUET_DIR, summary)
        return
    with tempfile.TemporaryDirectory(prefix="sdss-fits-") as local:
        files.download(_child(out, job.PARQUET_DIR), Path(local, job.PARQUET_DIR))
        files.upload(fits_output.write(local, job.PARQUET_DIR, summary), _child(out, fits_output.FITS_FILE))
