"""Exact pairs: does fusion earn its place on real objects seen in their own cutouts?

    python -m benchmarks.exact_pairs --image-encoder outputs/real/serving/sky_image_encoder [--seeds 0 1 2]

Data: ../shared/data/real_multimodal (SkyServer photometry, spectroscopic redshift and class, and each object's
OWN SkyServer cutout at 0.4"/px), imported as `make run-real` imports it: `ingest import --split-by field`, so no
SDSS field is on both sides of a split. Nothing is chosen on the test split; this script is the only reader of it.

Models, in both input modes (photometric: u..z and colours; spectroscopic: the same and the redshift):
- fusion with the forest head (the served default: trees over the photometry, the cutout's morphology and the
  cross-fitted image heads' log-probabilities), fusion with the MLP head (the network end to end, served before the
  forest head) and tabular-only (MLP head): `pipeline/run_local.py` runs (fusion starts from the real-pixel encoder
  that `make encoder` trained on real_cutouts less every real_multimodal object and every image of an eval or test
  field), scored through their serving signature with the temperature the Trainer kept;
- image-only: that encoder on its own (it reads no photometry: one model for both modes);
- HistGradientBoosting and RandomForest on the same inputs as the network (u..z and the four colours, plus the
  redshift in the spectroscopic mode), and HistGradientBoosting with the cutout's measured morphology
  (trainer/sky_layers.Morphology) added, which is what the fusion model's image side adds to its photometry;
- the late-fusion stack: HistGradientBoosting on the same inputs plus the frozen encoder's log-probabilities.
Mean ± std over seeds (a network's seed; a tree's random_state).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

import contract as c
from benchmarks.common import REPO, header, parse, parser, publish
from benchmarks.photometric import QUALITY_HEAD, f1, mean_std, quality_cells
from benchmarks.quality import bins, network_predictions, photometric_tree_features, scores, tree_features
from ingest import records
from pipeline import configs
from trainer import calibration

TITLE = "Exact pairs, forest head"  # "Exact pairs" above it keeps the MLP-head numbers (revision 1e164a9)
SHARED = REPO.parent / "shared" / "data"
SCALE = 0.4
MODES = (c.PHOTOMETRIC, c.SPECTROSCOPIC)
FUSION, FUSION_MLP, TABULAR, IMAGE = ("fusion (forest head)", "fusion (MLP head)", "tabular-only (MLP head)",
                                      "image-only (the encoder)")
# name -> (model kind, run flags): the networks this benchmark trains, each through the pipeline.
NETWORKS = {FUSION: ("fusion", ("--head", "forest")), FUSION_MLP: ("fusion", ("--head", "mlp")),
            TABULAR: ("tabular", ("--head", "mlp"))}
HGB, RF, HGB_MORPH, STACK = ("HistGradientBoosting", "RandomForest", "HistGradientBoosting + cutout morphology",
                             "late-fusion stack (HGB + encoder log-probabilities)")
TREES = (HGB, RF)
GOALS = {c.PHOTOMETRIC: "fusion (forest head) >= max(HGB + morphology, the late-fusion stack) + 0.003 accuracy, "
                        "macro-F1 >= 0.975, QSO F1 >= 0.96, and >= the MLP head in every seed; top-label ECE <= 0.02 "
                        "and QSO precision >= 0.95 at P(QSO) >= 0.9",
         c.SPECTROSCOPIC: "fusion (forest head) >= best tree + 0.005 accuracy"}


def import_pairs(pairs_dir: Path, out: Path, limit: int | None) -> Path:
    """real_multimodal as pipeline records, split by field; `limit` keeps about that many rows (a third per class)."""
    from ingest.skyserver_import import import_export

    csv_path = pairs_dir / "pairs.csv"
    if limit:
        df = pd.read_csv(csv_path, dtype={"objid": str})
        csv_path = out / "pairs_slice.csv"
        df.groupby("class", sort=False).head(-(-limit // 3)).to_csv(csv_path, index=False)
    data = out / "data"
    import_export(str(csv_path), str(pairs_dir / "images"), str(data), cutout_scale=SCALE, split_by="field")
    return data


def morphology(objs: list[records.SkyObject]) -> np.ndarray:
    """The fusion model's own measured morphology (the same Keras layer, on the same decoded pixels)."""
    import tensorflow as tf

    from trainer.image_ops import to_pixels
    from trainer.sky_layers import Morphology

    layer, out = Morphology(), []
    for k in range(0, len(objs), 512):
        pixels = to_pixels(tf.constant([o.image_jpeg for o in objs[k:k + 512]]))
        out.append(layer(pixels).numpy())
    return np.concatenate(out)


