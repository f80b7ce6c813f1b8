"""Choosing the Trainer's class weights on eval splits: balanced, square-root of balanced, or none.

    python -m benchmarks.class_weights --image-encoder outputs/real/serving/sky_image_encoder [--seeds 0 1 2]
        [--studies pairs dr14-tabular dr14-fusion]

Each study fits the pipeline's own model (trainer/model.py) outside TFX on a train split, with early stopping on
the eval split as the Trainer does, and scores it on that eval split; no test split is read. Studies:
- pairs: fusion with the frozen real-pixel encoder on the real pairs (REAL photometry and REAL cutouts; records
  made by `make run-real`, i.e. `ingest import` of ../shared/data/real_pairs);
- dr14-tabular / dr14-fusion: real DR14 photometry (with SIMULATED cutouts for fusion) on quality.py's split.
QSO is ~5% of every set: balanced weights give it ~6.7 (a class with a third of the data gets 1), the
square root ~2.6.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np

import contract as c
from benchmarks.common import header, parse, parser, publish
from benchmarks.quality import DR14, scores
from ingest import records

TITLE = "Class weights, chosen on the eval splits"
RULES = ("balanced", "sqrt of balanced (Trainer)", "none")
STUDIES = {
    "pairs": "real pairs (REAL photometry + REAL cutouts), fusion, frozen real-pixel encoder",
    "dr14-tabular": "DR14 photometry, tabular",
    "dr14-fusion": "DR14 photometry + SIMULATED cutouts, fusion (CNN from scratch)",
}


def weights(label_ids: np.ndarray, rule: str) -> dict[int, float] | None:
    from trainer.model import class_weights_from_counts

    counts = np.bincount(label_ids, minlength=len(c.CLASS_NAMES))
    if rule == "none":
        return None
    sqrt = class_weights_from_counts(counts)
    return sqrt if rule.startswith("sqrt") else {k: w * w for k, w in sqrt.items()}


def fit_and_score(split: dict, kind: str, rule: str, seed: int, encoder_dir: str | None) -> dict[str, float]:
    import tensorflow as tf

    from benchmarks.bare_keras import dataset, scaled_inputs
    from pipeline import configs
    from trainer import model as model_lib

    tf.keras.utils.set_random_seed(seed)
    x = scaled_inputs(split["train"])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    train, val = (dataset(split[s], mean, std, kind, s == "train", seed) for s in ("train", "eval"))
    encoder = model_lib.load_encoder(encoder_dir) if encoder_dir else None
    model = model_lib.build(kind, configs.LEARNING_RATE, encoder=encoder)
    yt, yv = (np.array([c.CLASS_NAMES.index(o.label) for o in split[s]]) for s in ("train", "eval"))
    model.fit(train, validation_data=val, epochs=configs.EPOCHS, verbose=0, class_weight=weights(yt, rule),
              callbacks=[tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=configs.PATIENCE,
                                                          restore_best_weights=True)])
    pred = model.predict(val, verbose=0).argmax(axis=1)
    got = scores([c.CLASS_NAMES[k] for k in yv], [c.CLASS_NAMES[k] for k in pred])
    return {"accuracy": got["accuracy"], "macro-F1": got["macro_f1"], "QSO precision": got["QSO P"],
            "QSO recall": got["QSO R"]}


def load(study: str, pairs: str, dr14_csv: str, work: Path, limit: int | None) -> dict[str, list[records.SkyObject]]:
    if study == "pairs":
        split = {s: list(records.read_split(Path(pairs), s)) for s in ("train", "eval")}
        if not split["train"]:
            raise SystemExit(f"no records in {pairs}: run `make run-real` (or `python -m ingest import` of the pairs)")
        return {s: objs[:limit] for s, objs in split.items()} if limit else split
    from benchmarks.quality import build_split

    return build_split(dr14_csv, work, limit)


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--studies", nargs="+", choices=list(STUDIES), default=["pairs", "dr14-tabular"])
    p.add_argument("--pairs", default="data/real_pairs", help="imported real-pairs records (train/eval splits)")
    p.add_argument("--image-encoder", help="the real-pixel encoder (a pushed version or its serving folder)")
    p.add_argument("--csv", default=None, help="the DR14 table (default ../shared/data/sdss_dr14_10k.csv)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--limit", type=int, help="first N objects per split only (smoke tests)")
    args = parse(p, argv)
    encoder = None
    if "pairs" in args.studies:
        if not args.image_encoder:
            p.error("the pairs study needs --image-encoder (make encoder)")
        from pipeline.assemble import resolve_encoder

        encoder = resolve_encoder(args.image_encoder)
    rows = []
    for study in args.studies:
        with tempfile.TemporaryDirectory(prefix="bench-weights-") as tmp:
            split = load(study, args.pairs, args.csv or str(DR14), Path(tmp), args.limit)
        kind = "tabular" if study == "dr14-tabular" else "fusion"
        n_qso = sum(o.label == "QSO" for o in split["eval"])
        for rule in RULES:
            runs = [fit_and_score(split, kind, rule, s, encoder if study == "pairs" else None) for s in args.seeds]
            cells = [f"{np.mean([r[m] for r in runs]):.4f} ± {np.std([r[m] for r in runs]):.4f}"
                     for m in ("accuracy", "macro-F1", "QSO precision", "QSO recall")]
            rows.append(f"| {STUDIES[study]} | {len(split['eval'])} ({n_qso} QSO) | {rule} | "
                        + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    qso_w = math.sqrt(1 / (3 * 0.05))
    body = (header(args.command) + "\n"
            f"Scored on each set's eval split (early stopping on it too, as in the Trainer); mean ± std over seeds "
            f"{args.seeds}. No test split is read. At a 5% QSO share, balanced weights give a quasar {qso_w ** 2:.1f} "
            f"(a class with a third of the data gets 1), their square root {qso_w:.1f}.\n\n"
            "| study | eval n | class weights | accuracy | macro-F1 | QSO precision | QSO recall |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return publish(TITLE, body, args)


if __name__ == "__main__":
    main()
