"""The serving directory as the Pusher leaves it (components/atomic_pusher.py): `<base>/<name>/<version>/`, numeric
versions, the newest the one TF Serving loads. Whoever reads pushed models (the pipeline's encoder import,
`sdss-predict`, the catalogue job, the benchmarks) finds them here, downstream of what writes them.
"""

from __future__ import annotations

import os


def latest_version(model_base: str) -> str:
    """The highest numeric version under <serving_dir>/<model_name>/, as TF Serving would pick it."""
    import tensorflow as tf

    versions = [d.rstrip("/") for d in tf.io.gfile.glob(os.path.join(model_base, "*"))
                if os.path.basename(d.rstrip("/")).isdigit()]
    if not versions:
        raise FileNotFoundError(f"no pushed model versions under {model_base}; run the pipeline first")
    return max(versions, key=lambda d: int(os.path.basename(d)))
