"""Without spectra: the photometric mode (magnitudes, colours and the cutout; no redshift) on DR14 photometry.

    python -m benchmarks.photometric [--seeds 0 1 2]

DR14: REAL photometry + SIMULATED cutouts (benchmarks/quality.py's stratified split), scored once per seed on a
test split that nothing is tuned on. Real objects in their own cutouts are benchmarks/exact_pairs.py's ("Exact
pairs"); the study on the guessed real pairs that stood here is history in BENCHMARKS.md "Without spectra".
The networks are `pipeline/run_local.py --inputs photometric` runs, scored through their serving signature with
the temperature the Trainer kept; HistGradientBoosting and RandomForest get the same inputs (u..z and the four
colours).
Clarke et al. (2020, A&A 639, A84) trained a random forest on 3.1 million SDSS sources: another data set, shown
for scale only. Once (seed 0) the spectroscopic fusion and tabular models run too, for the quasars at z < 0.2
whose host galaxy is resolved in the cutout.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np

import contract as c
from benchmarks.common import header, parse, parser, publish
from benchmarks.quality import (
    DR14,
    bin_table,
    build_split,
    classic,
    network_predictions,
    photometric_tree_features,
    scores,
)
from pipeline import configs
from trainer import calibration

TITLE = "Without spectra on DR14 photometry (simulated cutouts)"  # "Without spectra" holds the real-pairs history
FUSION, TABULAR = "fusion, photometric", "tabular, photometric"
SPEC_FUSION, SPEC_TABULAR = "fusion, spectroscopic", "tabular, spectroscopic"
LOW_Z = 0.2
# Clarke et al. 2020, test-set F1 per class (galaxy / quasar / star): another data set (3.1 M SDSS sources).
CLARKE = {"Clarke et al. 2020, RF on PSF magnitudes (other data)": {"GALAXY": 0.968, "QSO": 0.885, "STAR": 0.922},
          "Clarke et al. 2020, RF + resolved-in-r morphology (other data)": {"GALAXY": 0.987, "QSO": 0.936,
                                                                            "STAR": 0.962}}
GOALS = "fusion >= the best tree + 0.03 accuracy; macro-F1 >= 0.962; fusion >= tabular in every seed"


def f1(s: dict[str, float], name: str) -> float:
    p, r = s[f"{name} P"], s[f"{name} R"]
    return 2 * p * r / (p + r) if p + r else 0.0


def mean_std(values: list[float], digits: int = 4) -> str:
    """mean ± std over seeds; NaN (a bin without the class) left out, "-" where nothing is left."""
    values = [v for v in values if not np.isnan(v)]
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}" if values else "-"


QUALITY_HEAD = ["model", "seeds", "accuracy", "macro-F1",
                *(f"{n} {m}" for n in c.CLASS_NAMES for m in ("P", "R", "F1"))]


def quality_cells(runs: list[dict[str, float]]) -> list[str]:
    """accuracy, macro-F1 and per-class precision, recall and F1 of one model: mean ± std over its runs."""
    cells = [mean_std([r["accuracy"] for r in runs]), mean_std([r["macro_f1"] for r in runs])]
    for n in c.CLASS_NAMES:
        cells += [mean_std([r[f"{n} P"] for r in runs]), mean_std([r[f"{n} R"] for r in runs]),
                  mean_std([f1(r, n) for r in runs])]
    return cells


def quality_table(per_model: dict[str, list[dict[str, float]]]) -> str:
    head = QUALITY_HEAD
    rows = [f"| {name} | {len(runs)} | " + " | ".join(quality_cells(runs)) + " |" for name, runs in per_model.items()]
    for name, f1s in CLARKE.items():
        cells = ["-", "-"] + [x for n in c.CLASS_NAMES for x in ("-", "-", f"{f1s[n]:.3f}")]
        rows.append(f"| {name} | - | " + " | ".join(cells) + " |")
    return "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n" + "\n".join(rows) + "\n"


def bins_table(per_model: dict[str, list[dict[str, float]]], test) -> str:
    """Accuracy per r-magnitude bin (as the Evaluator slices), mean over seeds."""
    return bin_table(per_model, test, (FUSION, TABULAR, "HistGradientBoosting", "RandomForest"),
                     prefix=f"{c.BANDS[2]} ", first="r bin")


def calibration_table(preds: list) -> str:
    """Photometric fusion on the test split, mean over seeds: ECE and what thresholds keep, and how pure it is."""
    actual = [[c.CLASS_NAMES.index(a) for a in p.actual] for p in preds]
    ece = [calibration.expected_calibration_error(p.probabilities, a) for p, a in zip(preds, actual)]
    rows = []
    for k, name in enumerate(c.CLASS_NAMES):
        per_t = [calibration.threshold_rows(p.probabilities, a, k) for p, a in zip(preds, actual)]
        cells = []
        for j in range(len(calibration.THRESHOLDS)):
            precision = [r[j]["precision"] for r in per_t if not np.isnan(r[j]["precision"])]
            cells += [f"{np.mean([r[j]['share'] for r in per_t]):.3f}",
                      f"{np.mean(precision):.4f}" if precision else "- (none)",
                      f"{np.mean([r[j]['completeness'] for r in per_t]):.3f}"]
        ece_k = np.mean([calibration.class_ece(p.probabilities, a, k) for p, a in zip(preds, actual)])
        rows.append(f"| {name} | {ece_k:.4f} | " + " | ".join(cells) + " |")
    head = ["class", "class ECE", *(f"{x} at P>={t:g}" for t in calibration.THRESHOLDS
                                    for x in ("share", "precision", "completeness"))]
    return (f"Top-label ECE on test: {mean_std(ece)}.\n\n| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n"
            + "\n".join(rows) + "\n")


def low_z_quasars(spec: dict[str, object], phot: object, test) -> str:
    """Quasars below z = 0.2 in the test split: what each model calls them."""
    idx = [i for i, o in enumerate(test) if o.label == "QSO" and o.redshift < LOW_Z]
    if not idx:
        return f"No quasar below z = {LOW_Z} in this test split.\n"
    rows = []
    for name, pred in (*spec.items(), (FUSION, phot)):
        called = [pred.predicted[i] for i in idx]
        rows.append(f"| {name} | {len(idx)} | " + " | ".join(str(called.count(n)) for n in c.CLASS_NAMES) + " |")
    return (f"Quasars at z < {LOW_Z} in the test split (seed 0; objects called each class):\n\n"
            "| model | QSO at z < 0.2 | " + " | ".join(f"called {n}" for n in c.CLASS_NAMES) + " |\n|---|---|"
            + "---|" * len(c.CLASS_NAMES) + "\n" + "\n".join(rows) + "\n")


def study(name: str, work: Path, split: dict, seeds: list[int], epochs: int, fusion_flags: tuple[str, ...],
          spectroscopic: bool = True) -> str:
    test = split["test"]
    per_model: dict[str, list[dict[str, float]]] = {}
    fusion_preds, spec = [], {}
    for seed in seeds:
        for label, kind, flags in ((FUSION, "fusion", fusion_flags), (TABULAR, "tabular", ())):
            pred = network_predictions(kind, seed, epochs, work, test, "--inputs", c.PHOTOMETRIC, *flags)
            per_model.setdefault(label, []).append(scores(pred.actual, pred.predicted, test))
            if kind == "fusion":
                fusion_preds.append(pred)
            print(name, label, seed, per_model[label][-1]["accuracy"], flush=True)
        for model, s in classic(split, seed, photometric_tree_features).items():
            per_model.setdefault(model, []).append(s)
    for label, kind, flags in ((SPEC_FUSION, "fusion", fusion_flags), (SPEC_TABULAR, "tabular", ())):
        if spectroscopic:
            spec[label] = network_predictions(kind, seeds[0], epochs, work, test, "--inputs", c.SPECTROSCOPIC, *flags)
    best_tree = max(np.mean([r["accuracy"] for r in per_model[m]]) for m in ("HistGradientBoosting", "RandomForest"))
    fus = [r["accuracy"] for r in per_model[FUSION]]
    tab = [r["accuracy"] for r in per_model[TABULAR]]
    verdict = (f"fusion {np.mean(fus):.4f} vs best tree {best_tree:.4f} ({np.mean(fus) - best_tree:+.4f}); "
               f"macro-F1 {np.mean([r['macro_f1'] for r in per_model[FUSION]]):.4f}; fusion >= tabular in "
               f"{sum(f >= t for f, t in zip(fus, tab))} of {len(fus)} seeds "
               f"(fusion {', '.join(f'{x:.4f}' for x in fus)}; tabular {', '.join(f'{x:.4f}' for x in tab)}).")
    return (f"### {name}\n\nTest split: {len(test)} objects ("
            + ", ".join(f"{sum(o.label == n for o in test)} {n}" for n in c.CLASS_NAMES) + "); mean ± std over "
            f"seeds.\n\n{quality_table(per_model)}\nAgainst the goals: {verdict}\n\nAccuracy by r magnitude:\n\n"
            f"{bins_table(per_model, test)}\nCalibration of the photometric fusion model:\n\n"
            f"{calibration_table(fusion_preds)}\n"
            + (low_z_quasars(spec, fusion_preds[0], test) if spectroscopic else ""))


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--dr14", default=str(DR14))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--limit", type=int, help="only about N rows (smoke tests)")
    p.add_argument("--no-spectroscopic", action="store_true",
                   help="skip the spectroscopic models (the low-redshift quasar table): smoke tests")
    p.add_argument("--title", default=TITLE, help="the BENCHMARKS.md section to (re)write")
    args = parse(p, argv)
    with tempfile.TemporaryDirectory(prefix="bench-photometric-") as tmp:
        work = Path(tmp)
        split = build_split(args.dr14, work, args.limit)
        part = study("DR14: REAL photometry + SIMULATED cutouts", work, split, args.seeds, args.epochs, (),
                     not args.no_spectroscopic)
    body = (header(args.command) + "\nNo model here reads the redshift (the spectroscopic "
            "rows of the last table excepted). Goals: " + GOALS + ".\n\n" + part)
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
