"""One self-contained HTML report per evaluation: tables, plots and the cutouts the model got wrong.

Plots are PNGs embedded as data URIs so the file can be mailed or archived on
its own; nothing is fetched when it is opened.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import os
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

import contract as c
from evaluation import model_info, text
from evaluation.predictions import Predictions
from evaluation.results import Evaluation
from trainer import calibration
from trainer.features import BINS, NO_REDSHIFT_BIN, R_BIN, REDSHIFT_BIN, bin_labels

MAX_CUTOUTS = 36


@dataclass
class ReportInputs:
    evaluation: Evaluation
    model_uri: str
    provenance: str
    history_csv: str | None = None
    predictions: Predictions | None = None
    ece: float | None = None
    drift_headline: str | None = None  # components/drift.py: this run's data against the blessed model's
    drift_rows: list[list[str]] | None = None
    model_info: dict | None = None  # evaluation/model_info.py: inputs and calibration as the Trainer recorded them


def _subplots(figsize: tuple[float, float], *grid: int, **kw: object) -> tuple[Figure, object]:
    """pyplot.subplots without pyplot: no global figure state and no GUI backend to choose, inside a component."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kw)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def confusion_png(matrix: np.ndarray) -> str:
    fig, ax = _subplots((4.2, 3.6))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(c.CLASS_NAMES)), c.CLASS_NAMES)
    ax.set_yticks(range(len(c.CLASS_NAMES)), c.CLASS_NAMES)
    ax.set_xlabel("predicted (argmax)")
    ax.set_ylabel("actual")
    top = matrix.max() or 1
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, f"{int(v)}", ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title("confusion matrix, eval split")
    return _png(fig)


def per_class_png(ev: Evaluation) -> str:
    fig, ax = _subplots((5.5, 3.2))
    width = 0.25
    for k, metric in enumerate(("precision", "recall", "f1")):
        values = [ev.candidate.per_class.get(n, {}).get(metric, 0.0) for n in c.CLASS_NAMES]
        ax.bar(np.arange(len(c.CLASS_NAMES)) + (k - 1) * width, values, width, label=metric)
    ax.set_xticks(range(len(c.CLASS_NAMES)), c.CLASS_NAMES)
    lowest = min([v.get(k, 1.0) for v in ev.candidate.per_class.values() for k in ("precision", "recall", "f1")]
                 + [0.9])
    ax.set_ylim(max(0.0, lowest - 0.05), 1.0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    ax.set_title("per-class metrics (argmax)")
    return _png(fig)


def reliability_png(probs: np.ndarray, actual: list[int]) -> str:
    """Per class, one against the rest: mean predicted probability against the observed share, per bin."""
    fig, axes = _subplots((3.0 * len(c.CLASS_NAMES), 3.1), 1, len(c.CLASS_NAMES), squeeze=False)
    for k, (ax, name) in enumerate(zip(axes[0], c.CLASS_NAMES)):
        rows = calibration.reliability(probs, actual, k)
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-")
        for mean, share, n in rows:
            ax.annotate(str(n), (mean, share), fontsize=6, xytext=(2, -8), textcoords="offset points")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"predicted P({name})")
        ax.set_title(f"{name}: ECE {calibration.class_ece(probs, actual, k):.3f}", fontsize=9)
    axes[0][0].set_ylabel("observed share of the class")
    fig.suptitle("reliability, eval split (numbers: objects per bin)", fontsize=9)
    return _png(fig)


def calibration_rows(probs: np.ndarray, actual: list[int]) -> list[list[str]]:
    """Per class and threshold: objects at or above it, their share, precision (purity) and completeness."""
    rows = []
    for k, name in enumerate(c.CLASS_NAMES):
        for r in calibration.threshold_rows(probs, actual, k):
            rows.append([name, f"P >= {r['threshold']:g}", str(r["n"]), f"{r['share']:.3f}",
                         text.fmt(r["precision"], 4), text.fmt(r["completeness"], 4)])
    return rows


CALIBRATION_HEADER = ["class", "threshold", "n", "share of all", "precision", "completeness"]


def read_history(path: str) -> dict[str, list[float]]:
    import tensorflow as tf

    with tf.io.gfile.GFile(path) as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read(), newline="")))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})}


def curves_png(history: dict[str, list[float]]) -> str:
    fig, axes = _subplots((8, 3), 1, 2)
    # A network's history is per epoch; a forest head's (trainer/forest.py) per number of trees.
    x, x_label = ((history["trees"], "trees") if "trees" in history else (np.array(history["epoch"]) + 1, "epoch"))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            if key in history:
                ax.plot(x, history[key], style, marker="" if len(x) > 40 else "o", label=key)
        ax.set_xlabel(x_label)
        ax.set_title(metric)
        ax.legend()
    return _png(fig)


