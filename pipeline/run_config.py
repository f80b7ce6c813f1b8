"""The run's settings: one RunConfig, its flags, and settle(), shared by every runner.

A runner fills a RunConfig (from flags, a notebook, a test); the run flags are made from RunConfig's fields
(add_run_arguments), so every runner has the same ones. Defaults that depend on the data (the image-only encoder's
schema, gate and schedule) are settled here, once, for every runner. pipeline/assemble.py turns settled settings
into the pipeline, and pipeline/pipeline.py reads them; neither is imported here.
"""


from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import contract as c
from ingest.provenance import is_image_only
from pipeline import configs
from trainer.features import HEAD_FOREST, HEAD_MLP, HEADS, MODEL_KINDS

DRIFT_MODES = ("warn", "halt")


def _flag(default: Any, help: str, **argparse_kw: Any) -> Any:
    """A RunConfig field that is also a run flag (`--data-dir` for data_dir): one default, one help, every runner."""
    return field(default=default, metadata={"help": help, **argparse_kw})


@dataclass
class RunConfig:
    data_dir: str = _flag(str(configs.DATA_DIR), "records: <dir>/{train,eval}/*.tfrecord.gz (or gs://...)")
    pipeline_root: str = _flag(str(configs.PIPELINE_ROOT), "where components write their outputs (or gs://...)")
    serving_dir: str = _flag(str(configs.SERVING_DIR), "where blessed models are pushed: <dir>/<name>/<version>/")
    schema_file: str | None = _flag(  # None: by the data and inputs (settle())
        None, "curated schema (pbtxt); default schema/schema.pbtxt, schema/photometric_schema.pbtxt with --inputs "
              "photometric, schema/image_schema.pbtxt for image-only records from `python -m ingest cutouts`")
    model: str = _flag(configs.MODEL_KIND, "which network: both modalities, or one", choices=MODEL_KINDS)
    inputs: str = _flag(
        configs.INPUTS, "spectroscopic: magnitudes + spectroscopic redshift + cutout (only objects that already have "
                        "a spectrum, hence a class); photometric: magnitudes + cutout, no redshift, for objects "
                        "without a spectrum (records may lack the redshift)", choices=tuple(c.INPUTS))
    epochs: int | None = _flag(
        None, f"default {configs.EPOCHS}; {configs.ENCODER_EPOCHS} for image-only records (the encoder)", type=int)
    seed: int = _flag(configs.TRAIN_SEED, "training seed", type=int)
    image_encoder: str | None = _flag(
        None, "start the image branch from this image model: a SavedModel, or a serving folder whose latest version "
              f"is taken (`make encoder` pushes to outputs/real/serving/{configs.ENCODER_MODEL_NAME}), or a gs:// "
              "URI of a pushed version; frozen unless --fine-tune-encoder", metavar="SAVED_MODEL")
    fine_tune_encoder: bool = _flag(False, "train the imported encoder's weights too")
    head: str | None = _flag(  # None: by the model (settle())
        None, "what reads the photometry: gradient-boosted trees over the photometry, the cutout's morphology and the "
              "cross-fitted image path's log-probabilities (forest, the default), or the network end to end (mlp, "
              "the only head of an image-only model)", choices=HEADS)
    serving_model_name: str | None = _flag(
        None, f"push to <serving-dir>/<name>/<version>/; default {configs.MODEL_NAME} "
              f"({configs.MODEL_NAMES[c.PHOTOMETRIC]} with --inputs photometric), {configs.ENCODER_MODEL_NAME} "
              "for image-only records")
    decode_images_in_transform: bool = _flag(
        configs.DECODE_IMAGES_IN_TRANSFORM, "materialize float pixels in Transform instead of decoding JPEGs while "
                                            "training")
    accuracy_floor: float | None = _flag(
        None, f"default {configs.ACCURACY_FLOOR}; {configs.ENCODER_ACCURACY_FLOOR} for image-only records", type=float)
    class_recall_floor: float | None = _flag(
        None, "every class's argmax recall must reach this, QSO included; default "
              f"{configs.CLASS_RECALL_FLOOR}, {configs.ENCODER_CLASS_RECALL_FLOOR} for image-only records", type=float)
    max_accuracy_drop: float = _flag(
        configs.MAX_ACCURACY_DROP, "largest allowed accuracy drop against the latest older blessed model", type=float)
    max_qso_recall_drop: float = _flag(
        configs.MAX_QSO_RECALL_DROP, "largest allowed QSO recall drop against that baseline", type=float)
    drift: str = _flag(configs.DRIFT_MODE, "when the data drifted from the data behind the latest blessed model: name "
                                           "it in the summary and report (warn), or stop before Transform (halt)",
                       choices=DRIFT_MODES)
    drift_thresholds: dict[str, float] = field(default_factory=lambda: dict(configs.DRIFT_THRESHOLDS))  # no flag
    enable_cache: bool = _flag(True, "re-run every component", flag="--no-cache")
    settled: bool = field(default=False, init=False, repr=False)  # settle() has filled the data's defaults

    @classmethod
    def from_namespace(cls, ns: Any) -> RunConfig:
        """From an argparse Namespace whose dests match the field names (extra flags are ignored)."""
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: v for k, v in vars(ns).items() if k in names})


