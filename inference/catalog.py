"""Classifies an unlabelled catalogue with a pushed model: the job for the objects that have no spectrum.

    sdss-classify-catalog --csv export.csv --images cutouts/ --out classified/ [--model-dir V] [--cutout-scale 0.4]
    sdss-classify-catalog --table casjobs.fits --images cutouts/ --out classified/ --format fits
    sdss-classify-catalog --records 'survey/*.tfrecord.gz' --out classified/ [--runner portable ...]
    sdss-classify-catalog --parquet 'survey/*.parquet' --out classified/ --engine spark [--master spark://HOST:7077]

Input: a SkyServer-style CSV and its cutouts, parsed exactly as `sdss-predict` parses them, or the same columns as a
FITS binary table, VOTable or ECSV (--table, or --csv: the format goes by the extension; ingest/tables.py); gzip
TFRecords of tf.Examples; or Parquet files with the records' columns (objid, ra, dec, u..z, redshift if the model
reads it, image: the contract's JPEG bytes). A class, if any, is ignored. The model is a pushed version (default: the
newest under --serving-dir); a photometric one needs no redshift.

Engines (inference/drivers/): beam (default) runs RunInference on a Beam runner (--runner: runners/beam.py's
presets); spark runs on a Spark master (--master, default local[*]; needs Java 17), reading the input (a CSV's
cutouts too) and writing --out through Hadoop (file://, hdfs://, gs://, s3a:// URIs; inference/uris.py). Under
spark-submit, with the wheel as --py-files: inference/drivers/spark_submit.py.

Output, a folder that appears whole or not at all (ingest/staging.py), the same from either engine:
  classified/*.parquet  objid, ra, dec, p_GALAXY, p_STAR, p_QSO, class, outside_training_range (the features
                        outside the training data's range), model_version, model_inputs, source (file and line),
                        same_object_as (the sources of the other rows of an object listed more than once: the
                        same objid, or within 1"; inference/duplicates.py; every row is still classified)
  classified.fits       with --format fits (instead of the Parquet files) or both: the same rows as a FITS binary
                        table, units and UCDs on its columns, model version, inputs and counts in its header
  rejects.csv           source, reason, detail (which names the field): every input row not classified, and why
  summary.json          read = written + rejected, by reason, the model, its inputs, the engine, seconds
Exit status: 0 done (rejects included), 1 nothing classified, the engine failed or counts do not add up,
2 usage error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import runtime_env  # the process environment, before TensorFlow loads

import contract as c
from inference import uris
from inference.fits_output import FORMATS
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from pipeline import configs
from pipeline.run_config import ConfigError
from runners import beam as beam_presets

ENGINES = ("beam", "spark")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sdss-classify-catalog", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", help="SkyServer-style export (u g r i z, redshift if the model reads it, objid, ra, "
                     "dec); a .fits/.fit/.fits.gz, .vot/.xml or .ecsv file is read as that table")
    src.add_argument("--table", dest="csv", help="the same columns as a FITS binary table, VOTable, ECSV or CSV, by "
                     "extension")
    src.add_argument("--records", help="glob of gzip TFRecords of tf.Examples, e.g. 'data/mine/*/*.tfrecord.gz'")
    src.add_argument("--parquet", help="glob of Parquet files with the records' columns, e.g. 'survey/*.parquet'")
    p.add_argument("--images", help="folder of cutouts for --csv")
    p.add_argument("--cutout-scale", type=float, default=SKYSERVER_SCALE_ARCSEC, metavar="ARCSEC_PER_PX")
    p.add_argument("--out", required=True, help="output folder (must be new or empty unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out whole")
    p.add_argument("--model-dir", help="a pushed SavedModel version; default: the newest under --serving-dir")
    p.add_argument("--inputs", choices=tuple(c.INPUTS), default=c.PHOTOMETRIC,
                   help="without --model-dir: the photometric model (default: a catalogue has no spectra) or the "
                        "spectroscopic one")
    p.add_argument("--serving-dir", default=str(configs.SERVING_DIR))
    p.add_argument("--format", choices=FORMATS, default="parquet", help="the classified rows as Parquet files "
                   "(classified/), a FITS binary table (classified.fits, with units and the model in its header), "
                   "or both")
    p.add_argument("--batch-size", type=int, default=256, help="largest batch handed to the model")
    p.add_argument("--engine", choices=ENGINES, default="beam", help="beam: a Beam runner (--runner); spark: a Spark "
                   "master (--master; needs Java 17)")
    p.add_argument("--master", default="local[*]", help="with --engine spark: any Spark master URL, e.g. "
                   "spark://127.0.0.1:7077 (`python -m inference.drivers.spark_cluster` starts one here)")
    p.add_argument("--spark-secret-file", help="with --engine spark: the cluster's shared secret (a file holding it, "
                   "or the properties file `python -m inference.drivers.spark_cluster` prints), for a master started "
                   "with spark.authenticate")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="with --engine spark: "
                   "any Spark setting, repeatable (e.g. spark.jars.packages for a cloud connector, "
                   "spark.driver.memory)")
    beam_presets.add_arguments(p)
    return p.parse_args(argv)


def spark_settings(pairs: list[str]) -> dict[str, str]:
    """--spark-conf KEY=VALUE pairs; a pair without '=' or a key outside spark.* is a usage error."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise ValueError(f"--spark-conf {pair}: expected spark.<setting>=<value>")
        settings[key.strip()] = value
    return settings


