"""Serving cost of the pushed SavedModel on CPU: one-example latency per signature, batch throughput.

    python -m benchmarks.serving [--model-dir outputs/serving/sky_classifier/<v>] [--records data/simulated/test]

In process, as TF Serving would run the graph (no HTTP): p50/p99 of single
examples through serving_default (tf.Example) and serving_raw (named raw
features), and examples/s at batch 256. Then where a batch's time goes: the
model's multiply-adds per example by layer kind (counted from the layers'
shapes), JPEG decoding alone, and the Keras model alone on decoded pixels.
"""

from __future__ import annotations

import time
from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import numpy as np
import tensorflow as tf

import contract as c
from benchmarks.common import header, parse, parser, publish
from components.serving_layout import latest_version
from contract import RECORD_GLOB
from inference.model import load_model, raw_inputs
from ingest import records
from pipeline import configs
from trainer import forest_ops

TITLE = "Serving: the pushed SavedModel on CPU"


def _time(fn, calls: int) -> np.ndarray:
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return np.array(out) * 1000


def multiply_adds(model: tf.keras.Model) -> dict[str, int]:
    """Per example, by layer kind; nested models (an imported encoder, a forest head's image models) are counted
    through. A forest head's trees are no layers: their cost shows in the timings alone."""
    out = {"convolutions": 0, "dense layers": 0}
    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            for kind, n in multiply_adds(layer).items():
                out[kind] += n
        elif isinstance(layer, tf.keras.layers.Conv2D):
            h, w, c_out = layer.output_shape[1:]
            out["convolutions"] += h * w * c_out * int(np.prod(layer.kernel_size)) * layer.input_shape[-1]
        elif isinstance(layer, tf.keras.layers.Dense):
            out["dense layers"] += layer.input_shape[-1] * layer.units
    return out


def breakdown(model_dir: str, jpegs: tf.Tensor, batches: int) -> dict:
    """Multiply-adds, and ms per batch for decoding alone and for the Keras model alone on decoded pixels."""
    from trainer import features as f
    from trainer.image_ops import to_pixels

    forest_ops.register()  # a forest head's ops, before Keras reads the graph
    keras_model = tf.keras.models.load_model(model_dir, compile=False)
    out: dict = {"macs": multiply_adds(keras_model)}
    if f.IMAGE_XF not in keras_model.input_names:
        return out
    decode = tf.function(to_pixels)
    pixels = decode(jpegs)
    inputs = {name: pixels if name == f.IMAGE_XF else tf.zeros([len(jpegs), 1]) for name in keras_model.input_names}
    forward = tf.function(lambda x: keras_model(x, training=False))
    for name, fn in (("decode_ms", lambda: decode(jpegs)), ("model_ms", lambda: forward(inputs))):
        _time(fn, 2)
        out[name] = float(np.median(_time(fn, batches)))
    return out


def measure(model_dir: str, records_dir: str, singles: int, batch: int, batches: int) -> dict:
    objs = list(records.read_split(Path(records_dir).parent, Path(records_dir).name))
    if not objs:
        raise SystemExit(f"no records in {records_dir}/{RECORD_GLOB}")
    serialized = [records.to_example(o).SerializeToString() for o in objs]
    t0 = time.perf_counter()
    model = load_model(model_dir)
    load_s = time.perf_counter() - t0
    by_example, by_raw = model.signatures[c.SERVING_DEFAULT], model.signatures[c.SERVING_RAW]
    pick = [k % len(objs) for k in range(max(batch, singles))]
    one_ex = [tf.constant([serialized[k]]) for k in pick[:singles]]
    one_raw = [raw_inputs([objs[k]]) for k in pick[:singles]]
    big_ex = tf.constant([serialized[k] for k in pick[:batch]])
    big_raw = raw_inputs([objs[k] for k in pick[:batch]])
    it = iter(range(10**9))
    results = {"load_s": load_s, "n_records": len(objs)}
    for name, single, whole in ((c.SERVING_DEFAULT, lambda: by_example(examples=one_ex[next(it) % singles]),
                                 lambda: by_example(examples=big_ex)),
                                (c.SERVING_RAW, lambda: by_raw(**one_raw[next(it) % singles]),
                                 lambda: by_raw(**big_raw))):
        _time(single, 20)  # warm-up: first calls trace and allocate
        lat = _time(single, singles)
        _time(whole, 2)
        per_batch = _time(whole, batches)
        results[name] = {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
                         "throughput": batch / (np.median(per_batch) / 1000), "batch_ms": float(np.median(per_batch))}
    results["breakdown"] = breakdown(model_dir, big_raw[c.IMAGE], batches) if c.IMAGE in big_raw else {}
    return results


def render(r: dict, command: str, model_dir: str, singles: int, batch: int) -> str:
    rows = "\n".join(f"| {name} | {r[name]['p50']:.2f} | {r[name]['p99']:.2f} | {r[name]['throughput']:.0f} |"
                     for name in (c.SERVING_DEFAULT, c.SERVING_RAW))
    return (header(command) + f"- model: {model_dir}\n"
            + f"\nOne example per call ({singles} calls after warm-up) and batches of {batch}; "
            f"model load {r['load_s']:.1f} s; inputs cycled from {r['n_records']} records.\n\n"
            f"| signature | p50 ms (1 example) | p99 ms (1 example) | examples/s at batch {batch} |\n"
            "|---|---|---|---|\n" + rows + "\n\nTargets (issue 11): p50 <= 5 ms, >= 2,000 examples/s.\n"
            + _render_breakdown(r, batch))


def _render_breakdown(r: dict, batch: int) -> str:
    b = r.get("breakdown") or {}
    if not b:
        return ""
    macs = b["macs"]
    total = sum(macs.values())
    lines = [f"\nWhere a batch of {batch} goes (serving_default: {r[c.SERVING_DEFAULT]['batch_ms']:.1f} ms):\n",
             "| part | per example | ms per batch |", "|---|---|---|"]
    lines += [f"| {kind} | {n / 1e6:.2f} M multiply-adds ({n / total:.0%}) | |" for kind, n in macs.items()]
    if "decode_ms" in b:
        lines += [f"| JPEG decode + geometry check (to_pixels) | | {b['decode_ms']:.1f} |",
                  f"| Keras model on decoded pixels | {2 * total / 1e6:.1f} MFLOPs | {b['model_ms']:.1f} |"]
    return "\n".join(lines) + ("\n\nThe rest of a batch is parsing and the Transform graph. The model is the "
                              "same for both signatures.\n")


def main(argv: list[str] | None = None) -> str:
    p = parser(__file__, __doc__)
    p.add_argument("--model-dir", help="default: latest version under outputs/serving/sky_classifier")
    p.add_argument("--records", default=str(configs.DATA_DIR / "test"), help="a split folder of records")
    p.add_argument("--singles", type=int, default=500)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--title", default=TITLE)
    args = parse(p, argv)
    model_dir = args.model_dir or latest_version(str(configs.SERVING_DIR / configs.MODEL_NAME))
    r = measure(model_dir, args.records, args.singles, args.batch, args.batches)
    body = render(r, args.command, model_dir, args.singles, args.batch)
    return publish(args.title, body, args)


if __name__ == "__main__":
    main()
