"""Checks on the records before a run starts, so that bad data fails in seconds with the file named.

Inside the pipeline the same faults surface late and unreadably: a truncated
shard as a DataLossError deep in a Beam worker, an empty eval split as a TFMA
division error, a class missing from eval as a blessing gate that cannot be
checked (its per-class slice simply does not exist). Reading every record once
is a small share of a run (BENCHMARKS.md, "Cost": the preflight phase), and every
shard is read through `tf.io.gfile`, so a `gs://` data dir is checked the same way.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import contract as c

BATCH = 1024


class DataError(ValueError):
    pass


def split_files(data_dir: str, split: str) -> list[str]:
    """The split's shards; a local folder is listed without TensorFlow, so a missing one fails before it loads."""
    if "://" not in data_dir:
        return sorted(str(p) for p in Path(data_dir, split).glob(c.RECORD_GLOB))
    import tensorflow as tf

    return sorted(tf.io.gfile.glob(os.path.join(data_dir, split, c.RECORD_GLOB)))


def require_files(data_dir: str, splits: tuple[str, ...] = c.PIPELINE_SPLITS) -> dict[str, list[str]]:
    """Each split's shards; DataError naming the first split without any, and how to make records."""
    out = {}
    for split in splits:
        out[split] = split_files(data_dir, split)
        if not out[split]:
            raise DataError(f"{os.path.join(data_dir, split)}/ has no {c.RECORD_GLOB} files: every run needs "
                            f"records in {', '.join(splits)}; build them with `make data` or `python -m ingest "
                            f"simulate --out {data_dir}`")
    return out


def class_counts(path: str) -> collections.Counter:
    """Labels in one gzip TFRecord shard; DataError naming the shard and the last good record if it is damaged."""
    import tensorflow as tf

    counts: collections.Counter = collections.Counter()
    ds = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(BATCH)
    spec = {c.LABEL: tf.io.FixedLenFeature([], tf.string, default_value="")}
    read = 0
    try:
        for batch in ds:
            labels = tf.io.parse_example(batch, spec)[c.LABEL].numpy()
            counts.update(label.decode() for label in labels)
            read += len(labels)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: truncated or corrupt after about {read} good records ({first_line}); "
                        "re-create the records (python -m ingest import|simulate ... --overwrite)") from None
    return counts


def check(data_dir: str, splits: tuple[str, ...] = c.PIPELINE_SPLITS,
          every_class_in: tuple[str, ...] = ("eval",)) -> dict[str, collections.Counter]:
    """Per-split class counts; DataError for a damaged shard, an empty split, or a class the gate needs but lacks."""
    out: dict[str, collections.Counter] = {}
    for split, files in require_files(data_dir, splits).items():
        counts: collections.Counter = collections.Counter()
        for path in files:
            counts += class_counts(path)
        if not counts:
            raise DataError(f"split '{split}' in {data_dir} has no records (its {len(files)} file(s) are empty); "
                            "import more objects or change --splits")
        out[split] = counts
    for split in every_class_in:
        missing = [name for name in c.CLASS_NAMES if not out.get(split, {}).get(name)]
        if missing:
            raise DataError(f"split '{split}' in {data_dir} has no {' or '.join(missing)} objects "
                            f"({dict(out[split])}): the blessing gate checks every class's recall there, so it "
                            "could not be trusted; import more objects of that class or give eval a larger share "
                            "(--splits)")
    return out


def describe(counts: dict[str, collections.Counter]) -> str:
    return "; ".join(f"{split} {sum(n.values())} (" + ", ".join(f"{k} {n[k]}" for k in c.CLASS_NAMES if k in n) + ")"
                     for split, n in counts.items())
