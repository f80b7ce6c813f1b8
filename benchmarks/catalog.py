"""The catalogue job at scale, on each engine: objects/s, CPU per object and peak memory per process for growing
unlabelled catalogues; and the cost of a survey-sized run on Dataflow and on Dataproc, from the measured CPU.

    python -m benchmarks.catalog --model-dir outputs/serving/sky_classifier_photometric/<version> \\
        [--sizes 10000 100000 1000000] [--engines beam spark-local spark-cluster]

Each catalogue is N simulated objects (photometry drawn from the DR14-calibrated model, no redshift, no class)
written as gzip TFRecords in shards of --shard objects (the unit either engine parallelises over). Rendering a
million GalSim cutouts would take hours on 2 cores, so cutouts are rendered for a pool of --pool objects and each
object takes one of its class's pool cutouts: the model's work per object is the same, the pixels repeat.

Inputs (--inputs): records, the gzip TFRecords with their contract cutouts inside; fits, the same objects as a FITS
binary table (objid, ra, dec, u..z, as CasJobs writes one) with one `<objid>.jpg` per object in a folder (links to
the pool's files, so the folder holds N names as a user's would), which the job reads, crops and resamples as any
cutout file.

Engines: beam is `sdss-classify-catalog --records` on Beam's in-process runner; spark-local the same with
`--engine spark --master local[2]`; spark-cluster with `--master` a standalone cluster of 2 one-core workers started
on this machine (inference/drivers/spark_cluster.py). CPU is the whole machine's busy CPU time during the run (the
cluster's executors are not the driver's children), so run it on an idle machine. Memory is sampled every 0.25 s
for every process of the job, by role.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import contract as c
from benchmarks.common import header, parse, parser, publish, timed

TITLE = "Catalogue classification at scale"
ENGINES = ("beam", "spark-local", "spark-cluster")
INPUTS = ("records", "fits")
# Dataflow list prices assumed for the estimate (batch, us-central1, per hour); check the current price list.
VCPU_HOUR_USD = 0.056
GB_HOUR_USD = 0.003557
GB_PER_VCPU = 3.75  # n1-standard machines
# Dataproc on Compute Engine: n1-standard-4 on demand (us-central1, $0.19/h, memory included) per vCPU, plus the
# Dataproc fee per vCPU-hour. Assumed; check the current price list.
GCE_VCPU_HOUR_USD = 0.0475
DATAPROC_VCPU_HOUR_USD = 0.010
# Process roles, by a marker in the command line.
ROLES = (("Spark driver JVM", "org.apache.spark.deploy.SparkSubmit"),
         ("Spark executor JVM", "CoarseGrainedExecutorBackend"),
         ("Spark Python worker", "pyspark.daemon"),
         ("Python driver", "inference.catalog"))


def build(n: int, pool: int, out: Path, shard: int, seed: int = 0) -> None:
    """N unlabelled records without redshift, in shards of `shard`; cutouts from a rendered pool, by class."""
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
        if i % shard == 0:
            if writer:
                writer.close()
            writer = tf.io.TFRecordWriter(str(out / f"part-{i // shard:05d}.tfrecord.gz"), options="GZIP")
        same = by_class[str(labels[i])]
        obj = SkyObject(f"cat{seed}-{i:09d}", float(ra[i]), float(dec[i]),
                        {b: float(mags[i, j]) for j, b in enumerate(c.BANDS)}, float("nan"), same[i % len(same)], "")
        ex = to_example(obj)
        del ex.features.feature[c.LABEL]
        writer.write(ex.SerializeToString())
    writer.close()


def build_fits(records_dir: Path, out: Path) -> None:
    """The records' objects as a FITS table and a folder of `<objid>.jpg` links to one file per distinct cutout,
    streamed: neither the table nor the cutouts are held whole."""
    import hashlib

    import numpy as np
    import tensorflow as tf
    from astropy.io import fits

    from ingest.records import from_example

    files = sorted(records_dir.glob("*.tfrecord.gz"))
    n = sum(1 for f in files for _ in tf.data.TFRecordDataset(str(f), compression_type="GZIP"))
    cols = [fits.Column(name=c.OBJID, format="20A"), fits.Column(name=c.RA, format="D", unit="deg"),
            fits.Column(name=c.DEC, format="D", unit="deg"),
            *(fits.Column(name=b, format="E", unit="mag") for b in c.BANDS)]
    hdu = fits.BinTableHDU.from_columns(cols, nrows=n)
    (out / "cutouts").mkdir(parents=True)
    (out / "pool").mkdir()
    k = 0
    for f in files:
        for serialized in tf.data.TFRecordDataset(str(f), compression_type="GZIP").as_numpy_iterator():
            o = from_example(serialized)
            hdu.data[k] = (o.objid, o.ra, o.dec, *(o.mags[b] for b in c.BANDS))
            pooled = out / "pool" / (hashlib.blake2b(o.image_jpeg, digest_size=8).hexdigest() + ".jpg")
            if not pooled.exists():
                pooled.write_bytes(o.image_jpeg)
            (out / "cutouts" / f"{o.objid}.jpg").symlink_to(pooled)
            k += 1
    assert k == n and not np.any(hdu.data[c.OBJID] == "")
    hdu.writeto(out / "catalogue.fits")


class Sampler(threading.Thread):
    """Peak RSS per process role, sampled while a run lasts."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop, self.peak, self.total = threading.Event(), {}, 0.0

    def run(self) -> None:
        import psutil

        while not self.stop.wait(0.25):
            total = 0.0
            for proc in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                role = None if "__PEAK_RSS_KB" in cmd else next((n for n, marker in ROLES if marker in cmd), None)
                if role and proc.info["memory_info"]:
                    mb = proc.info["memory_info"].rss / 2**20
                    total += mb
                    self.peak[role] = max(self.peak.get(role, 0.0), mb)
            self.total = max(self.total, total)


