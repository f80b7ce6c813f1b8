"""Classifies objects with the latest pushed model, through its raw-feature serving signature.

    sdss-predict --csv rows.csv --images cutouts/ [--out predictions.csv]
    sdss-predict --u 19.2 --g 18.9 --r 18.7 --i 18.6 --z 18.5 --redshift 1.3 --image obj.jpg

The CSV takes SkyServer's column names (u g r i z, redshift unless the model
is photometric, optional objid, ra, dec, class); cutouts are found as <objid>, J<ra><dec> (the import key)
or row<N>, with .jpg/.jpeg/.png. A bad row gets its own error naming the line
and field; the other rows are still predicted. Exit status 0 when every row
was predicted, 3 when some rows failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import runtime_env  # the process environment, before TensorFlow loads

import contract as c
from inference.inputs import ToClassify, iter_csv
from inference.model import FEATURES, classify, load_model, model_dir_for, model_features
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from ingest.rows import Reject, RowRejected, load_cutout, parse_features
from pipeline import configs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", help="SkyServer-style export: u,g,r,i,z,redshift (+ objid, ra, dec, class)")
    p.add_argument("--images", help="folder of cutouts for --csv")
    for name in FEATURES:
        p.add_argument(f"--{name}", help=f"{name} of one object (instead of --csv)")
    p.add_argument("--image", help="cutout file of one object (instead of --csv)")
    p.add_argument("--cutout-scale", type=float, default=SKYSERVER_SCALE_ARCSEC, metavar="ARCSEC_PER_PX",
                   help="pixel scale of the cutout files (0.396 SkyServer default; 0.4 for the shared real cutouts)")
    p.add_argument("--model-dir", help="a SavedModel; default: the latest version under --serving-dir")
    p.add_argument("--inputs", choices=tuple(c.INPUTS), default=configs.INPUTS,
                   help="without --model-dir: the spectroscopic model (sky_classifier) or the photometric one "
                        "(sky_classifier_photometric, no redshift needed)")
    p.add_argument("--serving-dir", default=str(configs.SERVING_DIR))
    p.add_argument("--out", help="also write predictions (and per-row errors) to this CSV")
    return p.parse_args(argv)


def load_csv(csv_path: Path, images: Path | None, cutout_scale: float = SKYSERVER_SCALE_ARCSEC,
             features: tuple[str, ...] = FEATURES) -> list[ToClassify]:
    return list(iter_csv(csv_path, images, cutout_scale, features))


def load_single(args: argparse.Namespace, features: tuple[str, ...] = FEATURES) -> list[ToClassify]:
    values = {name: getattr(args, name) or "" for name in FEATURES}
    row = ToClassify(line=0, key=Path(args.image).stem if args.image else "object", where="command line")
    try:
        row.mags, row.redshift = parse_features(values, redshift=c.REDSHIFT in features)
        if not args.image or not Path(args.image).is_file():
            raise RowRejected("no_image", c.IMAGE, f"image file not found: {args.image}")
        row.image_jpeg = load_cutout(Path(args.image), args.cutout_scale)
    except RowRejected as r:
        row.reject = Reject.of(row.where, r)
    return [row]


def predict(model: object, rows: list[ToClassify]) -> tuple[dict[int, list[float]], dict[int, list[str]]]:
    """Row index -> class probabilities, and row index -> inputs outside the training ranges (rows without error)."""
    good = [k for k, r in enumerate(rows) if r.reject is None]
    answers = classify(model, [rows[k].obj() for k in good]) if good else []
    return ({k: list(map(float, p)) for k, (p, _) in zip(good, answers)},
            {k: outside for k, (_, outside) in zip(good, answers) if outside})


def main(argv: list[str] | None = None) -> int:
    runtime_env.quiet_tensorflow()
    args = parse_args(argv)
    single = any(getattr(args, name) is not None for name in FEATURES) or args.image
    if bool(args.csv) == bool(single):
        print("error: give either --csv (with --images) or one object's values and --image", file=sys.stderr)
        return 2
    try:
        model_dir = model_dir_for(args.model_dir, args.serving_dir, args.inputs)
        model = load_model(model_dir)
        features = model_features(model)
        rows = (load_csv(Path(args.csv), Path(args.images) if args.images else None, args.cutout_scale, features)
                if args.csv else load_single(args, features))
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    probs, outside = predict(model, rows)
    from evaluation import model_info

    print(f"model: {model_dir}\n{model_info.describe(model_info.load(model_dir))}")
    print(f"{'line':>5}  {'key':<24} {'class':<7} " + " ".join(f"P({n})".rjust(10) for n in c.CLASS_NAMES))
    names = {k: c.CLASS_NAMES[max(range(len(p)), key=p.__getitem__)] for k, p in probs.items()}
    for k, row in enumerate(rows):
        if row.error:
            print(f"error: {row.error}", file=sys.stderr)
            continue
        p, name = probs[k], names[k]
        truth = f"  (catalogue: {row.label})" if row.label else ""
        flag = f"  [outside training range: {', '.join(outside[k])}]" if outside.get(k) else ""
        print(f"{row.line:>5}  {row.key:<24} {name:<7} " + " ".join(f"{v:10.4f}" for v in p) + truth + flag)
    failed = sum(1 for r in rows if r.error)
    print(f"read {len(rows)}, predicted {len(rows) - failed}, failed {failed}")
    n_outside = sum(1 for names_out in outside.values() if names_out)
    if n_outside:
        print(f"{n_outside} predicted row(s) lie outside the training data's range in some feature: "
              "the model extrapolates there, so treat those classes with care")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["line", "key", "predicted", *(f"p_{n}" for n in c.CLASS_NAMES), "catalogue_class",
                        c.OUTSIDE_TRAINING_RANGE, "error"])
            for k, row in enumerate(rows):
                p = probs.get(k)
                cells = [f"{v:.6f}" for v in p] if p else [""] * len(c.CLASS_NAMES)
                w.writerow([row.line, row.key, names.get(k, ""), *cells, row.label, " ".join(outside.get(k, [])),
                            row.error])
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
