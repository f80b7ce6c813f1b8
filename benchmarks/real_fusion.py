"""Fusion on real pixels: the real pairs (DR14 photometry + real SDSS cutouts), against tabular-only and
gradient boosting, on the pairs' own objid-hash test split.

    python -m benchmarks.real_fusion --pairs ../shared/data/real_pairs --image-encoder SAVED_MODEL [--seeds 0 1 2]

Data: `python -m ingest import` of pairs.csv with its cutouts at 0.4"/px, split
by the importer's objid hash (no object in two splits). "pairs + simulated"
adds, to the training split only, the DR14 rows that have no real cutout,
with cutouts rendered by the (calibrated) simulator; eval and test stay the
real pairs. The image encoder is an image-only model that the pipeline
trained on the real cutouts (`make encoder`); no pair's object is among them.
Every network is a `pipeline/run_local.py` run scored through its serving
signature; HistGradientBoosting and RandomForest get the same 6 raw features.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import pandas as pd

from benchmarks.common import parse, parser, publish
from benchmarks.quality import classic, network, render
from ingest import contract as c
from ingest import records
from ingest.provenance import IMPORT_SUMMARY
from pipeline import configs

TITLE = "Real cutouts: fusion on real pairs"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIRS_SCALE = 0.4
TARGETS = "fusion at least tabular-only on the same objects; goal HistGradientBoosting + 0.01"
# name -> (data set, model kind, extra run_local flags; {enc} is the encoder path)
VARIANTS = {
    "tabular (pairs)": ("pairs", "tabular", ()),
    "fusion, CNN from scratch (pairs)": ("pairs", "fusion", ()),
    "fusion, real-pixel encoder frozen (pairs)": ("pairs", "fusion", ("--image-encoder", "{enc}")),
    "fusion, real-pixel encoder fine-tuned (pairs)": ("pairs", "fusion", ("--image-encoder", "{enc}",
                                                                          "--fine-tune-encoder")),
    "tabular (pairs + simulated)": ("mixed", "tabular", ()),
    "fusion, real-pixel encoder frozen (pairs + simulated)": ("mixed", "fusion", ("--image-encoder", "{enc}")),
}


def tables(dr14_csv: Path, pairs_csv: Path, out: Path, limit: int | None) -> tuple[Path, Path]:
    """(the pairs, the DR14 rows that no pair covers, matched on the exact ra/dec) as CSVs.

    `limit` keeps about that many rows of each, the first limit/3 of every class, so that a small slice still has
    every class in its eval split (the run's preflight refuses an eval split without one)."""
    dr14, pairs = pd.read_csv(dr14_csv), pd.read_csv(pairs_csv)
    key = lambda df: df["ra"].round(6).astype(str) + df["dec"].round(6).astype(str)  # noqa: E731
    rest = dr14[~key(dr14).isin(set(key(pairs)))]
    paths = (out / "pairs.csv", out / "dr14_without_cutout.csv")
    for df, path in zip((pairs, rest), paths):
        kept = df if limit is None else df.groupby("class", sort=False).head(-(-limit // 3)).head(limit)
        kept.to_csv(path, index=False)
    return paths


def build_data(pairs_dir: Path, dr14_csv: Path, work: Path, limit: int | None = None,
               mixed: bool = True) -> dict[str, dict[str, list[records.SkyObject]]]:
    """"pairs" (and, with `mixed`, "mixed": the pairs plus DR14 rows with simulated cutouts in train), written as
    pipeline records under <work>/<name>/data."""
    from ingest.skyserver_import import import_export

    pairs_csv, rest_csv = tables(dr14_csv, pairs_dir / "pairs.csv", work, limit)
    pairs_out = work / "pairs_imported"
    import_export(str(pairs_csv), str(pairs_dir / "images"), str(pairs_out), cutout_scale=PAIRS_SCALE)
    pairs = {s: list(records.read_split(pairs_out, s)) for s in c.SPLITS}
    if not mixed:
        _write(pairs, work / "pairs" / "data", pairs_out)
        return {"pairs": pairs}
    sim_out = work / "sim_imported"
    import_export(str(rest_csv), None, str(sim_out), simulate_missing_images=True, fractions=(1.0, 0.0, 0.0))
    simulated = list(records.read_split(sim_out, "train"))
    sets = {"pairs": pairs, "mixed": {**pairs, "train": pairs["train"] + simulated}}
    for name, split in sets.items():
        _write(split, work / name / "data", pairs_out if name == "pairs" else sim_out)
    return sets


def _write(split: dict[str, list[records.SkyObject]], data: Path, imported: Path) -> None:
    with records.SplitWriter(data) as w:
        for s, objs in split.items():
            for o in objs:
                w.write(o, split=s)
    shutil.copy(imported / IMPORT_SUMMARY, data / IMPORT_SUMMARY)


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__, epochs=configs.EPOCHS)
    p.add_argument("--pairs", default=str(SHARED / "real_pairs"))
    p.add_argument("--dr14", default=str(SHARED / "sdss_dr14_10k.csv"))
    p.add_argument("--image-encoder", required=True, help="a pushed image model trained on real cutouts")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--limit", type=int, help="use only the first N pairs and N other DR14 rows (smoke tests)")
    p.add_argument("--title", default=TITLE, help="the BENCHMARKS.md section to (re)write")
    args = parse(p, argv)
    per_model: dict[str, list[dict[str, float]]] = {}
    encoder = str(Path(args.image_encoder).resolve())
    with tempfile.TemporaryDirectory(prefix="bench-real-fusion-") as tmp:
        work = Path(tmp)
        sets = build_data(Path(args.pairs), Path(args.dr14), work, args.limit)
        test = sets["pairs"]["test"]
        for seed in args.seeds:
            for name in args.variants:
                data, kind, extra = VARIANTS[name]
                flags = [x.format(enc=encoder) for x in extra]
                per_model.setdefault(name, []).append(network(kind, seed, args.epochs, work / data, test, *flags))
                print(name, seed, per_model[name][-1], flush=True)
            for data in ("pairs", "mixed"):
                label = "pairs" if data == "pairs" else "pairs + simulated"
                for model, s in classic(sets[data], seed).items():
                    per_model.setdefault(f"{model} ({label})", []).append(s)
        n_train = {k: len(v["train"]) for k, v in sets.items()}
    note = (f"Test: the real pairs' objid-hash test split, {len(test)} objects with REAL DR14 photometry and REAL "
            "SDSS cutouts (each the object's own in most cases, else a same-class neighbour's; see "
            f"../shared/data/README.md). Train: {n_train['pairs']} real pairs, or those plus "
            f"{n_train['mixed'] - n_train['pairs']} DR14 rows with SIMULATED cutouts. Mean ± std over seeds.")
    body = render(per_model, len(test), args.command, note, TARGETS)
    return publish(args.title, body, args)

if __name__ == "__main__":
    main()