def features(objs: list[records.SkyObject], mode: str) -> np.ndarray:
    return photometric_tree_features(objs) if mode == c.PHOTOMETRIC else tree_features(objs)


def trees(split: dict, mode: str, seed: int, extra: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Test-split probabilities of each tree model (contract class order)."""
    y = [o.label for o in split["train"]]
    base = {s: features(split[s], mode) for s in ("train", "test")}
    inputs = {HGB: base, RF: base,
              HGB_MORPH: {s: np.hstack([base[s], extra["morphology"][s]]) for s in base},
              STACK: {s: np.hstack([base[s], np.log(np.clip(extra["encoder"][s], 1e-6, 1))]) for s in base}}
    out = {}
    for name, x in inputs.items():
        model = (RandomForestClassifier(n_estimators=300, n_jobs=-1, random_state=seed) if name == RF
                 else HistGradientBoostingClassifier(random_state=seed))
        model.fit(x["train"], y)
        order = [list(model.classes_).index(n) for n in c.CLASS_NAMES]
        out[name] = model.predict_proba(x["test"])[:, order]
    return out


def score(probs: np.ndarray, test: list[records.SkyObject]) -> dict[str, float]:
    actual = [o.label for o in test]
    predicted = [c.CLASS_NAMES[k] for k in probs.argmax(axis=1)]
    out = scores(actual, predicted, test)
    for label, members in bins(test).items():  # macro-F1 within each bin, beside scores()'s accuracy
        sub = scores([actual[i] for i in members], [predicted[i] for i in members])
        out[f"binf1:{label}"] = sub["macro_f1"]
        for n in c.CLASS_NAMES:
            out[f"bin:{label}:{n} F1"] = f1(sub, n) if any(actual[i] == n for i in members) else np.nan
    ids = [c.CLASS_NAMES.index(a) for a in actual]
    out["ece"] = calibration.expected_calibration_error(probs, ids)
    qso = calibration.threshold_rows(probs, ids, c.CLASS_NAMES.index("QSO"), (0.9,))[0]
    out["QSO precision at P>=0.9"], out["QSO completeness at P>=0.9"] = qso["precision"], qso["completeness"]
    return out


def overall_table(per_model: dict[str, list[dict[str, float]]]) -> str:
    head = [*QUALITY_HEAD, "ECE", "QSO P at P(QSO)>=0.9"]
    rows = []
    for name, runs in per_model.items():
        cells = [*quality_cells(runs), mean_std([r["ece"] for r in runs]),
                 mean_std([r["QSO precision at P>=0.9"] for r in runs], 3)]
        rows.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n" + "\n".join(rows) + "\n"


def bin_tables(per_model: dict[str, list[dict[str, float]]], test: list[records.SkyObject], prefix: str) -> str:
    """Per bin: n, the class mix, and per model accuracy / macro-F1; then per-class F1 for fusion and the trees."""
    members = {k: v for k, v in bins(test).items() if k.startswith(prefix)}
    models = list(per_model)
    rows = []
    for label, idx in members.items():
        mix = " / ".join(str(sum(test[i].label == n for i in idx)) for n in c.CLASS_NAMES)
        cells = [f"{np.mean([r[f'bin:{label}'] for r in per_model[m]]):.3f} / "
                 f"{np.mean([r[f'binf1:{label}'] for r in per_model[m]]):.3f}" for m in models]
        rows.append(f"| {label} | {len(idx)} | {mix} | " + " | ".join(cells) + " |")
    acc = ("| bin | n | GALAXY / STAR / QSO | " + " | ".join(f"{m}: acc / macro-F1" for m in models)
           + " |\n|---|---|---|" + "---|" * len(models) + "\n" + "\n".join(rows) + "\n")
    shown = [m for m in (FUSION, FUSION_MLP, TABULAR, HGB, HGB_MORPH, STACK) if m in per_model]
    rows = []
    for label in members:
        cells = [" / ".join(mean_std([r[f"bin:{label}:{n} F1"] for r in per_model[m]], 3).split(" ± ")[0]
                            for n in c.CLASS_NAMES) for m in shown]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    by_class = ("| bin | " + " | ".join(f"{m}: F1 GALAXY / STAR / QSO" for m in shown) + " |\n|---|"
          + "---|" * len(shown) + "\n" + "\n".join(rows) + "\n")
    return acc + "\n" + by_class


def verdict(mode: str, per_model: dict[str, list[dict[str, float]]]) -> str:
    mean = {m: np.mean([r["accuracy"] for r in runs]) for m, runs in per_model.items()}
    trees = [m for m in (*TREES, HGB_MORPH, STACK) if m in mean]
    best = max(trees, key=lambda m: mean[m])
    fus = per_model[FUSION]
    lines = [f"fusion (forest head) {mean[FUSION]:.4f} against the best tree-based baseline ({best}) {mean[best]:.4f}: "
             f"{mean[FUSION] - mean[best]:+.4f} (goal {'+0.003' if mode == c.PHOTOMETRIC else '+0.005'})"]
    lines.append(f"macro-F1 {np.mean([r['macro_f1'] for r in fus]):.4f}; QSO F1 "
                 f"{np.mean([f1(r, 'QSO') for r in fus]):.4f}" + (" (goals 0.975 and 0.96)" if mode == c.PHOTOMETRIC
                                                                   else ""))
    if FUSION_MLP in per_model:
        fa, ma = [r["accuracy"] for r in fus], [r["accuracy"] for r in per_model[FUSION_MLP]]
        lines.append(f"forest head >= MLP head in {sum(a >= b for a, b in zip(fa, ma))} of {len(fa)} seeds (forest "
                     f"{', '.join(f'{x:.4f}' for x in fa)}; MLP {', '.join(f'{x:.4f}' for x in ma)})")
    lines.append(f"top-label ECE {np.mean([r['ece'] for r in fus]):.4f} (goal <= 0.02); QSO precision at "
                 f"P(QSO) >= 0.9 {np.nanmean([r['QSO precision at P>=0.9'] for r in fus]):.3f} (goal >= 0.95)")
    return "".join(f"- {line}\n" for line in lines)


def errors(test: list[records.SkyObject], probs: np.ndarray, sheet: Path | None) -> str:
    """The photometric fusion's test errors (seed 0) by class pair, with r and redshift; a contact sheet if asked."""
    predicted = probs.argmax(axis=1)
    wrong = [i for i, o in enumerate(test) if c.CLASS_NAMES[predicted[i]] != o.label]
    pairs: dict[str, list[int]] = {}
    for i in wrong:
        pairs.setdefault(f"{test[i].label} → {c.CLASS_NAMES[predicted[i]]}", []).append(i)
    rows = []
    for pair, idx in sorted(pairs.items(), key=lambda kv: -len(kv[1])):
        r = [test[i].mags["r"] for i in idx]
        z = [test[i].redshift for i in idx]
        p = [probs[i].max() for i in idx]
        rows.append(f"| {pair} | {len(idx)} | {np.median(r):.2f} ({min(r):.2f}-{max(r):.2f}) | "
                    f"{np.median(z):.3f} ({min(z):.3f}-{max(z):.3f}) | {np.median(p):.2f} |")
    if sheet is not None and wrong:
        _contact_sheet(test, predicted, probs, pairs, sheet)
    return (f"{len(wrong)} errors of {len(test)}"
            + (f"; contact sheet: `{sheet}` (not committed: it shows ../shared's cutouts)" if sheet else "")
            + ".\n\n| true → predicted | n | r: median (range) | redshift: median (range) | median P(predicted) |\n"
              "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def _contact_sheet(test, predicted, probs, pairs: dict[str, list[int]], path: Path, per_pair: int = 12) -> None:
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    shown = [(pair, i) for pair, idx in pairs.items() for i in idx[:per_pair]]
    cols = 8
    fig = Figure(figsize=(cols * 1.6, (len(shown) // cols + 1) * 1.9))
    for k, (pair, i) in enumerate(shown):
        ax = fig.add_subplot(len(shown) // cols + 1, cols, k + 1)
        ax.imshow(Image.open(io.BytesIO(test[i].image_jpeg)))
        ax.set_title(f"{pair}\nr {test[i].mags['r']:.1f} z {test[i].redshift:.2f} P {probs[i].max():.2f}",
                     fontsize=6)
        ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--pairs", default=str(SHARED / "real_multimodal"), help="real_multimodal (pairs.csv + images/)")
    p.add_argument("--image-encoder", required=True, help="the pushed encoder from `make encoder`")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--limit", type=int, help="only about N objects (smoke tests)")
    p.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS),
                   help="which networks to train (the trees always run)")
    p.add_argument("--sheet", default=str(REPO / "outputs" / "benchmarks" / "exact_pairs_errors.png"),
                   help="where to draw the contact sheet of the photometric fusion's test errors ('' for none)")
    p.add_argument("--json", default=str(REPO / "outputs" / "benchmarks" / "exact_pairs.json"),
                   help="every score of every model and seed, for reading beyond the tables ('' for none)")
    args = parse(p, argv)
    from evaluation.predictions import predict_records
    from pipeline.run_config import resolve_encoder

    encoder = resolve_encoder(args.image_encoder)
    parts, everything = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-exact-pairs-") as tmp:
        data = import_pairs(Path(args.pairs), Path(tmp), args.limit)
        split = {s: list(records.read_split(data, s)) for s in c.SPLITS}
        test = split["test"]
        extra = {"morphology": {s: morphology(split[s]) for s in ("train", "test")},
                 "encoder": {s: predict_records(encoder, str(data / s / c.RECORD_GLOB)).probabilities
                             for s in ("train", "test")}}
        image_only = score(extra["encoder"]["test"], test)
        fusion_seed0 = None
        for mode in args.modes:
            work = Path(tmp) / mode
            work.mkdir()
            (work / "data").symlink_to(data)
            per_model: dict[str, list[dict[str, float]]] = {name: [] for name in args.networks}
            for seed in args.seeds:
                for name in args.networks:
                    kind, flags = NETWORKS[name]
                    if kind == "fusion":
                        flags = (*flags, "--image-encoder", encoder)
                    pred = network_predictions(kind, seed, args.epochs, work, test, "--inputs", mode, *flags)
                    per_model[name].append(score(pred.probabilities, test))
                    if name == FUSION and mode == c.PHOTOMETRIC and fusion_seed0 is None:
                        fusion_seed0 = pred.probabilities
                    print(mode, name, seed, round(per_model[name][-1]["accuracy"], 4), flush=True)
                for name, probs in trees(split, mode, seed, extra).items():
                    per_model.setdefault(name, []).append(score(probs, test))
            per_model[IMAGE] = [image_only]
            everything[mode] = per_model
            parts.append(f"### {mode.capitalize()} inputs\n\nGoals: {GOALS[mode]}.\n\n{overall_table(per_model)}\n"
                         f"Against the goals:\n\n{verdict(mode, per_model)}\n"
                         f"By r magnitude (bins as the Evaluator slices them; mean over seeds):\n\n"
                         f"{bin_tables(per_model, test, 'r ')}\nBy redshift:\n\n"
                         f"{bin_tables(per_model, test, 'redshift ')}")
        if fusion_seed0 is not None:
            parts.append("### Errors of the photometric fusion model, forest head (test split, seed 0)\n\n"
                         + errors(test, fusion_seed0, Path(args.sheet) if args.sheet else None))
        summary = json.loads((data / "import_summary.json").read_text())
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(everything, indent=1, default=float))
    counts = {s: len(v) for s, v in split.items()}
    mix = ", ".join(f"{sum(o.label == n for o in test)} {n}" for n in c.CLASS_NAMES)
    note = (f"Data: REAL SkyServer photometry and each object's OWN REAL cutout (../shared/data/real_multimodal), "
            f"split by SDSS field ({summary['fields_per_split']} fields): train {counts['train']}, eval "
            f"{counts['eval']}, test {counts['test']} ({mix}). Test is read by this script alone. The encoder "
            f"(`{Path(encoder).name}`) was trained on real_cutouts less every real_multimodal object and every image "
            f"of a field in its eval or test split.")
    return publish(TITLE, header(args.command) + "\n" + note + "\n\n" + "\n".join(parts), args)


if __name__ == "__main__":
    main()
