"""The forest head's choices, made on the eval split of the exact pairs: its inputs, its size, and whether the image
columns are cross-fitted heads or the frozen encoder's own outputs.

    python -m benchmarks.forest_levers --image-encoder outputs/real/serving/sky_image_encoder [--seeds 0 1]

Every variant is the Trainer's own code (trainer/forest.py: the encoder heads, the cross-fitting, the TF-DF trees),
fitted outside TFX on the train split of data/real_multimodal (`make run-real` imports it, split by SDSS field) and
scored on its eval split. Trees need no scaling, so they read the raw magnitudes and colours (and the redshift in the
spectroscopic mode), which orders rows exactly as Transform's z-scores do. No test split is read: what wins here is
what the Trainer does, and BENCHMARKS.md "Exact pairs, forest head" scores it once on test.
"""

from __future__ import annotations

from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np

import contract as c
from benchmarks.common import header, parse, parser, publish
from benchmarks.photometric import f1
from benchmarks.quality import photometric_tree_features, scores, tree_features
from ingest import records
from pipeline import configs

TITLE = "Exact pairs, forest head: levers, chosen on the eval split"
DEFAULT = "photometry + morphology + cross-fitted encoder heads (the Trainer's default)"
# name -> (image columns: none | morphology | heads | encoder, forest size overrides)
VARIANTS: dict[str, tuple[str, dict]] = {
    "photometry alone": ("none", {}),
    "photometry + morphology": ("morphology", {}),
    DEFAULT: ("heads", {}),
    "photometry + morphology + the frozen encoder's own log-probabilities (no cross-fitting)": ("encoder", {}),
    "default inputs, 600 rounds of depth 4, shrinkage 0.05": ("heads", {"num_trees": 600, "max_depth": 4,
                                                                        "shrinkage": 0.05}),
    "default inputs, depth 8": ("heads", {"max_depth": 8}),
    # HistGradientBoosting's shape, where TF-DF's learner trailed it on the same columns (0.9717 against 0.9766):
    "default inputs, at least 20 rows a leaf": ("heads", {"min_examples": 20}),
    "default inputs, 255-bin histograms": ("heads", {"discretize_numerical_features": True}),
    "default inputs, HGB's shape: best-first, 31 leaves, 20 rows a leaf, 255 bins": (
        "heads", {"growing_strategy": "BEST_FIRST_GLOBAL", "max_num_nodes": 61, "max_depth": -1, "min_examples": 20,
                  "discretize_numerical_features": True}),
}


def _dataset(objs: list[records.SkyObject]):
    import tensorflow as tf

    from trainer import features as f

    labels = np.array([c.CLASS_NAMES.index(o.label) for o in objs])
    return tf.data.Dataset.from_tensor_slices(
        ({f.IMAGE_XF: tf.constant([[o.image_jpeg] for o in objs])}, labels[:, None])).batch(256)


def image_columns(split: dict, encoder_dir: str, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Per split: the morphology, the cross-fitted heads' log-probabilities (out of fold on train, their mean on
    eval, as the Trainer makes them) and the frozen encoder's own log-probabilities."""
    import tensorflow as tf

    from benchmarks.exact_pairs import morphology
    from trainer import crossfit, forest
    from trainer import model as model_lib
    from trainer.features import IMAGE_XF
    from trainer.image_ops import to_pixels

    tf.keras.utils.set_random_seed(seed)
    encoder = model_lib.load_encoder(encoder_dir)
    whole = tf.keras.models.load_model(encoder_dir, compile=False)
    labels = np.array([c.CLASS_NAMES.index(o.label) for o in split["train"]])
    weights = model_lib.class_weights_from_counts(np.bincount(labels, minlength=len(c.CLASS_NAMES)))
    path = forest.fit_encoder_heads(encoder, _dataset(split["train"]), _dataset(split["eval"]), configs.EPOCHS,
                                    configs.PATIENCE, weights)
    out: dict[str, dict[str, np.ndarray]] = {}
    for s in ("train", "eval"):
        jpeg = tf.constant([o.image_jpeg for o in split[s]])
        per_model, own = [], []
        for k in range(0, len(split[s]), 256):
            pixels = to_pixels(jpeg[k:k + 256])
            z = encoder(pixels, training=False)
            per_model.append(np.stack([h(z, training=False).numpy() for h in path.heads]))
            own.append(whole({IMAGE_XF: pixels}, training=False).numpy())
        per = np.concatenate(per_model, axis=1)
        probs = (crossfit.out_of_fold(per, crossfit.fold_ids(jpeg).numpy()) if s == "train"
                 else crossfit.served(per))
        out[s] = {"morphology": morphology(split[s]), "heads": np.log(np.maximum(probs, forest.LOGP_FLOOR)),
                  "encoder": np.log(np.maximum(np.concatenate(own), forest.LOGP_FLOOR))}
    return out


