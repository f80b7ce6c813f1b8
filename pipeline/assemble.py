"""Settings to pipeline: one RunConfig, one assemble(), shared by every runner.

Runners differ in where the pipeline runs (LocalDagRunner in this process, a
Kubeflow V2 / Vertex spec, Beam on Dataflow, Flink, Spark or a portable job
service); what the pipeline is does not. A runner fills a RunConfig (from
flags, a notebook, a test) and calls assemble() with its own Beam args and
MLMD connection. Defaults that depend on the data (the image-only encoder's
schema, gate and schedule) are settled here, once, for every runner.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import contract as c
from ingest.provenance import is_image_only
from pipeline import configs


@dataclass
class RunConfig:
    data_dir: str = str(configs.DATA_DIR)
    pipeline_root: str = str(configs.PIPELINE_ROOT)
    serving_dir: str = str(configs.SERVING_DIR)
    schema_file: str | None = None  # None: by the data (settle())
    model: str = configs.MODEL_KIND
    inputs: str = configs.INPUTS
    epochs: int | None = None
    seed: int = configs.TRAIN_SEED
    image_encoder: str | None = None
    fine_tune_encoder: bool = False
    serving_model_name: str | None = None
    decode_images_in_transform: bool = configs.DECODE_IMAGES_IN_TRANSFORM
    accuracy_floor: float | None = None
    class_recall_floor: float | None = None
    max_accuracy_drop: float = configs.MAX_ACCURACY_DROP
    max_qso_recall_drop: float = configs.MAX_QSO_RECALL_DROP
    drift: str = configs.DRIFT_MODE
    drift_thresholds: dict[str, float] = field(default_factory=lambda: dict(configs.DRIFT_THRESHOLDS))
    enable_cache: bool = True

    @classmethod
    def from_namespace(cls, ns: Any) -> RunConfig:
        """From an argparse Namespace whose dests match the field names (extra flags are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in vars(ns).items() if k in names})


def settle(cfg: RunConfig) -> RunConfig:
    """Fills what depends on the data: image-only records get the encoder's schema, gate, schedule and name.

    Remote records (gs://) are not opened while the pipeline is assembled, where a compiling machine may have no
    access to them: there `--model image` says the records are image-only."""
    image_only = cfg.model == "image" if "://" in cfg.data_dir else is_image_only(cfg.data_dir)
    if cfg.inputs not in c.INPUTS:
        raise ValueError(f"inputs must be one of {list(c.INPUTS)}, got {cfg.inputs!r}")
    if cfg.schema_file is None:
        cfg.schema_file = str(configs.IMAGE_SCHEMA_FILE if image_only else configs.PHOTOMETRIC_SCHEMA_FILE
                              if cfg.inputs == c.PHOTOMETRIC else configs.SCHEMA_FILE)
    defaults = ((configs.ENCODER_EPOCHS, configs.ENCODER_ACCURACY_FLOOR, configs.ENCODER_CLASS_RECALL_FLOOR,
                 configs.ENCODER_MODEL_NAME) if image_only else
                (configs.EPOCHS, configs.ACCURACY_FLOOR, configs.CLASS_RECALL_FLOOR, configs.MODEL_NAMES[cfg.inputs]))
    for name, value in zip(("epochs", "accuracy_floor", "class_recall_floor", "serving_model_name"), defaults):
        if getattr(cfg, name) is None:
            setattr(cfg, name, value)
    if cfg.image_encoder and "://" not in cfg.image_encoder:
        cfg.image_encoder = resolve_encoder(cfg.image_encoder)
    return cfg


def resolve_encoder(path: str) -> str:
    """A SavedModel folder as given, or the latest numeric version under a serving folder (as TF Serving picks)."""
    from evaluation.predictions import latest_version

    folder = Path(path).resolve()
    if (folder / "saved_model.pb").exists() or (folder / "Format-Serving" / "saved_model.pb").exists():
        return str(folder)
    return str(Path(latest_version(str(folder))).resolve())


def assemble(cfg: RunConfig, *, beam_pipeline_args: list[str], metadata_connection_config: Any | None,
             orchestrator: str = "local", schema_uri: str | None = None, **overrides: Any) -> Any:
    """The TFX Pipeline for these settings.

    `orchestrator` "kubeflow_v2" swaps in what its compiler accepts (pipeline/pipeline.py says what);
    `schema_uri` is where the components read the schema when that is not where it is hashed now (inside
    a container image); `overrides` go to create_pipeline as they are (tests swap the run_fn)."""
    from components.curated_schema import file_sha256
    from pipeline import eval_config
    from pipeline.fingerprint import code_hashes
    from pipeline.pipeline import create_pipeline

    settle(cfg)
    hashes = code_hashes(configs.CODE_FOR)
    schema_file = cfg.schema_file if "://" in cfg.schema_file else os.path.abspath(cfg.schema_file)
    return create_pipeline(
        pipeline_name=configs.PIPELINE_NAME,
        pipeline_root=cfg.pipeline_root,
        data_dir=cfg.data_dir,
        schema_file=schema_uri or schema_file,
        schema_sha256=file_sha256(schema_file),
        code_sha256=hashes,
        serving_dir=cfg.serving_dir,
        model_name=cfg.serving_model_name,
        eval_config=eval_config.build(eval_config.Gate(
            accuracy_floor=cfg.accuracy_floor, class_recall_floor=cfg.class_recall_floor,
            max_accuracy_drop=cfg.max_accuracy_drop, max_qso_recall_drop=cfg.max_qso_recall_drop),
            code_sha256=hashes["evaluate"]),
        inputs=cfg.inputs,
        train_config={"model_kind": cfg.model, "inputs": cfg.inputs, "epochs": cfg.epochs, "patience": configs.PATIENCE,
                      "learning_rate": configs.LEARNING_RATE, "seed": cfg.seed,
                      "encoder_trainable": bool(cfg.fine_tune_encoder)},
        decode_images_in_transform=cfg.decode_images_in_transform,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args,
        enable_cache=cfg.enable_cache,
        image_encoder_uri=cfg.image_encoder,
        drift_thresholds=cfg.drift_thresholds,
        drift_mode=cfg.drift,
        orchestrator=orchestrator,
        **overrides,
    )
