"""Quality on real DR14 photometry: the pipeline's fusion, tabular and image models against scikit-learn.

    python -m benchmarks.quality [--csv ../shared/data/sdss_dr14_10k.csv] [--seeds 0 1 2]

One fixed, stratified train/eval/test split (split seed 0) of the imported
table, cutouts simulated with GalSim. Every model trains on train (the
networks also early-stop on eval) and is scored once per seed on test, which
nothing is tuned on. The networks go through `pipeline/run_local.py --model`
and are scored through their own serving signature; HistGradientBoosting and
RandomForest get the same 6 tabular features with default settings.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split

import contract as c
from benchmarks.common import header, parse, parser, publish, timed
from ingest import records
from ingest.provenance import IMPORT_SUMMARY
from pipeline import configs
from pipeline import metadata as md
from runners.local.workspace import Workspace

TITLE = "Quality on real DR14 photometry (simulated cutouts), held-out test split"
DR14 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss_dr14_10k.csv"
SPLIT_SEED = 0
TARGETS = "fusion accuracy >= 0.995, macro-F1 >= 0.99, QSO recall >= 0.97; tabular at least matches HGB"


def build_split(csv_path: str, out: Path, limit: int | None) -> dict[str, list[records.SkyObject]]:
    """Imports the table (simulating cutouts), then a stratified 70/15/15 split written as pipeline records."""
    from ingest.skyserver_import import import_export

    src = Path(csv_path)
    if limit:
        lines = src.read_text().splitlines()
        src = out / "subset.csv"
        src.write_text("\n".join(lines[:limit + 1]) + "\n")
    imported = out / "imported"
    report = import_export(str(src), None, str(imported), simulate_missing_images=True, seed=SPLIT_SEED,
                           fractions=(1.0, 0.0, 0.0))
    objs = list(records.read_split(imported, "train"))
    assert len(objs) == report.written
    labels = [o.label for o in objs]
    rest, test = train_test_split(objs, test_size=0.15, stratify=labels, random_state=SPLIT_SEED)
    train, val = train_test_split(rest, test_size=0.15 / 0.85, stratify=[o.label for o in rest],
                                  random_state=SPLIT_SEED)
    split = {"train": train, "eval": val, "test": test}
    data = out / "data"
    with records.SplitWriter(data) as w:
        for name, objs_ in split.items():
            for o in objs_:
                w.write(o, split=name)
    shutil.copy(imported / IMPORT_SUMMARY, data / IMPORT_SUMMARY)  # provenance: cutouts are simulated
    return split


def scores(actual: list[str], predicted: list[str], objs: list[records.SkyObject] | None = None
           ) -> dict[str, float]:
    """Overall and per-class scores; with `objs`, also accuracy per brightness and redshift bin ("bin:<label>")."""
    p, r, _, _ = precision_recall_fscore_support(actual, predicted, labels=list(c.CLASS_NAMES), zero_division=0)
    out = {"accuracy": accuracy_score(actual, predicted),
           "macro_f1": f1_score(actual, predicted, labels=list(c.CLASS_NAMES), average="macro", zero_division=0)}
    for k, name in enumerate(c.CLASS_NAMES):
        out[f"{name} P"], out[f"{name} R"] = p[k], r[k]
    for label, members in (bins(objs) if objs else {}).items():
        out[f"bin:{label}"] = float(np.mean([actual[i] == predicted[i] for i in members]))
    return out


def bins(objs: list[records.SkyObject]) -> dict[str, list[int]]:
    """Bin label (trainer/features.py BINS, as the Evaluator slices) -> indices of the objects in it."""
    from trainer import features as f

    out: dict[str, list[int]] = {}
    for key, edges in f.BINS.values():
        labels = f.bin_labels(key, edges)
        for label in labels:
            out[label] = []
        for i, o in enumerate(objs):
            out[labels[int(np.searchsorted(edges, o.mags.get(key, o.redshift), side="right"))]].append(i)
    return {k: v for k, v in out.items() if v}


def bin_table(per_model: dict[str, list[dict[str, float]]], test: list[records.SkyObject], models: tuple[str, ...],
              prefix: str = "", first: str = "bin") -> str:
    """Accuracy per bin (of those whose label starts with `prefix`) on the test split, mean over seeds, per model."""
    shown = [m for m in models if m in per_model]
    rows = []
    for label, members in bins(test).items():
        if not label.startswith(prefix):
            continue
        counts = " / ".join(str(sum(test[i].label == n for i in members)) for n in c.CLASS_NAMES)
        cells = [f"{np.mean([r[f'bin:{label}'] for r in per_model[m]]):.4f}" for m in shown]
        rows.append(f"| {label} | {len(members)} | {counts} | " + " | ".join(cells) + " |")
    return (f"| {first} | n | GALAXY / STAR / QSO | " + " | ".join(shown) + " |\n|---|---|---|" + "---|" * len(shown)
            + "\n" + "\n".join(rows) + "\n")


def render_bins(per_model: dict[str, list[dict[str, float]]], test: list[records.SkyObject],
                models: tuple[str, ...] = ("fusion", "tabular", "HistGradientBoosting")) -> str:
    """Accuracy per r-magnitude and redshift bin on the test split, mean over seeds, per model."""
    return ("\nAccuracy by r magnitude and by redshift on the same test split (bins as the Evaluator slices them; "
            "mean over seeds):\n\n" + bin_table(per_model, test, models))


def tree_features(objs: list[records.SkyObject]) -> np.ndarray:
    """What the scikit-learn trees get: the 6 contract features as they are (trees need no scaling or colours).
    Not benchmarks/bare_keras.columns, which is the MLP's input before Transform's scaling."""
    return np.array([[o.mags[b] for b in c.BANDS] + [o.redshift] for o in objs])


def photometric_tree_features(objs: list[records.SkyObject]) -> np.ndarray:
    """The trees' features without a spectrum: u..z and the four colours, no redshift."""
    mags = np.array([[o.mags[b] for b in c.BANDS] for o in objs])
    return np.hstack([mags, mags[:, :-1] - mags[:, 1:]])


