"""Which fusion recipe, chosen on the eval split of the exact pairs: each lever of the "Exact pairs" issue measured.

    python -m benchmarks.levers --image-encoder outputs/real/serving/sky_image_encoder [--seeds 0 1 2]

Every variant is the pipeline's own model builder (trainer/model.py) fitted outside TFX, as the Trainer fits it
(Transform's scaling redone in numpy by benchmarks/bare_keras.py, the Trainer's class weights, early stopping on
eval), on the train split of data/real_multimodal (`make run-real` imports it, split by SDSS field) and scored on
its eval split. No test split is read: what wins here is what `make run-real` trains, and BENCHMARKS.md "Exact
pairs" scores it once on test. The inputs are photometric (no redshift), where the image has the most to add.
"""

from __future__ import annotations

from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np

import contract as c
from benchmarks.common import header, parse, parser, publish
from benchmarks.quality import scores
from ingest import records
from pipeline import configs

TITLE = "Exact pairs: levers, chosen on the eval split"
LONG_EPOCHS = 40  # against configs.EPOCHS (15), with the same early stopping
# name -> (model kind, build() keywords beyond the defaults, encoder use, class-weight rule[, epochs])
BASE = "fusion, frozen encoder, sky symmetries + morphology (the Trainer's default)"
VARIANTS: dict[str, tuple[str, dict, str, str]] = {
    "tabular-only": ("tabular", {}, "none", "sqrt"),
    "fusion, frozen encoder, flips only, no morphology (the recipe before)": (
        "fusion", {"augment": "flips", "morphology": False}, "frozen", "sqrt"),
    "fusion, frozen encoder, sky symmetries, no morphology": ("fusion", {"morphology": False}, "frozen", "sqrt"),
    BASE: ("fusion", {}, "frozen", "sqrt"),
    "fusion, encoder fine-tuned (lr / 3), sky symmetries + morphology": ("fusion", {}, "tuned", "sqrt"),
    "fusion, CNN from scratch, sky symmetries + morphology": ("fusion", {}, "none", "sqrt"),
    "fusion (default), balanced class weights": ("fusion", {}, "frozen", "balanced"),
    "fusion (default), no class weights": ("fusion", {}, "frozen", "none"),
    f"fusion (default), {LONG_EPOCHS} epochs": ("fusion", {}, "frozen", "sqrt", LONG_EPOCHS),
    f"tabular-only, {LONG_EPOCHS} epochs": ("tabular", {}, "none", "sqrt", LONG_EPOCHS),
    "fusion (default), tabular branch 128-64": ("fusion", {"tabular_units": (128, 64)}, "frozen", "sqrt"),
    "tabular-only, 128-64": ("tabular", {"tabular_units": (128, 64)}, "none", "sqrt"),
    "fusion (default), tabular branch 256-128-64": ("fusion", {"tabular_units": (256, 128, 64)}, "frozen", "sqrt"),
}
ENSEMBLE = f"{BASE}: mean probabilities of the seeds"
WITH_TRAIN_IMAGES = f"{BASE}, encoder also trained on the exact pairs' train images"


def encoder_with_train_images(cutouts: Path, pairs: Path, work: Path, seed: int) -> str:
    """An encoder trained as `make encoder` trains it, on the real cutouts plus the exact pairs' train-split images
    (image-only records; the pairs' eval and test images stay out, as they do of the cutouts)."""
    from benchmarks.common import timed
    from components.serving_layout import latest_version
    from ingest.provenance import IMPORT_SUMMARY
    from runners.local.workspace import Workspace

    data = work / "data"
    seen = set()
    with records.SplitWriter(data) as w:
        for s in c.SPLITS:
            for o in records.read_split(cutouts, s):
                seen.add(o.objid)
                w.write(o, split=s)
        for o in records.read_split(pairs, "train"):
            if o.objid not in seen:
                w.write(records.image_only(o.objid, o.image_jpeg, o.label), split="train")
    (data / IMPORT_SUMMARY).write_text((cutouts / IMPORT_SUMMARY).read_text())  # image-only records: the encoder
    run = timed(Workspace(work).command(str(data), "--model", "image", "--seed", str(seed)))
    if run.returncode != 0:
        raise SystemExit(f"encoder run failed:\n{run.output[-3000:]}")
    return latest_version(str(Workspace(work).serving_dir / configs.ENCODER_MODEL_NAME))


def weights(label_ids: np.ndarray, rule: str) -> dict[int, float] | None:
    """Class weights by rule: "sqrt" (the Trainer's: the square root of balanced), "balanced", or "none"."""
    from trainer.model import class_weights_from_counts

    if rule == "none":
        return None
    sqrt = class_weights_from_counts(np.bincount(label_ids, minlength=len(c.CLASS_NAMES)))
    return sqrt if rule.startswith("sqrt") else {k: w * w for k, w in sqrt.items()}


