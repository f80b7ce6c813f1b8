"""Plain-text views of an evaluation, for the console (`sdss-inspect`, the run summary)."""

from __future__ import annotations

import math

import contract as c
from evaluation.results import Evaluation, ModelMetrics
from trainer.features import BINS, bin_labels

COLUMNS = ("precision", "recall", "f1", "auc", "support")


def fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def per_class_rows(m: ModelMetrics) -> list[list[str]]:
    rows = []
    for name in c.CLASS_NAMES:
        stats = m.per_class.get(name, {})
        rows.append([name, *(fmt(stats.get(k)) for k in COLUMNS[:-1]), str(int(stats.get("support", 0)))])
    return rows


def overall_line(m: ModelMetrics) -> str:
    return f"accuracy {fmt(m.accuracy)}, macro-F1 {fmt(m.macro_f1)}, n={m.n}"


def comparison_rows(ev: Evaluation) -> list[list[str]]:
    """metric, candidate, baseline, candidate - baseline; empty when there is no baseline."""
    if ev.baseline is None:
        return []
    cand, base = ev.candidate, ev.baseline
    pairs = [("accuracy", cand.accuracy, base.accuracy), ("macro-F1", cand.macro_f1, base.macro_f1)]
    for name in c.CLASS_NAMES:
        for k in ("recall", "precision"):
            pairs.append((f"{name} {k}", cand.per_class.get(name, {}).get(k, math.nan),
                          base.per_class.get(name, {}).get(k, math.nan)))
    return [[label, fmt(a), fmt(b), f"{a - b:+.4f}" if not (math.isnan(a) or math.isnan(b)) else "-"]
            for label, a, b in pairs]


def confusion_rows(m: ModelMetrics) -> list[list[str]]:
    if m.confusion is None:
        return []
    return [[f"actual {name}", *(str(int(v)) for v in m.confusion[i])] for i, name in enumerate(c.CLASS_NAMES)]


def verdict(ev: Evaluation) -> list[str]:
    if ev.blessed is None:
        return ["blessing: none written (no thresholds configured)"]
    if ev.blessed:
        return ["blessing: BLESSED, every threshold passed"]
    return ["blessing: NOT BLESSED; failed thresholds:", *(f"  - {f}" for f in ev.failures)]


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)  # noqa: E731
                               for i, (v, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render(ev: Evaluation) -> str:
    parts = ["per class (candidate, eval split, argmax decisions):",
             table(["class", *COLUMNS], per_class_rows(ev.candidate)), overall_line(ev.candidate)]
    comparison = comparison_rows(ev)
    if comparison:
        parts += ["", "candidate vs baseline:", table(["metric", "candidate", "baseline", "diff"], comparison)]
    else:
        parts += ["", "baseline: none (no older blessed model)"]
    for feature, (key, edges) in BINS.items():
        rows = binned_rows(ev.candidate, feature, bin_labels(key, edges))
        if rows:
            parts += ["", f"by {feature} (recall per class in each bin):", table(BINNED_HEADER, rows)]
    confusion = confusion_rows(ev.candidate)
    if confusion:
        parts += ["", "confusion matrix (rows actual, columns predicted):",
                  table(["", *(f"pred {n}" for n in c.CLASS_NAMES)], confusion)]
    parts += ["", *verdict(ev)]
    return "\n".join(parts)


def binned_rows(m: ModelMetrics, feature: str, labels: list[str]) -> list[list[str]]:
    """One row per bin (in `labels` order, empty bins left out): n, accuracy, then recall (n) of each class."""
    rows = []
    for label in labels:
        cell = m.binned.get((feature, label))
        if not cell or "all" not in cell:
            continue
        acc, n = cell["all"]
        per_class = [f"{fmt(cell[k][0], 3)} ({cell[k][1]})" if k in cell else "-" for k in c.CLASS_NAMES]
        rows.append([label, str(n), fmt(acc), *per_class])
    return rows


BINNED_HEADER = ["bin", "n", "accuracy", *(f"{k} recall (n)" for k in c.CLASS_NAMES)]
