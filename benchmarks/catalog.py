"""The catalogue job at scale: objects/s, CPU per object and peak memory for growing unlabelled catalogues.

    python -m benchmarks.catalog --model-dir outputs/serving/sky_classifier/<version> [--sizes 10000 100000 1000000]

Each catalogue is N simulated objects (photometry drawn from the DR14-calibrated model, no redshift, no class)
written as gzip TFRecords. Rendering a million GalSim cutouts would take hours on 2 cores, so cutouts are
rendered for a pool of --pool objects and each object takes one of its class's pool cutouts: the model's work
per object is the same, the pixels repeat. Each size is one `sdss-classify-catalog --records` run on the
in-process Beam runner, timed from outside (wall, CPU, peak RSS of the whole process).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import contract as c
from benchmarks.common import header, parse, parser, publish, timed

TITLE = "Catalogue classification at scale"
SHARD = 100_000
# Dataflow list prices assumed for the estimate (batch, us-central1, per hour); check the current price list.
VCPU_HOUR_USD = 0.056
GB_HOUR_USD = 0.003557
GB_PER_VCPU = 3.75  # n1-standard machines


def build(n: int, pool: int, out: Path, seed: int = 0) -> None:
    """N unlabelled records without redshift, in shards of SHARD; cutouts from a rendered pool, by class."""
    import tensorflow as tf

    from ingest.records import SkyObject, to_example
    from simulator.simulate import render_cutouts, sample_catalogue

    objids, ra, dec, labels, mags, z = sample_catalogue(n, seed)
    k = min(pool, n)
    jpegs = render_cutouts(labels[:k], mags[:k], z[:k], seed)
    by_class = {name: [j for j, lab in zip(jpegs, labels[:k]) if lab == name] for name in c.CLASS_NAMES}
    out.mkdir(parents=True)
    writer = None
    for i in range(n):
        if i % SHARD == 0:
            if writer:
                writer.close()
            writer = tf.io.TFRecordWriter(str(out / f"part-{i // SHARD:05d}.tfrecord.gz"), options="GZIP")
        same = by_class[str(labels[i])]
        obj = SkyObject(f"cat{seed}-{i:09d}", float(ra[i]), float(dec[i]),
                        {b: float(mags[i, j]) for j, b in enumerate(c.BANDS)}, float("nan"), same[i % len(same)], "")
        ex = to_example(obj)
        del ex.features.feature[c.LABEL]
        writer.write(ex.SerializeToString())
    writer.close()


def measure(n: int, pool: int, model_dir: str, work: Path) -> dict[str, float]:
    data, out = work / f"catalogue_{n}", work / f"classified_{n}"
    build(n, pool, data)
    run = timed([sys.executable, "-m", "inference.catalog", "--records", str(data / "*.tfrecord.gz"),
                 "--model-dir", model_dir, "--out", str(out)])
    if run.returncode != 0:
        raise SystemExit(f"catalogue run on {n} objects failed:\n{run.output[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["written"] == n, summary
    size_mb = sum(f.stat().st_size for f in data.glob("*")) / 2**20
    return {"n": n, "wall_s": run.wall_s, "job_s": summary["seconds"], "cpu_s": run.cpu_s,
            "rss_mb": run.peak_rss_mb, "input_mb": size_mb}


def on_paper(per_object_cpu_s: float) -> str:
    """Time and cost on Dataflow from the measured CPU per object (no measurement there: an estimate)."""
    rows = []
    for n, label in ((111_000_000, "111 million (SDSS photometric, Clarke et al.)"), (1_000_000_000, "1 billion")):
        vcpu_h = n * per_object_cpu_s / 3600
        cost = vcpu_h * (VCPU_HOUR_USD + GB_PER_VCPU * GB_HOUR_USD)
        rows.append(f"| {label} | {vcpu_h:,.0f} | {vcpu_h / 100:,.1f} h | {vcpu_h / 1000:,.1f} h | ${cost:,.0f} |")
    return ("| objects | vCPU-hours | wall on 100 vCPUs | wall on 1,000 vCPUs | cost (vCPU + memory) |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--model-dir", required=True, help="a pushed model version (a photometric one needs no redshift)")
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--pool", type=int, default=3000, help="objects whose cutouts are rendered (and reused)")
    args = parse(p, argv)
    from evaluation import model_info

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        for n in args.sizes:
            rows.append(measure(n, args.pool, str(Path(args.model_dir).resolve()), Path(tmp)))
            print(rows[-1], flush=True)
    table = ("| objects | input (MB) | wall (s) | job (s) | objects/s (job) | CPU s per 1,000 objects "
             "| peak RSS (MB) |\n|---|---|---|---|---|---|---|\n"
             + "\n".join(f"| {r['n']:,} | {r['input_mb']:,.0f} | {r['wall_s']:.0f} | {r['job_s']:.0f} | "
                         f"{r['n'] / r['job_s']:,.0f} | {1000 * r['cpu_s'] / r['n']:.2f} | {r['rss_mb']:,.0f} |"
                         for r in rows) + "\n")
    largest = rows[-1]
    per_object = largest["cpu_s"] / largest["n"]
    body = (header(args.command)
            + f"- model: {model_info.describe(model_info.load(args.model_dir))}\n\n"
            "SIMULATED objects (photometry from the DR14-calibrated model; cutouts rendered for a pool of "
            f"{args.pool} and reused within each class), no redshift, no class; one `sdss-classify-catalog "
            "--records` run per size on the in-process Beam runner (2 cores). Wall includes starting Python and "
            "TensorFlow; job is the Beam pipeline alone (summary.json).\n\n" + table
            + "\nPeak memory against size: " + ", ".join(f"{r['rss_mb']:,.0f} MB" for r in rows) + " for "
            + ", ".join(f"{r['n']:,}" for r in rows) + " objects.\n\n"
            + f"On paper, from the largest run's CPU ({1000 * per_object:.2f} CPU-seconds per 1,000 objects, "
            f"start-up included), at Dataflow list prices assumed at ${VCPU_HOUR_USD}/vCPU-hour and "
            f"${GB_HOUR_USD}/GB-hour with {GB_PER_VCPU} GB per vCPU (n1-standard); not measured there, and "
            "without Dataflow's own overhead, reading from GCS, or shuffle:\n\n" + on_paper(per_object))
    return publish(TITLE, body, args)


if __name__ == "__main__":
    main()