def fit(split: dict, variant: tuple, seed: int, encoder_dir: str, epochs: int, inputs: str) -> np.ndarray:
    """Eval-split probabilities of one variant and seed."""
    import tensorflow as tf

    from benchmarks.bare_keras import dataset, fit_scaling, for_inputs, scaled_inputs
    from trainer import model as model_lib

    kind, extra, encoder_use, rule = variant[:4]
    epochs = variant[4] if len(variant) > 4 else epochs
    tf.keras.utils.set_random_seed(seed)
    mean, std = fit_scaling(for_inputs(scaled_inputs(split["train"]), inputs))
    train, val = (dataset(split[s], mean, std, kind, s == "train", seed, inputs) for s in c.PIPELINE_SPLITS)
    encoder = model_lib.load_encoder(encoder_dir) if encoder_use != "none" else None
    lr = configs.LEARNING_RATE / (3 if encoder_use == "tuned" else 1)
    model = model_lib.build(kind, lr, encoder=encoder, encoder_trainable=encoder_use == "tuned", inputs=inputs,
                            **extra)
    labels = np.array([c.CLASS_NAMES.index(o.label) for o in split["train"]])
    model.fit(train, validation_data=val, epochs=epochs, verbose=0, class_weight=weights(labels, rule),
              callbacks=[tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=configs.PATIENCE,
                                                          restore_best_weights=True)])
    return model.predict(val, verbose=0)


def score(probs: np.ndarray, val: list[records.SkyObject]) -> dict[str, float]:
    s = scores([o.label for o in val], [c.CLASS_NAMES[k] for k in probs.argmax(axis=1)])
    p, r = s["QSO P"], s["QSO R"]
    return {"accuracy": s["accuracy"], "macro-F1": s["macro_f1"], "QSO F1": 2 * p * r / (p + r) if p + r else 0.0,
            "GALAXY R": s["GALAXY R"], "QSO P": p, "QSO R": r}


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--data-dir", default="data/real_multimodal", help="real_multimodal records, split by field")
    p.add_argument("--image-encoder", required=True, help="the pushed encoder from `make encoder`")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--inputs", choices=list(c.INPUTS), default=c.PHOTOMETRIC)
    p.add_argument("--limit", type=int, help="first N objects per split only (smoke tests)")
    p.add_argument("--title", default=TITLE, help="the BENCHMARKS.md section to (re)write")
    p.add_argument("--with-train-images", metavar="CUTOUT_RECORDS",
                   help="also train an encoder on these image-only records (data/real_cutouts) plus the exact pairs' "
                        "train images, and score the default fusion variant on it")
    args = parse(p, argv)
    from pipeline.run_config import resolve_encoder

    encoder = resolve_encoder(args.image_encoder)
    split = {s: list(records.read_split(Path(args.data_dir), s))[: args.limit] for s in c.PIPELINE_SPLITS}
    if not split["train"] or not split["eval"]:
        raise SystemExit(f"no train/eval records in {args.data_dir}: `make data/real_multimodal/.done` imports them")
    val = split["eval"]
    results: dict[str, list[dict[str, float]]] = {}
    base_probs = []
    for name in args.variants:
        for seed in args.seeds:
            probs = fit(split, VARIANTS[name], seed, encoder, args.epochs, args.inputs)
            results.setdefault(name, []).append(score(probs, val))
            if name == BASE:
                base_probs.append(probs)
            print(name, seed, results[name][-1], flush=True)
    if len(base_probs) > 1:
        results[ENSEMBLE] = [score(np.mean(base_probs, axis=0), val)]
    if args.with_train_images:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-levers-encoder-") as tmp:
            wider = encoder_with_train_images(Path(args.with_train_images), Path(args.data_dir), Path(tmp),
                                              args.seeds[0])
            for seed in args.seeds:
                probs = fit(split, VARIANTS[BASE], seed, wider, args.epochs, args.inputs)
                results.setdefault(WITH_TRAIN_IMAGES, []).append(score(probs, val))
                print(WITH_TRAIN_IMAGES, seed, results[WITH_TRAIN_IMAGES][-1], flush=True)
    cols = ["accuracy", "macro-F1", "QSO F1", "GALAXY R", "QSO P", "QSO R"]
    rows = [f"| {name} | {len(runs)} | " + " | ".join(
        f"{np.mean([r[k] for r in runs]):.4f} ± {np.std([r[k] for r in runs]):.4f}" for k in cols) + " |"
        for name, runs in results.items()]
    mix = ", ".join(f"{sum(o.label == n for o in val)} {n}" for n in c.CLASS_NAMES)
    body = (header(args.command) + f"\nEval split of the exact pairs ({len(val)} objects: {mix}; REAL photometry, "
            f"each object's OWN REAL cutout, split by SDSS field); {args.inputs} inputs; train "
            f"{len(split['train'])}. Mean ± std over seeds {args.seeds}. No test split is read.\n\n"
            f"| variant | seeds | {' | '.join(cols)} |\n|" + "---|" * (len(cols) + 2) + "\n" + "\n".join(rows) + "\n")
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