def classic(split, seed: int, features=tree_features) -> dict[str, dict[str, float]]:
    x, y = features(split["train"]), [o.label for o in split["train"]]
    actual = [o.label for o in split["test"]]
    out = {}
    for name, model in (("HistGradientBoosting", HistGradientBoostingClassifier(random_state=seed)),
                        ("RandomForest", RandomForestClassifier(n_estimators=300, n_jobs=-1, random_state=seed))):
        out[name] = scores(actual, list(model.fit(x, y).predict(features(split["test"]))), split["test"])
    return out


def network(kind: str, seed: int, epochs: int, work: Path, test: list[records.SkyObject],
            *extra: str) -> dict[str, float]:
    """A pipeline run on <work>/data (flags `extra` added), its Trainer's model scored on `test`."""
    pred = network_predictions(kind, seed, epochs, work, test, *extra)
    return scores(pred.actual, pred.predicted, test)


def network_predictions(kind: str, seed: int, epochs: int, work: Path, test: list[records.SkyObject], *extra: str):
    """A pipeline run on <work>/data, and its Trainer's model's Predictions on `test` (serving_default)."""
    from tfx.utils import path_utils

    from evaluation.predictions import predict_records

    run = timed(Workspace(work).command(str(work / "data"), "--model", kind, "--seed", str(seed),
                              "--epochs", str(epochs), *extra))
    if run.returncode not in (0,):
        raise SystemExit(f"pipeline run ({kind}, seed {seed}) failed:\n{run.output[-3000:]}")
    store = md.open_store(str(Workspace(work).metadata_path))
    trainer = md.latest_node_runs(store, configs.PIPELINE_NAME)["Trainer"]
    model = md.artifacts(store, trainer.execution.id, "model")[0]
    # Scored whether or not the gate blessed it: the image-only model is not supposed to pass.
    pred = predict_records(path_utils.serving_model_path(model.uri), str(work / "data" / "test" / c.RECORD_GLOB))
    assert [o.objid for o in pred.objects] == [o.objid for o in test]
    return pred


def render(per_model: dict[str, list[dict[str, float]]], n_test: int, command: str, note: str | None = None,
           targets: str = TARGETS) -> str:
    """The section: header, what the test split is (`note`, or this benchmark's own wording), table, targets."""
    cols = ["accuracy", "macro_f1", *(f"{n} {m}" for n in c.CLASS_NAMES for m in ("R", "P"))]
    rows = []
    for name, runs in per_model.items():
        cells = [f"{np.mean([r[k] for r in runs]):.4f} ± {np.std([r[k] for r in runs]):.4f}" for k in cols]
        rows.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    head = ["model", "seeds", "accuracy", "macro-F1",
            *(f"{n} {'recall' if m == 'R' else 'precision'}" for n in c.CLASS_NAMES for m in ("R", "P"))]
    note = note or (f"Test split: {n_test} objects, stratified, split seed {SPLIT_SEED}; mean ± std over seeds. "
                    "Photometry is real SDSS DR14; the cutouts are SIMULATED (GalSim), not observations.")
    return (header(command) + f"\n{note}\n\n"
            "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n" + "\n".join(rows)
            + f"\n\nTargets: {targets}.\n")


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--csv", default=str(DR14))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="*", default=["fusion", "tabular", "image"],
                   help="the pipeline's networks to train; none: the scikit-learn baselines alone")
    p.add_argument("--limit", type=int, help="use only the first N rows (smoke tests)")
    p.add_argument("--title", default=TITLE)
    args = parse(p, argv)
    per_model: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        work = Path(tmp)
        split = build_split(args.csv, work, args.limit)
        for seed in args.seeds:
            for kind in args.models:  # one pipeline root: Transform and the rest are cached across models
                per_model.setdefault(kind, []).append(network(kind, seed, args.epochs, work, split["test"]))
                print(kind, seed, per_model[kind][-1], flush=True)
            for name, s in classic(split, seed).items():
                per_model.setdefault(name, []).append(s)
    body = render(per_model, len(split["test"]), args.command) + render_bins(per_model, split["test"])
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