def add_run_arguments(p: argparse.ArgumentParser, required: tuple[str, ...] = ()) -> None:
    """Every RunConfig field with a help text as a flag, with RunConfig's default; `required`: fields a runner
    cannot default (a cluster has no local data folder)."""
    g = p.add_argument_group("the pipeline (pipeline/run_config.py RunConfig)")
    for f in dataclasses.fields(RunConfig):
        if "help" not in f.metadata:
            continue
        kw = {k: v for k, v in f.metadata.items() if k != "flag"}
        flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
        if isinstance(f.default, bool):
            kw["action"] = "store_false" if f.default else "store_true"
        if f.name in required:
            g.add_argument(flag, dest=f.name, required=True, **kw)
        else:
            g.add_argument(flag, dest=f.name, default=f.default, **kw)


class ConfigError(ValueError):
    """Settings that cannot make a run; the message says which flag and why."""


def settle(cfg: RunConfig) -> RunConfig:
    """Checks the settings against each other and the data, and fills what depends on the data: image-only records
    get the encoder's schema, gate, schedule and name. Once per RunConfig: assemble() settles what is not yet.

    Remote records (gs://) are not opened while the pipeline is assembled, where a compiling machine may have no
    access to them: there `--model image` says the records are image-only."""
    if cfg.settled:
        return cfg
    # Relative folders are the working directory's (configs.py): fixed now, so MLMD records where they really are.
    for name in ("data_dir", "pipeline_root", "serving_dir"):
        setattr(cfg, name, local_absolute(getattr(cfg, name)))
    for name, allowed in (("model", MODEL_KINDS), ("inputs", tuple(c.INPUTS)), ("drift", DRIFT_MODES)):
        if getattr(cfg, name) not in allowed:
            raise ConfigError(f"--{name} must be one of {list(allowed)}, got {getattr(cfg, name)!r}")
    image_only = cfg.model == "image" if "://" in cfg.data_dir else is_image_only(cfg.data_dir)
    if image_only and cfg.model != "image":
        raise ConfigError(f"{cfg.data_dir} holds labelled cutouts without photometry; train them with --model image")
    if cfg.head is None:
        cfg.head = HEAD_MLP if cfg.model == "image" else configs.HEAD
    if cfg.head not in HEADS:
        raise ConfigError(f"--head must be one of {list(HEADS)}, got {cfg.head!r}")
    if cfg.head == HEAD_FOREST and cfg.model == "image":
        raise ConfigError("--head forest reads the photometry: an image-only model (the encoder) has the mlp head")
    if cfg.head == HEAD_FOREST and cfg.fine_tune_encoder:
        raise ConfigError("--fine-tune-encoder trains the encoder inside the network end to end: add --head mlp (the "
                          "forest head keeps the encoder frozen under its cross-fitted heads)")
    if cfg.head == HEAD_FOREST and cfg.decode_images_in_transform:
        raise ConfigError("--head forest keys its cross-fitting folds on the JPEG bytes: drop "
                          "--decode-images-in-transform or use --head mlp")
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
        try:
            cfg.image_encoder = resolve_encoder(cfg.image_encoder)
        except FileNotFoundError as e:
            raise ConfigError(f"--image-encoder: {e}") from None
    cfg.settled = True
    return cfg


def local_absolute(path: str) -> str:
    """A local path made absolute against the working directory; a remote URI (gs://...) as it is."""
    return path if "://" in path else os.path.abspath(path)


def resolve_encoder(path: str) -> str:
    """A SavedModel folder as given, or the latest numeric version under a serving folder (as TF Serving picks)."""
    from components.serving_layout import latest_version

    folder = Path(path).resolve()
    if (folder / "saved_model.pb").exists() or (folder / "Format-Serving" / "saved_model.pb").exists():
        return str(folder)
    return str(Path(latest_version(str(folder))).resolve())
