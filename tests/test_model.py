import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

import contract as c
from trainer import features as f
from trainer import model as model_lib
from trainer import signatures
from trainer.image_ops import to_pixels
from trainer.train import class_weights


def _batch(rows, model):
    feats = {}
    for name in model.input_names:
        if name == f.IMAGE_XF:
            feats[name] = to_pixels(tf.constant([r[name] for r in rows]))
        else:
            feats[name] = tf.constant([[float(np.ravel(r[name])[0])] for r in rows])
    return feats, tf.constant([int(r[f.LABEL_XF]) for r in rows])


@pytest.mark.parametrize("kind", ["fusion", "tabular", "image"])
def test_build_and_one_train_step(kind, transformed_sim300):
    rows, _, _ = transformed_sim300
    model = model_lib.build(kind)
    expected_inputs = {"fusion": {f.IMAGE_XF, *f.TABULAR_XF}, "tabular": set(f.TABULAR_XF), "image": {f.IMAGE_XF}}
    assert set(model.input_names) == expected_inputs[kind]
    x, y = _batch(rows[:32], model)
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)[0]
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, model.trainable_weights))
    probs = model.predict(x, verbose=0)
    assert probs.shape == (32, len(c.CLASS_NAMES)) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="model kind"):
        model_lib.build("text")


def test_class_weights_upweight_the_minority_by_the_square_root_of_balance(transformed_sim300):
    _, tft_dir, objs = transformed_sim300
    w = class_weights(tft.TFTransformOutput(str(tft_dir)))
    counts = {k: sum(o.label == k for o in objs) for k in c.CLASS_NAMES}
    assert w[c.CLASS_NAMES.index("QSO")] > w[c.CLASS_NAMES.index("GALAXY")]
    # sqrt of n / (k * n_c): weight times the square root of the class count is the same for every class, so a
    # class with a quarter of another's examples gets twice its weight, not four times.
    scaled = {k: w[i] * np.sqrt(counts[k]) for i, k in enumerate(c.CLASS_NAMES)}
    assert max(scaled.values()) == pytest.approx(min(scaled.values()), rel=1e-6)
    assert w[0] == pytest.approx(np.sqrt(len(objs) / (3 * counts[c.CLASS_NAMES[0]])), rel=1e-6)


def test_bare_script_weights_follow_the_trainer_rule():
    from benchmarks.bare_keras import class_weights as bare_weights

    ids = [0] * 60 + [1] * 30 + [2] * 10
    assert bare_weights(ids) == pytest.approx(model_lib.class_weights_from_counts([60, 30, 10]))
    assert bare_weights(ids)[2] == pytest.approx(np.sqrt(100 / 30))


def test_saved_model_serves_examples_and_raw_features_alike(transformed_sim300, tmp_path):
    from ingest.records import to_example

    rows, tft_dir, objs = transformed_sim300
    model = model_lib.build("fusion")
    x, y = _batch(rows[:64], model)
    model.fit(x, y, epochs=1, verbose=0)
    tft_out = tft.TFTransformOutput(str(tft_dir))
    export = tmp_path / "saved"
    model.save(str(export), save_format="tf", signatures=signatures.make(model, tft_out))

    loaded = tf.saved_model.load(str(export))
    assert {"serving_default", c.SERVING_RAW, c.TRANSFORM_FEATURES} <= set(loaded.signatures)
    sample = objs[:5]
    serialized = tf.constant([to_example(o).SerializeToString() for o in sample])
    by_example = loaded.signatures["serving_default"](examples=serialized)
    raw = {b: tf.constant([o.mags[b] for o in sample], tf.float32) for b in c.BANDS}
    raw[c.REDSHIFT] = tf.constant([o.redshift for o in sample], tf.float32)
    raw[c.IMAGE] = tf.constant([o.image_jpeg for o in sample])
    by_raw = loaded.signatures[c.SERVING_RAW](**raw)
    np.testing.assert_allclose(by_example["probabilities"].numpy(), by_raw["probabilities"].numpy(), atol=1e-6)
    assert by_raw["probabilities"].shape == (5, 3)
    names = [n.decode() for n in by_raw["class_name"].numpy()]
    assert names == [c.CLASS_NAMES[i] for i in by_raw["class_id"].numpy()]
    # The in-memory model and the reloaded signature agree: nothing was lost in saving.
    xs, _ = _batch([rows[objs.index(o)] for o in sample], model)
    np.testing.assert_allclose(model.predict(xs, verbose=0), by_raw["probabilities"].numpy(), atol=1e-5)
    # transform_features gives TFMA the label id from the raw class.
    feats = loaded.signatures[c.TRANSFORM_FEATURES](examples=serialized)
    assert [int(v) for v in feats[f.LABEL_XF].numpy()] == [c.CLASS_NAMES.index(o.label) for o in sample]


def test_serving_example_without_label_or_ids(transformed_sim300, tmp_path):
    """A client's tf.Example carries photometry and the image only."""
    rows, tft_dir, objs = transformed_sim300
    model = model_lib.build("tabular")
    fn = signatures.make(model, tft.TFTransformOutput(str(tft_dir)))["serving_default"]
    o = objs[0]
    feature = {b: tf.train.Feature(float_list=tf.train.FloatList(value=[o.mags[b]])) for b in c.BANDS}
    feature[c.REDSHIFT] = tf.train.Feature(float_list=tf.train.FloatList(value=[o.redshift]))
    feature[c.IMAGE] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[o.image_jpeg]))
    ex = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    out = fn(examples=tf.constant([ex]))
    assert out["probabilities"].shape == (1, 3)


def test_autograph_leaves_tf_keras_alone_once_a_model_is_built():
    import tensorflow as tf
    from tensorflow.python.autograph.impl import conversion

    from trainer import model as model_lib

    model_lib.build("tabular")
    model_lib.build("tabular")  # the rule is added once, not per build
    from tensorflow.python.autograph.core import config

    assert sum(r.matches("tf_keras") for r in config.CONVERSION_RULES) == 1
    # Keras' own train step is now treated like TensorFlow's code: called as is, not converted from source.
    assert conversion.is_allowlisted(tf.keras.Model.train_step)
