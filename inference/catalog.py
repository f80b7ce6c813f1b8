"""Classifies an unlabelled catalogue with a pushed model, on Beam: the job for the objects that have no spectrum.

    sdss-classify-catalog --csv export.csv --images cutouts/ --out classified/ [--model-dir V] [--cutout-scale 0.4]
    sdss-classify-catalog --records 'survey/*.tfrecord.gz' --out classified/ [--runner portable ...]

Input: a SkyServer-style CSV and its cutouts, parsed exactly as `sdss-predict`
parses them, or gzip TFRecords of tf.Examples (a class, if any, is ignored).
The model is a pushed version (default: the newest under --serving-dir); a
photometric one needs no redshift. Beam runs it through RunInference, with
the --runner presets of runners/beam.py.

Output, a folder that appears whole or not at all (ingest/staging.py):
  classified/*.parquet  objid, ra, dec, p_GALAXY, p_STAR, p_QSO, class, outside_training_range (the features
                        outside the training data's range), model_version, model_inputs, source (file:line)
  rejects.csv           source, reason, detail (which names the field): every input row not classified, and why
  summary.json          read = written + rejected, by reason, the model, its inputs, seconds
Exit status: 0 done (rejects included), 1 nothing classified or counts do not add up, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import runtime_env  # the process environment, before TensorFlow loads

import contract as c
from ingest.cutout import SKYSERVER_SCALE_ARCSEC
from pipeline import configs
from pipeline.assemble import ConfigError
from runners import beam as beam_presets

SUMMARY = "summary.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="sdss-classify-catalog", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", help="SkyServer-style export (u g r i z, redshift if the model reads it, objid, ra, dec)")
    src.add_argument("--records", help="glob of gzip TFRecords of tf.Examples, e.g. 'data/mine/*/*.tfrecord.gz'")
    p.add_argument("--images", help="folder of cutouts for --csv")
    p.add_argument("--cutout-scale", type=float, default=SKYSERVER_SCALE_ARCSEC, metavar="ARCSEC_PER_PX")
    p.add_argument("--out", required=True, help="output folder (must be new or empty unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out whole")
    p.add_argument("--model-dir", help="a pushed SavedModel version; default: the newest under --serving-dir")
    p.add_argument("--inputs", choices=tuple(c.INPUTS), default=c.PHOTOMETRIC,
                   help="without --model-dir: the photometric model (default: a catalogue has no spectra) or the "
                        "spectroscopic one")
    p.add_argument("--serving-dir", default=str(configs.SERVING_DIR))
    p.add_argument("--batch-size", type=int, default=256, help="largest batch RunInference hands the model")
    beam_presets.add_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    runtime_env.quiet_tensorflow()
    args = parse_args(argv)
    from evaluation import model_info
    from evaluation.predictions import latest_version
    from inference import job
    from ingest.staging import OutputExists, staged

    try:
        beam_args = beam_presets.beam_args(beam_presets.from_namespace(args))
        model_dir = os.path.abspath(args.model_dir or latest_version(
            os.path.join(args.serving_dir, configs.MODEL_NAMES[args.inputs])))
        info = model_info.load(model_dir)
        if args.csv and not Path(args.csv).is_file():
            raise FileNotFoundError(f"--csv {args.csv}: no such file")
        source = job.Source(csv=args.csv, images=args.images, cutout_scale=args.cutout_scale, records=args.records)
        print(f"model: {model_dir}\n{model_info.describe(info)}", flush=True)
        t0 = time.monotonic()
        with staged(args.out, args.overwrite) as tmp:
            counts = job.run(source, model_dir, str(tmp), beam_args, args.batch_size)
            summary = {**counts, "model": model_dir, "model_version": os.path.basename(model_dir),
                       "model_inputs": model_info.inputs_of(info), "source": args.csv or args.records,
                       "seconds": round(time.monotonic() - t0, 1)}
            if counts["read"] != counts["written"] + counts["rejected"]:
                raise job.CountMismatch(f"read {counts['read']} != written {counts['written']} + rejected "
                                        f"{counts['rejected']}: output discarded")
            (tmp / SUMMARY).write_text(json.dumps(summary, indent=1))
    except (FileNotFoundError, ValueError, OutputExists, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except job.CountMismatch as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(counts["by_reason"].items())) or "none"
    rate = counts["written"] / max(summary["seconds"], 1e-9)
    print(f"read {counts['read']}, written {counts['written']}, rejected {counts['rejected']} (by reason: {reasons}) "
          f"in {summary['seconds']:.0f}s ({rate:.0f} objects/s)\noutput: {args.out}")
    return 0 if counts["written"] else 1


if __name__ == "__main__":
    sys.exit(main())