def misclassified_png(pred: Predictions) -> tuple[str | None, int]:
    wrong = [i for i, (a, p) in enumerate(zip(pred.actual, pred.predicted)) if a != p]
    if not wrong:
        return None, 0
    shown = wrong[:MAX_CUTOUTS]
    cols = min(6, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = _subplots((1.7 * cols, 1.95 * rows), rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown):
        ax.imshow(Image.open(io.BytesIO(pred.objects[i].image_jpeg)))
        p = pred.probabilities[i].max()
        ax.set_title(f"{pred.actual[i]} → {pred.predicted[i]}\np={p:.2f}", fontsize=8)
    return _png(fig), len(wrong)


def _exists(path: str) -> bool:
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(inputs: ReportInputs) -> str:
    ev = inputs.evaluation
    status = "blessed" if ev.blessed else "not blessed" if ev.blessed is False else "no blessing"
    parts = [
        "<h1>SDSS sky-object classifier: evaluation</h1>",
        f"<p class='note'>{html.escape(inputs.provenance)}</p>",
        f"<p class='verdict {status.replace(' ', '-')}'>{html.escape(status.upper())}</p>",
        f"<p><b>{html.escape(model_info.describe(inputs.model_info))}</b><br>"
        f"{html.escape(model_info.describe_head(inputs.model_info))}</p>",
    ]
    if ev.failures:
        parts.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in ev.failures) + "</ul>")
    if inputs.drift_headline:
        parts += ["<h2>Data drift (train split)</h2>", f"<p>{html.escape(inputs.drift_headline)}</p>"]
        if inputs.drift_rows:
            parts.append(_table(["feature", "measure", "value", "threshold", "drifted"], inputs.drift_rows))
    parts += ["<h2>Per class (candidate, eval split, argmax decisions)</h2>",
              _table(["class", *text.COLUMNS], text.per_class_rows(ev.candidate)),
              f"<p>{html.escape(text.overall_line(ev.candidate))}</p>"]
    comparison = text.comparison_rows(ev)
    parts.append("<h2>Candidate vs baseline</h2>")
    parts.append(_table(["metric", "candidate", "baseline", "diff"], comparison) if comparison
                 else "<p>No baseline: no older blessed model.</p>")
    for feature, title in ((R_BIN, "By r magnitude"), (REDSHIFT_BIN, "By redshift")):
        key, edges = BINS[feature]
        rows = text.binned_rows(ev.candidate, feature, [*bin_labels(key, edges), NO_REDSHIFT_BIN])
        if rows:
            parts += [f"<h2>{title} (eval split; recall per class in each bin)</h2>", _table(text.BINNED_HEADER, rows)]
    if ev.candidate.confusion is not None:
        parts += ["<h2>Confusion matrix</h2>",
                  _table(["", *(f"pred {n}" for n in c.CLASS_NAMES)], text.confusion_rows(ev.candidate)),
                  f"<img alt='confusion matrix' src='{confusion_png(ev.candidate.confusion)}'>"]
    parts.append(f"<img alt='per-class metrics' src='{per_class_png(ev)}'>")
    pred = inputs.predictions
    if pred is not None and len(pred.objects):
        actual = [c.CLASS_NAMES.index(a) for a in pred.actual]
        parts += ["<h2>Calibration (eval split, the served probabilities)</h2>",
                  f"<p>{html.escape(model_info.describe_calibration(inputs.model_info))}. Expected calibration "
                  f"error (top label, {calibration.ECE_BINS} bins): {inputs.ece:.4f}.</p>",
                  f"<img alt='reliability diagrams' src='{reliability_png(pred.probabilities, actual)}'>",
                  "<p>A catalogue keeps objects whose probability clears a threshold: how many do, and how many of "
                  "those are right.</p>",
                  _table(CALIBRATION_HEADER, calibration_rows(pred.probabilities, actual))]
    if inputs.history_csv and _exists(inputs.history_csv):
        parts += ["<h2>Training curves</h2>",
                  f"<img alt='training curves' src='{curves_png(read_history(inputs.history_csv))}'>"]
    if inputs.predictions is not None:
        sheet, n_wrong = misclassified_png(inputs.predictions)
        n = len(inputs.predictions.objects)
        parts.append(f"<h2>Misclassified cutouts ({n_wrong} of {n}, first {min(n_wrong, MAX_CUTOUTS)} shown)</h2>")
        parts.append(f"<img alt='misclassified cutouts' src='{sheet}'>" if sheet else "<p>None.</p>")
    parts.append(f"<p class='small'>model: {html.escape(inputs.model_uri)}<br>evaluation: {html.escape(ev.uri)}</p>")
    style = ("body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}.note{background:#fff4d6;padding:6px}"
             ".verdict{font-size:1.4em;font-weight:bold}.blessed{color:#176d2b}.not-blessed{color:#b00020}"
             ".small{font-size:.8em;color:#555}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>SDSS evaluation</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write(inputs: ReportInputs, path: str) -> str:
    """Through tf.io.gfile: the report artifact may live on gs://."""
    import tensorflow as tf

    tf.io.gfile.makedirs(os.path.dirname(path) or ".")
    with tf.io.gfile.GFile(path, "w") as fh:
        fh.write(render(inputs))
    return path


def from_artifacts(evaluation_uri: str, model_dir: str, history_csv: str, examples_pattern: str,
                   provenance: str) -> ReportInputs:
    """Everything the report shows, read from one evaluation and the model and examples it evaluated."""
    from evaluation import predictions, results

    pred = predictions.predict_records(model_dir, examples_pattern)
    ece = calibration.expected_calibration_error(pred.probabilities, [c.CLASS_NAMES.index(a) for a in pred.actual])
    return ReportInputs(evaluation=results.load(evaluation_uri), model_uri=model_dir, provenance=provenance,
                        history_csv=history_csv, predictions=pred, ece=ece, model_info=model_info.load(model_dir))
