"""`python -m ingest simulate|import|cutouts|download ...` (or `sdss-ingest ...`): the ways to make pipeline records."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import contract as c
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from ingest.import_report import SPLIT_BY


def _report(run: Callable[[], Any]) -> int:
    """Runs an import and prints its accounting; exit 2 naming the file and what is wrong, 1 if nothing was accepted."""
    try:
        report = run()
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report.line())
    for note in report.notes:
        print(f"note: {note}")
    print("splits: " + " ".join(f"{k}={v}" for k, v in report.splits.items()) + f"; rejects: {report.rejects_path}")
    if report.read == 0:
        print("error: the file has a header but no data rows; nothing to import", file=sys.stderr)
        return 1
    if report.written == 0:
        print(f"error: no row was accepted ({report.read} read); the reasons are in {report.rejects_path}, e.g.:",
              file=sys.stderr)
        for reason, detail in _first_of_each_reason(report.rejects_path).items():
            print(f"  {reason}: {detail}", file=sys.stderr)
        return 1
    return 0


def _first_of_each_reason(rejects_csv: str) -> dict[str, str]:
    import csv

    first: dict[str, str] = {}
    with open(rejects_csv, newline="") as f:
        for row in csv.DictReader(f):
            first.setdefault(row["reason"], row["detail"])
    return first


def _output_args(p: argparse.ArgumentParser) -> None:
    """What both imports share: where records go, the cutouts' pixel scale, the split fractions."""
    p.add_argument("--out", required=True, help="records folder; written whole or not at all")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out whole (never merged)")
    p.add_argument("--cutout-scale", type=float, default=SKYSERVER_SCALE_ARCSEC, metavar="ARCSEC_PER_PX",
                   help="pixel scale of the cutout files (SkyServer's default 0.396; the shared real cutouts are 0.4); "
                        "each is centre-cropped to the contract's 25.3\" field and resampled to 64 px")
    p.add_argument("--splits", type=float, nargs=3, default=c.DEFAULT_SPLIT_FRACTIONS,
                   metavar=("TRAIN", "EVAL", "TEST"))
    p.add_argument("--split-by", choices=SPLIT_BY, default=SPLIT_BY[0],
                   help="hash each object into a split (default), or each SDSS field (run, camcol, field: from those "
                        "columns or an exact objid), so objects sharing seeing, sky and neighbours stay together")


def _import(argv: list[str]) -> int:
    from ingest.skyserver_import import __doc__ as doc
    from ingest.skyserver_import import import_export

    p = argparse.ArgumentParser(prog="python -m ingest import", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", dest="csv", help="the catalogue: a FITS binary table (.fits, .fit, .fits.gz), a "
                     "VOTable (.vot, .xml), ECSV (.ecsv) or CSV, by extension")
    src.add_argument("--csv", help="the same (any of those formats): a SkyServer SQL export")
    p.add_argument("--images", default=None, help="folder of cutouts named by objid, J<ra><dec> key or row<N>")
    p.add_argument("--simulate-missing-images", action="store_true",
                   help="render a GalSim cutout from the photometry where no image file exists")
    p.add_argument("--seed", type=int, default=0, help="seed for simulated cutouts")
    _output_args(p)
    args = p.parse_args(argv)
    return _report(lambda: import_export(args.csv, args.images, args.out, args.simulate_missing_images, args.seed,
                                         args.splits, args.cutout_scale, args.overwrite, args.split_by))


def _cutouts(argv: list[str]) -> int:
    from ingest.labelled_cutouts import __doc__ as doc
    from ingest.labelled_cutouts import import_cutouts

    p = argparse.ArgumentParser(prog="python -m ingest cutouts", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--labels", required=True, help="CSV with objid and class columns")
    p.add_argument("--images", required=True, help="folder of <objid>.jpg cutouts")
    p.add_argument("--per-class", type=int, default=None, help="keep only the first N rows of each class")
    p.add_argument("--held-out", metavar="RECORDS_DIR",
                   help="a multimodal records folder: refuse every cutout in its eval or test split (rejects.csv says "
                        "so), so a fusion model on this encoder is never chosen or scored on an image it has seen")
    _output_args(p)
    args = p.parse_args(argv)
    return _report(lambda: import_cutouts(args.labels, args.images, args.out, args.cutout_scale, args.per_class,
                                          tuple(args.splits), args.overwrite, args.split_by, args.held_out))


def _download(argv: list[str]) -> int:
    from ingest.download import DEFAULT_BASE_URL, Fetcher, download
    from ingest.download import __doc__ as doc

    p = argparse.ArgumentParser(prog="python -m ingest download", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--out", required=True, help="records folder; written whole or not at all")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out whole (never merged)")
    p.add_argument("--mix", choices=("dr", "balanced"), default="dr")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL)
    p.add_argument("--rate", type=float, default=2.0, help="requests per second at most")
    p.add_argument("--retries", type=int, default=5)
    args = p.parse_args(argv)
    counts = download(args.n, args.out, args.base_url, args.mix,
                      Fetcher(min_interval_s=1.0 / args.rate, max_retries=args.retries))
    print(f"cutouts: fetched {counts['fetched']}, already on disk {counts['skipped']}, failed {counts['failed']}")
    print(f"next: python -m ingest import --csv {args.out}/export.csv --images {args.out}/images --out <records dir>")
    return 1 if counts["failed"] else 0


def _simulate(argv: list[str]) -> int:
    from ingest.staging import OutputExists
    from simulator.simulate import main as simulate_main

    try:
        simulate_main(argv)
    except OutputExists as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def main() -> int:
    commands = {"simulate": _simulate, "import": _import, "cutouts": _cutouts, "download": _download}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(f"usage: python -m ingest {{{'|'.join(commands)}}} [--help]", file=sys.stderr)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
