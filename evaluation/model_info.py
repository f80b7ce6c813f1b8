"""What a trained or pushed model reads and how its probabilities were calibrated, as the Trainer recorded it
(c.MODEL_INFO_FILE beside the SavedModel). The run summary, the report, `sdss-inspect`, `sdss-predict` and the
catalogue job all say it the same way, so nobody mistakes a photometric model for one that read the redshift."""

from __future__ import annotations

import json
import os

import contract as c


def load(model_dir: str) -> dict | None:
    """The recorded info, or None for a model saved before the Trainer wrote it."""
    import tensorflow as tf

    path = os.path.join(model_dir, c.MODEL_INFO_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as fh:
        return json.load(fh)


def inputs_of(info: dict | None) -> str:
    """'spectroscopic', 'photometric' or 'image'; a model from before the record read the redshift."""
    if info is None:
        return c.SPECTROSCOPIC
    return info.get("inputs") or "image"


def describe(info: dict | None) -> str:
    """One line: the input set and exactly which raw features the serving signatures take."""
    inputs = inputs_of(info)
    taken = " ".join(info["serving_raw_inputs"]) if info else " ".join((*c.TABULAR_FEATURES, c.IMAGE))
    why = {c.SPECTROSCOPIC: "reads the spectroscopic redshift: for objects that already have a spectrum",
           c.PHOTOMETRIC: "no redshift: for objects without a spectrum",
           "image": "the cutout alone"}[inputs]
    return f"model inputs: {inputs} ({taken}; {why})"


def describe_calibration(info: dict | None) -> str:
    """How the probabilities were calibrated, with the held-out check that decided it."""
    cal = (info or {}).get("calibration")
    if not cal:
        return "calibration: not recorded (model saved before temperature scaling)"
    if cal.get("skipped"):
        return f"calibration: none ({cal['skipped']})"
    held = (f"held-out ECE {cal['held_out_ece_before']:.4f} -> {cal['held_out_ece_after']:.4f}"
            if cal.get("held_out_ece_before") is not None else "no held-out check (eval split too small)")
    if cal["kept"]:
        return f"calibration: temperature {cal['temperature']:.3f} fitted on eval and kept ({held})"
    return (f"calibration: none (temperature {cal['fitted_temperature']:.3f} fitted on eval did not lower the "
            f"ECE: {held})")


def describe_head(info: dict | None) -> str:
    """What reads the photometry: the forest head with its size and how its image inputs were cross-fitted, or the
    MLP (every model saved before the forest head has the MLP and records no head)."""
    head = (info or {}).get("head") or {"head": "mlp"}
    if head["head"] != "forest":
        return "head: MLP (the network end to end)"
    image = head.get("image_path")
    via = (f"; image path: {image['kind']}, cross-fitted over {image['folds']} folds (out-of-fold train accuracy "
           f"{image['train_accuracy_out_of_fold']:.3f}, eval {image['eval_accuracy']:.3f})" if image else "")
    return f"head: gradient-boosted trees, {head['num_trees']} trees over {len(head['columns'])} columns{via}"