def _source(args: argparse.Namespace):
    """The input as the job reads it: file:// made a plain path. A remote CSV (hdfs://, gs://, s3a://...) and its
    cutouts only for Spark, which reads them through Hadoop (Beam's own IO reads remote records and Parquet); never a
    remote table, which astropy reads here, nor a table's cutouts."""
    from inference import job
    from ingest.tables import is_table

    given = args.csv or args.records or args.parquet
    flag = "--csv" if args.csv else "--records" if args.records else "--parquet"
    if uris.remote(given) and args.csv and (args.engine != "spark" or is_table(args.csv)):
        raise ValueError(f"{flag} {given}: a remote CSV is read by --engine spark only, and a table (FITS, VOTable, "
                         "ECSV) from a local path only")
    path = given if uris.remote(given) else uris.local_path(given, flag)
    images = args.images
    if images and uris.remote(images):
        if args.engine != "spark" or not args.csv or is_table(args.csv):
            raise ValueError(f"--images {images}: a remote cutout folder is read by --engine spark, for a CSV only (a "
                             "table's rows and Beam's workers open cutouts at a local or mounted path)")
    else:
        images = uris.local_path(images, "--images")
    return job.Source(csv=path if args.csv else None, images=images,
                      cutout_scale=args.cutout_scale, records=path if args.records else None,
                      parquet=path if args.parquet else None)


def _run_beam(args: argparse.Namespace, source, model, beam_args: list[str], t0: float) -> dict:
    """The Beam driver writes into a local staged folder, and the finishing steps run here."""
    from inference import job
    from inference.drivers import beam
    from ingest.staging import staged

    with staged(uris.local_path(args.out, "--out"), args.overwrite) as tmp:
        read = beam.run(source, model, str(tmp), beam_args, args.batch_size)
        summary = job.finish(str(tmp), read, model, source, "beam", time.monotonic() - t0, output_format=args.format)
        if args.format != "parquet":
            from inference import fits_output

            fits_output.write(str(tmp), job.PARQUET_DIR, summary)
            if args.format == "fits":
                shutil.rmtree(tmp / job.PARQUET_DIR)
    return summary


def main(argv: list[str] | None = None, submitted: bool = False) -> int:
    """`submitted`: run by spark-submit (inference/drivers/spark_submit.py), whose master and settings apply."""
    runtime_env.quiet_tensorflow()
    args = parse_args(argv)
    if submitted:
        given = [f for f in ("--master", "--spark-secret-file", "--engine", "--spark-conf")
                 if any(a.startswith(f) for a in argv or ())]
        if given:
            print(f"error: {', '.join(given)}: under spark-submit, give the master, the properties file and any "
                  "setting to spark-submit (--master, --properties-file, --conf); the engine is Spark", file=sys.stderr)
            return 2
        args.engine, args.master = "spark", None
    from evaluation import model_info
    from inference import job
    from inference.model import model_dir_for
    from ingest.staging import OutputExists, check_target

    try:
        beam_args = beam_presets.beam_args(beam_presets.from_namespace(args))
        settings = spark_settings(args.spark_conf)
        model = job.Model.at(os.path.abspath(model_dir_for(args.model_dir, args.serving_dir, args.inputs)))
        source = _source(args)
        if source.csv and not uris.remote(source.csv) and not Path(source.csv).is_file():
            raise FileNotFoundError(f"--csv {args.csv}: no such file")
        if not args.csv and not uris.remote(source.describe()):
            source.files()  # no matching file is a usage error, before any engine starts
        elif source.table:
            job.table_ranges(source, model.features)  # a missing column or a wrong type: exit 2, nothing written
        print(f"model: {model.path}\n{model_info.describe(model_info.load(model.path))}", flush=True)
        t0 = time.monotonic()
        if args.engine == "spark":
            from inference.drivers import spark
            from inference.drivers.spark_cluster import read_secret

            if not uris.remote(args.out):
                check_target(Path(uris.local_path(args.out, "--out")), args.overwrite)  # before Spark starts
            secret = read_secret(args.spark_secret_file) if args.spark_secret_file else None
            summary = spark.run(source, model, args.out, args.overwrite, args.format, args.master, args.batch_size,
                                secret, settings, started=t0)
        else:
            summary = _run_beam(args, source, model, beam_args, t0)
    except (job.CountMismatch, job.JobFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError, OutputExists, ConfigError, RuntimeError) as e:  # RuntimeError: no Java
        print(f"error: {e}", file=sys.stderr)
        return 2
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(summary["by_reason"].items())) or "none"
    rate = summary["written"] / max(summary["seconds"], 1e-9)
    print(f"read {summary['read']}, written {summary['written']}, rejected {summary['rejected']} (by reason: "
          f"{reasons}) in {summary['seconds']:.0f}s ({rate:.0f} objects/s)\noutput: {args.out}")
    return 0 if summary["written"] else 1


if __name__ == "__main__":
    sys.exit(main())
