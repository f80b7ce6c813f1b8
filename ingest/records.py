"""tf.Example encoding, the deterministic split, and sharded gzip TFRecord writing.

The split is a hash of the object key, not a random draw, so re-importing the
same objects (in any order, with any extra rows) puts each one in the same split.
With `--split-by field` the hash is of the object's SDSS field instead, so objects that
share seeing, sky and neighbours never sit on both sides of a train/test line.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

import contract as c


@dataclass(frozen=True)
class SkyObject:
    """One object as the pipeline sees it: photometry, redshift, JPEG cutout, label."""

    objid: str
    ra: float
    dec: float
    mags: Mapping[str, float]
    redshift: float
    image_jpeg: bytes
    label: str


def to_example(obj: SkyObject) -> tf.train.Example:
    """An image-only object (no magnitudes: a labelled cutout) carries objid, image and class alone; one without a
    spectrum (redshift NaN) carries no redshift."""
    floats = {c.RA: obj.ra, c.DEC: obj.dec, c.REDSHIFT: obj.redshift, **obj.mags}
    names = [n for n in c.FLOAT_FEATURES if not (n == c.REDSHIFT and math.isnan(obj.redshift))] if obj.mags else ()
    feature = {name: tf.train.Feature(float_list=tf.train.FloatList(value=[floats[name]])) for name in names}
    feature[c.OBJID] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[obj.objid.encode()]))
    feature[c.IMAGE] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[obj.image_jpeg]))
    feature[c.LABEL] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[obj.label.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def from_example(serialized: bytes) -> SkyObject:
    ex = tf.train.Example.FromString(serialized)
    f = ex.features.feature

    def flt(name: str) -> float:
        return f[name].float_list.value[0] if name in f else float("nan")

    return SkyObject(
        objid=f[c.OBJID].bytes_list.value[0].decode(),
        ra=flt(c.RA),
        dec=flt(c.DEC),
        mags={b: flt(b) for b in c.BANDS if b in f},
        redshift=flt(c.REDSHIFT),
        image_jpeg=f[c.IMAGE].bytes_list.value[0],
        label=f[c.LABEL].bytes_list.value[0].decode() if c.LABEL in f else "",  # a catalogue's: unlabelled
    )


def image_only(objid: str, image_jpeg: bytes, label: str) -> SkyObject:
    """A labelled cutout without photometry, for training the image encoder."""
    nan = float("nan")
    return SkyObject(objid, nan, nan, {}, nan, image_jpeg, label)


def split_of(key: str, fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS) -> str:
    """Split name for an object key: a stable hash bucket, independent of row order."""
    if len(fractions) != len(c.SPLITS) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be {len(c.SPLITS)} numbers summing to 1, got {fractions}")
    digest = hashlib.sha256(key.encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, frac in zip(c.SPLITS, fractions):
        edge += frac
        if u < edge:
            return name
    return c.SPLITS[-1]


class SplitWriter:
    """Writes objects to `<out>/<split>/part-NNNNN.tfrecord.gz`, rolling shards by size."""

    def __init__(self, out_dir: str | os.PathLike, fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS,
                 shard_size: int = 20_000) -> None:
        self.out_dir = Path(out_dir)
        self.fractions = tuple(fractions)
        self.shard_size = shard_size
        self._writers: dict[str, tf.io.TFRecordWriter] = {}
        self._in_shard: dict[str, int] = {}
        self._shard_no: dict[str, int] = {}
        self.counts: dict[str, int] = {s: 0 for s in c.SPLITS}

    def write(self, obj: SkyObject, split: str | None = None) -> str:
        """Writes to `split`, or to the split the object's key hashes to (the default, stable across runs)."""
        split = split or split_of(obj.objid, self.fractions)
        if self._in_shard.get(split, 0) >= self.shard_size:
            self._writers.pop(split).close()
            self._in_shard[split] = 0
        if split not in self._writers:
            n = self._shard_no.get(split, 0)
            self._shard_no[split] = n + 1
            path = self.out_dir / split / f"part-{n:05d}.tfrecord.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writers[split] = tf.io.TFRecordWriter(str(path), options="GZIP")
        # deterministic=True orders the feature map, so the same objects give the same bytes in every process.
        self._writers[split].write(to_example(obj).SerializeToString(deterministic=True))
        self._in_shard[split] = self._in_shard.get(split, 0) + 1
        self.counts[split] += 1
        return split

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def __enter__(self) -> SplitWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_split(data_dir: str | os.PathLike, split: str) -> Iterator[SkyObject]:
    files = sorted(Path(data_dir, split).glob(c.RECORD_GLOB))
    for path in files:
        for rec in tf.data.TFRecordDataset(str(path), compression_type="GZIP").as_numpy_iterator():
            yield from_example(rec)


def write_all(objs: Sequence[SkyObject], out_dir: str | os.PathLike,
              fractions: Sequence[float] = c.DEFAULT_SPLIT_FRACTIONS,
              groups: Sequence[str] | None = None) -> dict[str, int]:
    """`groups`, one per object, hashes a whole group (an SDSS field) into one split instead of each object."""
    if groups is not None and len(groups) != len(objs):
        raise ValueError(f"{len(groups)} split groups for {len(objs)} objects")
    with SplitWriter(out_dir, fractions) as w:
        for k, obj in enumerate(objs):
            w.write(obj, split_of(groups[k], fractions) if groups is not None else None)
    return w.counts
