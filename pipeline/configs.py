"""Pipeline constants: names, default locations, training and blessing settings.

Runners override these with flags; nothing else in the pipeline hard-codes them.
"""

from __future__ import annotations

from pathlib import Path

import contract as c
import schema
from trainer.features import HEAD_FOREST

# Where this package's code is: the checkout, or site-packages once installed. Code fingerprints hash it there.
CODE_ROOT = Path(__file__).resolve().parents[1]

PIPELINE_NAME = "sdss-multimodal"
MODEL_NAME = "sky_classifier"  # serving layout: <serving_dir>/<MODEL_NAME>/<version>/
# A photometric model takes other inputs (no redshift), so it is another model to a server, not a new version.
MODEL_NAMES: dict[str, str] = {c.SPECTROSCOPIC: MODEL_NAME, c.PHOTOMETRIC: f"{MODEL_NAME}_photometric"}
ENCODER_MODEL_NAME = "sky_image_encoder"  # an image-only model trained on real cutouts

# A user's data and outputs: relative to the working directory (runners make them absolute when a run starts), never
# to the package, so an installed pipeline reads and writes where it is run, not inside site-packages.
DATA_DIR = Path("data") / "simulated"
OUTPUT_DIR = Path("outputs")
PIPELINE_ROOT = OUTPUT_DIR / "pipeline_root"
METADATA_PATH = OUTPUT_DIR / "metadata.sqlite"
SERVING_DIR = OUTPUT_DIR / "serving"
LOG_FILE = OUTPUT_DIR / "logs" / "run_local.log"
# The curated schemas ship inside the package (schema/__init__.py finds them wherever it is installed).
SCHEMA_FILE = schema.path(schema.MULTIMODAL)
IMAGE_SCHEMA_FILE = schema.path(schema.IMAGE_ONLY)  # image-only records (`python -m ingest cutouts`)
PHOTOMETRIC_SCHEMA_FILE = schema.path(schema.PHOTOMETRIC)  # --inputs photometric: redshift optional
# Code that shapes each component's output (folders mean their *.py); its hash is part of that component's
# cache key (pipeline/fingerprint.py), so an edit re-runs the component instead of reusing a stale output.
_CONTRACT = CODE_ROOT / "contract.py"
CODE_FOR: dict[str, tuple[Path, ...]] = {
    "train": (CODE_ROOT / "trainer", _CONTRACT),  # Transform and Trainer
    # The Evaluator's own metric, and the forest head's ops its workers register before they load a model.
    "evaluate": (CODE_ROOT / "evaluation" / "argmax_metrics.py", CODE_ROOT / "trainer" / "forest_ops.py", _CONTRACT),
    "report": (CODE_ROOT / "evaluation", CODE_ROOT / "components" / "evaluation_report.py",
               CODE_ROOT / "components" / "drift.py", CODE_ROOT / "ingest" / "provenance.py",
               CODE_ROOT / "ingest" / "records.py", CODE_ROOT / "trainer" / "calibration.py",
               CODE_ROOT / "trainer" / "features.py", CODE_ROOT / "trainer" / "forest_ops.py", _CONTRACT),
    "push": (CODE_ROOT / "components" / "atomic_pusher.py",),
    "drift": (CODE_ROOT / "components" / "drift.py", CODE_ROOT / "components" / "drift_baseline.py",
              CODE_ROOT / "components" / "blessings.py", _CONTRACT),
}

# Training.
MODEL_KIND = "fusion"
HEAD = HEAD_FOREST  # trees read the photometry (trainer/forest.py); --head mlp keeps the network's own MLP
INPUTS = c.SPECTROSCOPIC  # or c.PHOTOMETRIC: no redshift, for objects without a spectrum (contract.py)
EPOCHS = 15
PATIENCE = 4
LEARNING_RATE = 1e-3
TRAIN_SEED = 0
DECODE_IMAGES_IN_TRANSFORM = False

# Blessing gate (pipeline/eval_config.py builds the TFMA config from these).
ACCURACY_FLOOR = 0.90
CLASS_RECALL_FLOOR = 0.75
MAX_ACCURACY_DROP = 0.01  # against the latest older blessed model
MAX_QSO_RECALL_DROP = 0.05

# Drift of the train split against the data behind the latest blessed model (components/drift.py):
# L-infinity distance on class shares, Jensen-Shannon divergence on magnitudes and redshift. Measured here
# (BENCHMARKS.md "Drift thresholds"): samples of one population differ by up to 0.06 on a magnitude and
# 0.12 on class shares (300 objects each); 1 mag fainter gives 0.14-0.27, 2 mag 0.42-0.63. Redshift's long
# tail makes its histogram noisier (0.22 between 300-object samples), hence its wider threshold.
DRIFT_THRESHOLDS: dict[str, float] = {c.LABEL: 0.15, **{b: 0.15 for b in c.BANDS}, c.REDSHIFT: 0.30}
DRIFT_MODE = "warn"  # or "halt": stop before Transform when anything drifted

# The image encoder (an image-only model on real cutouts, `make encoder`): images alone cannot reach the
# fusion model's floors (STAR and QSO are both point sources), so it has its own gate and a longer schedule.
ENCODER_EPOCHS = 40
ENCODER_ACCURACY_FLOOR = 0.75
ENCODER_CLASS_RECALL_FLOOR = 0.60