def busy_cpu_s() -> float:
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def measure(n: int, engine: str, data: Path, model_dir: str, work: Path, master: str | None,
            inputs: str = "records", secret_file: Path | None = None) -> dict:
    out = work / f"classified_{n}_{engine}_{inputs}"
    extra = [] if engine == "beam" else ["--engine", "spark", "--master", master or "local[2]"]
    if secret_file:
        extra += ["--spark-secret-file", str(secret_file)]
    source = (["--records", str(data / "*.tfrecord.gz")] if inputs == "records" else
              ["--table", str(data / "fits" / "catalogue.fits"), "--images", str(data / "fits" / "cutouts")])
    sampler = Sampler()
    sampler.start()
    cpu0 = busy_cpu_s()
    run = timed([sys.executable, "-m", "inference.catalog", *source, "--model-dir", model_dir, "--out", str(out),
                 *extra])
    cpu = busy_cpu_s() - cpu0
    sampler.stop.set()
    sampler.join()
    if run.returncode != 0:
        raise SystemExit(f"{engine} run on {n} objects failed:\n{run.output[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["read"] == summary["written"] == n, summary
    shutil.rmtree(out)
    return {"n": n, "engine": engine, "inputs": inputs, "wall_s": run.wall_s, "job_s": summary["seconds"], "cpu_s": cpu,
            "peak": dict(sampler.peak), "total_mb": sampler.total,
            "input_mb": sum(f.stat().st_size for f in data.glob("*") if f.is_file()) / 2**20}


def _duration(hours: float) -> str:
    return f"{hours:,.1f} h" if hours >= 1 else f"{hours * 60:.0f} min"


def on_paper(per_object_cpu_s: dict[str, float]) -> str:
    """Time and cost of a survey-sized run from the measured CPU per object (estimates, not measured): Beam's on
    Dataflow, the Spark cluster's (or local Spark's, without a cluster run) on Dataproc."""
    spark = "spark-cluster" if "spark-cluster" in per_object_cpu_s else "spark-local"
    services = {"beam": ("Dataflow", VCPU_HOUR_USD + GB_PER_VCPU * GB_HOUR_USD),
                spark: ("Dataproc", GCE_VCPU_HOUR_USD + DATAPROC_VCPU_HOUR_USD)}
    rows = []
    for engine, (service, usd) in services.items():
        if engine not in per_object_cpu_s:
            continue
        for n, label in ((111_000_000, "111 million (SDSS photometric, Clarke et al.)"), (1_000_000_000, "1 billion")):
            vcpu_h = n * per_object_cpu_s[engine] / 3600
            rows.append(f"| {label} | {engine} on {service} | {vcpu_h:,.0f} | {_duration(vcpu_h / 100)} | "
                        f"{_duration(vcpu_h / 1000)} | ${vcpu_h * usd:,.0f} |")
    return ("| objects | engine on service | vCPU-hours | wall on 100 vCPUs | wall on 1,000 vCPUs | cost |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def table(rows: list[dict]) -> str:
    roles = [name for name, _ in ROLES if any(name in r["peak"] for r in rows)]
    out = ["| objects | input | engine | wall (s) | job (s) | objects/s (job) | CPU s per 1,000 objects | "
           + " | ".join(f"peak RSS, {role} (MB)" for role in roles) + " | peak RSS, all job processes (MB) |",
           "|---|---|---|---|---|---|---|" + "---|" * len(roles) + "---|"]
    for r in rows:
        out.append(f"| {r['n']:,} | {r['inputs']} | {r['engine']} | {r['wall_s']:.0f} | {r['job_s']:.0f} | "
                   f"{r['n'] / r['job_s']:,.0f} | {1000 * r['cpu_s'] / r['n']:.2f} | "
                   + " | ".join(f"{r['peak'][role]:,.0f}" if role in r["peak"] else "-" for role in roles)
                   + f" | {r['total_mb']:,.0f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--model-dir", required=True, help="a pushed model version (a photometric one needs no redshift)")
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    p.add_argument("--pool", type=int, default=3000, help="objects whose cutouts are rendered (and reused)")
    p.add_argument("--shard", type=int, default=25_000, help="objects per TFRecord file")
    p.add_argument("--inputs", nargs="+", choices=INPUTS, default=list(INPUTS),
                   help="records: gzip TFRecords; fits: the same objects as a FITS table and a folder of cutout files")
    p.add_argument("--title", default=TITLE, help="the BENCHMARKS.md section to write (another model, another one)")
    args = parse(p, argv)
    from evaluation import model_info

    model_dir = str(Path(args.model_dir).resolve())
    rows, cluster = [], None
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        try:
            if "spark-cluster" in args.engines:
                from inference.drivers import spark_cluster

                cluster = spark_cluster.start(workers=2, cores=1, memory="4g", logs=Path(tmp) / "spark_logs")
            for n in args.sizes:
                data = Path(tmp) / f"catalogue_{n}"
                build(n, args.pool, data, args.shard)
                if "fits" in args.inputs:
                    build_fits(data, data / "fits")
                for inputs in args.inputs:
                    for engine in args.engines:
                        master = cluster.master_url if engine == "spark-cluster" else None
                        rows.append(measure(n, engine, data, model_dir, Path(tmp), master, inputs,
                                            cluster.secret_file if master else None))
                        print(rows[-1], flush=True)
        finally:
            if cluster:
                cluster.stop()
    largest = max(r["n"] for r in rows)
    per_object = {r["engine"]: r["cpu_s"] / r["n"] for r in rows if r["n"] == largest and r["inputs"] == "records"}
    body = (header(args.command)
            + f"- model: {model_info.describe(model_info.load(model_dir))}\n\n"
            "SIMULATED objects (photometry from the DR14-calibrated model; cutouts rendered for a pool of "
            f"{args.pool} and reused within each class), no redshift, no class, in gzip TFRecord shards of "
            f"{args.shard:,}; the fits input is the same objects as a FITS table and a folder of one cutout file "
            "per object. One `sdss-classify-catalog` run per size, input and engine on this machine (2 cores): "
            "beam is the in-process Beam runner; spark-local is `--engine spark --master local[2]`; "
            "spark-cluster is a standalone Spark master with 2 one-core workers here. Wall includes starting "
            "Python, TensorFlow and (Spark) the JVMs; job is the run inside the staged output (summary.json). CPU is "
            "the machine's busy CPU time during the run; memory is each process role's peak RSS, sampled.\n\n"
            + table(rows)
            + f"\nOn paper, from each engine's CPU on the {largest:,}-object run (start-up included): Dataflow at "
            f"list prices assumed at ${VCPU_HOUR_USD}/vCPU-hour and ${GB_HOUR_USD}/GB-hour with {GB_PER_VCPU} GB per "
            f"vCPU (n1-standard); Dataproc at ${GCE_VCPU_HOUR_USD}/vCPU-hour of n1-standard-4 on demand plus the "
            f"${DATAPROC_VCPU_HOUR_USD}/vCPU-hour Dataproc fee. Estimates, not measured there, and without either "
            "service's own overhead, reading from cloud storage, or cluster start-up:\n\n" + on_paper(per_object))
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
