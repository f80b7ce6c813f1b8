import numpy as np
import pytest

import contract as c
from tests.helpers import analyze_and_transform, as_instances
from trainer import features as f


def test_label_ids_are_fixed_not_frequency_ordered(sim300, tmp_path):
    from ingest import records

    objs = list(records.read_split(sim300, "train"))
    # Make QSO the most frequent and GALAXY the rarest: a vocabulary would then give QSO id 0.
    qso = [o for o in objs if o.label == "QSO"]
    skewed = qso * 5 + [o for o in objs if o.label == "STAR"][:10] + [o for o in objs if o.label == "GALAXY"][:3]
    rows = analyze_and_transform(as_instances(skewed), tmp_path)
    got = {o.label: int(r[f.LABEL_XF]) for o, r in zip(skewed, rows)}
    assert got == {"GALAXY": 0, "STAR": 1, "QSO": 2}


def test_scaled_features_colours_and_image(transformed_sim300):
    rows, _, objs = transformed_sim300
    assert len(rows) == len(objs)
    for key in f.TABULAR_XF:
        values = np.array([float(np.ravel(r[key])[0]) for r in rows])
        assert abs(values.mean()) < 1e-3 and abs(values.std() - 1) < 0.01, key
    # Colours keep their order: a bluer u-g stays bluer after scaling.
    ug = np.array([o.mags["u"] - o.mags["g"] for o in objs])
    ug_xf = np.array([float(np.ravel(r[f.xf("u_g")])[0]) for r in rows])
    assert np.corrcoef(ug, ug_xf)[0, 1] == pytest.approx(1.0, abs=1e-6)
    # By default the JPEG passes through untouched; decoding happens in the trainer's input pipeline.
    assert rows[0][f.IMAGE_XF] == objs[0].image_jpeg


def test_decode_in_transform_gives_unit_range_pixels(sim300, tmp_path):
    from ingest import records

    objs = list(records.read_split(sim300, "eval"))[:20]
    rows = analyze_and_transform(as_instances(objs), tmp_path, {"decode_images": True})
    pixels = np.asarray(rows[0][f.IMAGE_XF])
    assert pixels.shape == (c.IMAGE_SIZE * c.IMAGE_SIZE * c.IMAGE_CHANNELS,)
    assert pixels.dtype == np.float32 and 0.0 <= pixels.min() and pixels.max() <= 1.0 and pixels.max() > 0.1


def test_brightness_and_redshift_bins_follow_the_fixed_edges(transformed_sim300):
    rows, _, objs = transformed_sim300
    assert f.bin_labels("r", (17.0, 18.0)) == ["r < 17", "r 17-18", "r >= 18"]
    for o, r in zip(objs, rows):
        got = r[f.R_BIN].decode() if isinstance(r[f.R_BIN], bytes) else np.ravel(r[f.R_BIN])[0].decode()
        edges = f.BINS[f.R_BIN][1]
        expected = f.bin_labels("r", edges)[int(np.searchsorted(edges, o.mags["r"], side="right"))]
        assert got == expected, (o.mags["r"], got)
    zbins = {np.ravel(r[f.REDSHIFT_BIN])[0] if not isinstance(r[f.REDSHIFT_BIN], bytes) else r[f.REDSHIFT_BIN]
             for r, o in zip(rows, objs) if o.label == "STAR"}
    assert zbins == {b"redshift < 0.01"}  # stars sit at z ~ 0


def test_outside_training_range_flags_nothing_inside_the_training_data(transformed_sim300):
    rows, _, _ = transformed_sim300
    flags = np.array([np.ravel(r[f.RANGE_FLAGS_XF]) for r in rows])
    assert flags.shape == (len(rows), len(c.TABULAR_FEATURES)) and flags.sum() == 0  # min and max are inclusive


def test_photometric_inputs_read_no_redshift_and_records_may_lack_it(sim300, tmp_path):
    """--inputs photometric: the photometric schema (redshift optional), records with and without one."""
    from ingest import records

    objs = list(records.read_split(sim300, "train"))[:60]
    rows = as_instances(objs)
    for row in rows[::2]:  # half the objects have no spectrum
        row[c.REDSHIFT] = []
    out = analyze_and_transform(rows, tmp_path, {"inputs": c.PHOTOMETRIC}, schema="photometric_schema.pbtxt")
    assert f.xf(c.REDSHIFT) not in out[0]
    assert set(f.tabular_xf(c.PHOTOMETRIC)) <= set(out[0]) and len(f.tabular_xf(c.PHOTOMETRIC)) == 9
    assert np.asarray(out[0][f.RANGE_FLAGS_XF]).shape[-1] == len(c.BANDS)  # one flag per input read
    bins = [np.ravel(r[f.REDSHIFT_BIN])[0].decode() for r in out]
    assert all(b == f.NO_REDSHIFT_BIN for b in bins[::2])
    assert all(b != f.NO_REDSHIFT_BIN and b.startswith("redshift") for b in bins[1::2])


def test_the_benchmarks_numpy_transform_is_the_pipelines(transformed_sim300):
    """benchmarks/bare_keras.py redoes Transform in numpy, and the studies that chose the Trainer's defaults (class
    weights, tabular variants, redshift scaling) trained through it: it must give the MLP what Transform gives."""
    from benchmarks import bare_keras

    rows, _, objs = transformed_sim300
    x = bare_keras.scaled_inputs(objs)
    mean, std = bare_keras.fit_scaling(x)
    z = (x - mean) / std
    assert x.shape == (len(objs), len(f.TABULAR_XF))
    for k, name in enumerate(f.TABULAR_XF):
        np.testing.assert_allclose(z[:, k], [float(np.ravel(r[name])[0]) for r in rows], atol=2e-4, err_msg=name)
    # The labels it trains on are Transform's fixed ids.
    assert [c.CLASS_NAMES.index(o.label) for o in objs] == [int(np.ravel(r[f.LABEL_XF])[0]) for r in rows]