def table(objs: list[records.SkyObject], mode: str, image: dict[str, np.ndarray], use: str):
    from trainer import forest

    base = photometric_tree_features(objs) if mode == c.PHOTOMETRIC else tree_features(objs)
    parts = [base] + ([image["morphology"]] if use != "none" else []) + ([image[use]] if use in ("heads", "encoder")
                                                                          else [])
    x = np.hstack(parts).astype(np.float32)
    labels = np.array([c.CLASS_NAMES.index(o.label) for o in objs])
    return forest.Table({f"x{k}": x[:, k] for k in range(x.shape[1])}, labels, np.zeros(len(objs), np.int64))


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--data-dir", default="data/real_multimodal", help="real_multimodal records, split by field")
    p.add_argument("--image-encoder", required=True, help="the pushed encoder from `make encoder`")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--modes", nargs="+", default=[c.PHOTOMETRIC, c.SPECTROSCOPIC], choices=list(c.INPUTS))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--limit", type=int, help="only the first N objects of each split (smoke tests)")
    args = parse(p, argv)
    import tensorflow as tf

    from pipeline.run_config import resolve_encoder
    from trainer import forest

    encoder = resolve_encoder(args.image_encoder)
    split = {s: list(records.read_split(Path(args.data_dir), s))[:args.limit] for s in ("train", "eval")}
    per_seed = {seed: image_columns(split, encoder, seed) for seed in args.seeds}
    parts = []
    for mode in args.modes:
        rows = []
        for name in args.variants:
            use, size = VARIANTS[name]
            runs = []
            for seed in args.seeds:
                image = per_seed[seed]
                train, val = (table(split[s], mode, image[s], use) for s in ("train", "eval"))
                gbt = forest.fit_forest(train, val, seed, **size)
                probs = gbt.predict(tf.data.Dataset.from_tensor_slices(val.columns).batch(1024), verbose=0)
                got = scores([o.label for o in split["eval"]], [c.CLASS_NAMES[k] for k in probs.argmax(1)])
                runs.append(got | {"QSO F1": f1(got, "QSO"), "trees": float(gbt.make_inspector().num_trees())})
            cells = [f"{np.mean([r[k] for r in runs]):.4f} ± {np.std([r[k] for r in runs]):.4f}"
                     for k in ("accuracy", "macro_f1", "QSO F1", "QSO P", "QSO R")]
            rows.append(f"| {name} | {len(runs)} | " + " | ".join(cells)
                        + f" | {np.mean([r['trees'] for r in runs]):.0f} |")
            print(mode, rows[-1], flush=True)
        parts.append(f"### {mode.capitalize()} inputs\n\n| variant | seeds | accuracy | macro-F1 | QSO F1 | QSO P | "
                     "QSO R | trees kept |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    n = {s: len(v) for s, v in split.items()}
    mix = ", ".join(f"{sum(o.label == k for o in split['eval'])} {k}" for k in c.CLASS_NAMES)
    note = (f"Eval split of the exact pairs ({n['eval']} objects: {mix}; REAL photometry, each object's OWN REAL "
            f"cutout, split by SDSS field); train {n['train']}. Mean ± std over seeds {args.seeds} (the heads' and "
            f"the trees' seed). The encoder (`{Path(encoder).name}`) never saw a real_multimodal object. No test "
            "split is read.")
    return publish(TITLE, header(args.command) + "\n" + note + "\n\n" + "\n".join(parts), args)


if __name__ == "__main__":
    main()
