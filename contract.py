"""The record contract: the one place that names features, classes and the image size, and the names that
the model's clients and the pipeline's layers share (signatures, outputs, artifact files).

The simulator, the importer, the schema test, Transform, the trainer, the
evaluator and the CLIs all import these names, so a rename happens here or nowhere.
"""

from __future__ import annotations

OBJID = "objid"
RA = "ra"
DEC = "dec"
BANDS: tuple[str, ...] = ("u", "g", "r", "i", "z")
REDSHIFT = "redshift"
IMAGE = "image"
LABEL = "class"

# Floats the model reads; ra/dec travel for provenance and cross-matching only.
TABULAR_FEATURES: tuple[str, ...] = (*BANDS, REDSHIFT)
FLOAT_FEATURES: tuple[str, ...] = (RA, DEC, *TABULAR_FEATURES)

# Which measurements a model reads. The spectroscopic redshift comes from the same spectrum that gives the class,
# so a model that reads it can only classify objects whose class is already known; a photometric model reads the
# magnitudes (and the cutout) alone, for the objects that have no spectrum. Its records may lack the redshift.
SPECTROSCOPIC = "spectroscopic"
PHOTOMETRIC = "photometric"
INPUTS: dict[str, tuple[str, ...]] = {SPECTROSCOPIC: TABULAR_FEATURES, PHOTOMETRIC: BANDS}

# Fixed label ids: GALAXY=0, STAR=1, QSO=2, whatever the data's frequencies.
CLASS_NAMES: tuple[str, ...] = ("GALAXY", "STAR", "QSO")

IMAGE_SIZE = 64  # pixels per side, as SkyServer's ImgCutout serves them
IMAGE_CHANNELS = 3
PIXEL_SCALE_ARCSEC = 0.396  # SDSS imaging camera

# Plausible ranges. SDSS writes -9999 or 99 for failed measurements; anything
# outside these bounds is rejected at import and flagged by the curated schema.
MAG_RANGE: tuple[float, float] = (10.0, 30.0)
REDSHIFT_RANGE: tuple[float, float] = (-0.05, 7.5)
RA_RANGE: tuple[float, float] = (0.0, 360.0)
DEC_RANGE: tuple[float, float] = (-90.0, 90.0)

SPLITS: tuple[str, ...] = ("train", "eval", "test")
# The pipeline ingests train and eval; test stays held out for prediction checks and benchmarks.
PIPELINE_SPLITS: tuple[str, ...] = ("train", "eval")
DEFAULT_SPLIT_FRACTIONS: tuple[float, ...] = (0.7, 0.15, 0.15)
RECORD_GLOB = "*.tfrecord.gz"


def feature_range(name: str) -> tuple[float, float]:
    """Plausible range of one float feature."""
    if name in BANDS:
        return MAG_RANGE
    return {REDSHIFT: REDSHIFT_RANGE, RA: RA_RANGE, DEC: DEC_RANGE}[name]


# The pushed SavedModel's signatures and outputs (trainer/signatures.py makes them; TFMA, predict and the
# benchmarks call them).
SERVING_DEFAULT = "serving_default"  # serialized tf.Example in
SERVING_RAW = "serving_raw"  # named raw features in
TRANSFORM_FEATURES = "transform_features"  # the Transform graph, for TFMA
PROBABILITIES = "probabilities"
CLASS_ID = "class_id"
CLASS_NAME = "class_name"
OUTSIDE_TRAINING_RANGE = "outside_training_range"  # one flag per tabular input (INPUTS[inputs] order)
# What a pushed SavedModel reads and how its probabilities were calibrated (JSON, written by the Trainer beside
# the SavedModel, in the folder TF Serving leaves to extras): clients and the catalogue job read it.
MODEL_INFO_FILE = "assets.extra/model_info.json"

# Files and folders inside TFX artifacts that several components read.
HISTORY_FILE = "history.csv"  # the Trainer's per-epoch metrics, in its model_run artifact


def split_dir(split: str) -> str:
    """TFX's folder for one split inside an Examples, ExampleStatistics or ExampleAnomalies artifact."""
    return f"Split-{split}"
