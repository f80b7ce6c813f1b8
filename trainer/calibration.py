"""Calibrated probabilities: a catalogue is used by thresholding them (keep objects with P(QSO) >= 0.9), so a 0.9
must be right nine times in ten.

Temperature scaling divides the log-probabilities by one number T before the softmax: it softens an overconfident
model (T > 1) or sharpens a timid one (T < 1) and never changes the argmax, so accuracy and the blessing gate stay
as they are. The Trainer fits T on the eval split and keeps it only if it lowers the expected calibration error on
eval objects it was not fitted on (two folds), so a fit that chases noise is dropped, not shipped.

A temperature is only as good as the errors it is fitted on: on an eval split the model gets all right, the
likelihood keeps rising as T falls, and an unbounded fit would serve logits x 20 on the strength of no evidence.
So T is searched within T_BOUNDS, and with fewer than MIN_ERRORS misclassified eval objects no fit is made at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

ECE_BINS = 10
THRESHOLDS: tuple[float, ...] = (0.9, 0.99)  # the shares Clarke et al. (2020) report for their SDSS catalogue
# Sharpening more than 4x or softening more than 4x is not a calibration but a different model.
T_BOUNDS: tuple[float, float] = (0.25, 4.0)
_LOG_T_GRID = np.linspace(np.log(T_BOUNDS[0]), np.log(T_BOUNDS[1]), 401)
# Below this many argmax errors on eval, the likelihood says nothing about how wrong the model's confidence is.
MIN_ERRORS = 10


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same as dividing the logits by T."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(probabilities: np.ndarray, actual_ids: Iterable[int], bins: int = ECE_BINS) -> float:
    """Top-label ECE: |confidence - accuracy| per confidence bin, weighted by the bin's share of examples."""
    probs = np.asarray(probabilities)
    actual = np.asarray(list(actual_ids))
    if len(actual) == 0:
        return float("nan")
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == actual
    which = _bin_of(confidence, bins)
    return float(sum(abs(confidence[which == b].mean() - correct[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def _bin_of(p: np.ndarray, bins: int) -> np.ndarray:
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)


def reliability(probabilities: np.ndarray, actual_ids: Sequence[int], class_id: int, bins: int = ECE_BINS
                ) -> list[tuple[float, float, int]]:
    """One class against the rest: (mean P(class), observed share of that class, n) per non-empty probability bin."""
    p = np.asarray(probabilities)[:, class_id]
    hit = np.asarray(actual_ids) == class_id
    which = _bin_of(p, bins)
    return [(float(p[which == b].mean()), float(hit[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]


def class_ece(probabilities: np.ndarray, actual_ids: Sequence[int], class_id: int, bins: int = ECE_BINS) -> float:
    """ECE of one class's probability (one-vs-rest): the gap its reliability diagram shows, weighted by n."""
    rows = reliability(probabilities, actual_ids, class_id, bins)
    n = sum(r[2] for r in rows)
    return float(sum(abs(mean - share) * k for mean, share, k in rows) / n) if n else float("nan")


def threshold_rows(probabilities: np.ndarray, actual_ids: Sequence[int], class_id: int,
                   thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, float]]:
    """Per threshold t: how many objects have P(class) >= t, their share of all, the precision among them (purity)
    and the share of the class they keep (completeness)."""
    p = np.asarray(probabilities)[:, class_id]
    hit = np.asarray(actual_ids) == class_id
    rows = []
    for t in thresholds:
        chosen = p >= t
        rows.append({"threshold": t, "n": int(chosen.sum()), "share": float(chosen.mean()) if len(p) else float("nan"),
                     "precision": float(hit[chosen].mean()) if chosen.any() else float("nan"),
                     "completeness": float(chosen[hit].mean()) if hit.any() else float("nan")})
    return rows


def fit_temperature(probabilities: np.ndarray, actual_ids: Sequence[int]) -> float:
    """The T that minimises the negative log-likelihood (a fine grid over log T within T_BOUNDS: one parameter)."""
    logp = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0))
    actual = np.asarray(actual_ids)
    best, best_nll = 1.0, np.inf
    for log_t in _LOG_T_GRID:
        z = logp / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(actual)), actual]))
        if nll < best_nll:
            best, best_nll = float(np.exp(log_t)), nll
    return best


def choose(probabilities: np.ndarray, actual_ids: Sequence[int]) -> dict:
    """Fits T on the eval split and says whether to keep it (no fit below MIN_ERRORS eval errors).

    Kept only if, fitted on one half of eval (alternate objects) and measured on the other, it lowers the top-label
    ECE on average over both ways round; the T shipped is then the one fitted on the whole split.
    """
    probs, actual = np.asarray(probabilities), np.asarray(actual_ids)
    errors = int((probs.argmax(axis=1) != actual).sum()) if len(actual) else 0
    if errors < MIN_ERRORS:
        ece = expected_calibration_error(probs, actual)
        return {"temperature": 1.0, "fitted_temperature": None, "kept": False,
                "skipped": f"{errors} error{'' if errors == 1 else 's'} on eval, fewer than {MIN_ERRORS}: too few "
                           "to fit a temperature on",
                "eval_errors": errors, "held_out_ece_before": None, "held_out_ece_after": None,
                "eval_ece_before": ece, "eval_ece_after": ece, "n": int(len(actual))}
    halves = (np.arange(len(actual)) % 2 == 0, np.arange(len(actual)) % 2 == 1)
    before, after = [], []
    for fit_on, check_on in (halves, halves[::-1]):
        if not fit_on.any() or not check_on.any():
            continue
        t = fit_temperature(probs[fit_on], actual[fit_on])
        before.append(expected_calibration_error(probs[check_on], actual[check_on]))
        after.append(expected_calibration_error(apply_temperature(probs[check_on], t), actual[check_on]))
    fitted = fit_temperature(probs, actual) if len(actual) else 1.0
    kept = bool(before) and float(np.mean(after)) < float(np.mean(before))
    temperature = fitted if kept else 1.0
    return {"temperature": temperature, "fitted_temperature": fitted, "kept": kept,
            "held_out_ece_before": float(np.mean(before)) if before else None,
            "held_out_ece_after": float(np.mean(after)) if after else None,
            "eval_ece_before": expected_calibration_error(probs, actual),
            "eval_ece_after": expected_calibration_error(apply_temperature(probs, temperature), actual),
            "eval_errors": errors, "n": int(len(actual))}
