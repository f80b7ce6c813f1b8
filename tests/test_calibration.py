"""Temperature scaling and the calibration figures the report shows, on probabilities whose truth is known."""

import numpy as np
import pytest

from trainer import calibration


def _overconfident(n: int = 4000, t_true: float = 2.5, seed: int = 0):
    """Labels drawn from softmax(logits); the 'model' reports softmax(logits * t_true): too sure of itself."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, size=(n, 3))
    p_true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    actual = np.array([rng.choice(3, p=p) for p in p_true])
    reported = np.exp(logits * t_true) / np.exp(logits * t_true).sum(axis=1, keepdims=True)
    return reported, actual


def test_fit_recovers_the_temperature_and_keeps_the_argmax():
    reported, actual = _overconfident()
    t = calibration.fit_temperature(reported, actual)
    assert t == pytest.approx(2.5, rel=0.1)
    fixed = calibration.apply_temperature(reported, t)
    assert (fixed.argmax(axis=1) == reported.argmax(axis=1)).all()
    assert np.allclose(fixed.sum(axis=1), 1.0)
    assert calibration.expected_calibration_error(fixed, actual) < calibration.expected_calibration_error(
        reported, actual) / 2


def test_choose_keeps_a_temperature_that_helps_and_drops_one_that_does_not():
    reported, actual = _overconfident()
    kept = calibration.choose(reported, actual)
    assert kept["kept"] and kept["temperature"] == kept["fitted_temperature"]
    assert kept["held_out_ece_after"] < kept["held_out_ece_before"] and kept["eval_ece_after"] < kept["eval_ece_before"]
    honest, actual = _overconfident(t_true=1.0, seed=1)  # already calibrated: a fitted T can only chase noise
    result = calibration.choose(honest, actual)
    assert result["fitted_temperature"] == pytest.approx(1.0, abs=0.1)
    if not result["kept"]:
        assert result["temperature"] == 1.0 and result["held_out_ece_after"] >= result["held_out_ece_before"]


def test_reliability_and_threshold_rows_count_what_they_say():
    probs = np.array([[0.95, 0.03, 0.02]] * 10 + [[0.5, 0.3, 0.2]] * 10)
    actual = [0] * 9 + [1] + [0] * 5 + [2] * 5
    rows = calibration.reliability(probs, actual, 0)
    assert [(round(m, 2), share, n) for m, share, n in rows] == [(0.5, 0.5, 10), (0.95, 0.9, 10)]
    assert calibration.class_ece(probs, actual, 0) == pytest.approx((0.0 * 10 + 0.05 * 10) / 20)
    at_09, at_099 = calibration.threshold_rows(probs, actual, 0)
    assert (at_09["n"], at_09["share"], at_09["precision"]) == (10, 0.5, 0.9)
    assert at_09["completeness"] == pytest.approx(9 / 14)
    assert at_099["n"] == 0 and np.isnan(at_099["precision"])


def test_no_temperature_is_fitted_when_eval_has_too_few_errors():
    """An eval split the model gets all right (the built-in data) once gave T = 0.05, serving logits x 20."""
    rng = np.random.default_rng(2)
    actual = rng.integers(0, 3, 600)
    probs = np.full((600, 3), 0.1)
    probs[np.arange(600), actual] = 0.8  # right every time, and only 80% sure
    result = calibration.choose(probs, actual)
    assert result["temperature"] == 1.0 and not result["kept"] and result["fitted_temperature"] is None
    assert "0 errors on eval" in result["skipped"] and result["eval_ece_after"] == result["eval_ece_before"]
    # With MIN_ERRORS - 1 errors it still refuses; with MIN_ERRORS it fits, within the bounds.
    for k, fitted in ((calibration.MIN_ERRORS - 1, False), (calibration.MIN_ERRORS, True)):
        wrong = probs.copy()
        wrong[:k] = np.roll(wrong[:k], 1, axis=1)
        result = calibration.choose(wrong, actual)
        assert (result["fitted_temperature"] is not None) == fitted, result
        if fitted:
            lo, hi = calibration.T_BOUNDS
            assert lo <= result["fitted_temperature"] <= hi and lo <= result["temperature"] <= hi
            assert result["fitted_temperature"] < 1.0  # 98% right at 80% confidence: it sharpens, within bounds


def test_the_fit_never_leaves_its_bounds():
    reported, actual = _overconfident(t_true=9.0)  # would need T = 9
    assert calibration.fit_temperature(reported, actual) == pytest.approx(calibration.T_BOUNDS[1])
    right = np.full((300, 3), 0.2)
    right[np.arange(300), np.arange(300) % 3] = 0.6  # never wrong: the likelihood wants T -> 0
    assert calibration.fit_temperature(right, np.arange(300) % 3) == pytest.approx(calibration.T_BOUNDS[0])
