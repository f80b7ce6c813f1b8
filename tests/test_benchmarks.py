"""Smoke tests: every benchmark script runs end to end on tiny inputs and renders its table.

They check the numbers are produced and well-formed, never how fast anything was.
"""

import re

import numpy as np
import pytest

import contract as c
from benchmarks import cost, quality, scale, serving
from tests.e2e import PHOTOMETRIC_MODEL, versions

pytestmark = pytest.mark.e2e


def test_serving_benchmark_on_the_e2e_model(e2e_run, sim300):
    work, _ = e2e_run
    body = serving.main(["--model-dir", str(versions(work)[0]), "--records", str(sim300 / "test"),
                         "--singles", "5", "--batch", "8", "--batches", "2", "--no-write"])
    for signature in ("serving_default", "serving_raw"):
        row = next(line for line in body.splitlines() if line.startswith(f"| {signature} |"))
        p50, p99, throughput = (float(v) for v in row.strip("|").split("|")[1:])
        assert 0 < p50 <= p99 and throughput > 0
    # The breakdown: multiply-adds counted from the layers (the convolutions dominate), decode and model timed apart.
    convs = re.search(r"\| convolutions \| (\d+\.\d+) M multiply-adds \((\d+)%\)", body)
    assert convs and float(convs.group(1)) > 1 and int(convs.group(2)) > 90, body
    assert re.search(r"\| JPEG decode \+ geometry check \(to_pixels\) \| \| \d+\.\d \|", body), body
    assert re.search(r"\| Keras model on decoded pixels \| \d+\.\d MFLOPs \| \d+\.\d \|", body), body


def test_cost_benchmark_runs_both_sides_and_the_rerun_is_cached(sim300):
    body = cost.main(["--data-dir", str(sim300), "--epochs", "1", "--rounds", "1", "--no-write"])
    assert re.search(r"\| mean / max \| \d+ \| \d+ \| \*\*\d+\.\d\d\*\* \|", body), body
    assert "components not served from cache: baseline_resolver, drift_baseline." in body
    assert "| Trainer |" in body and "bare keras: epochs run 1" in body
    # The runner's own phase seconds, for the cold run and the cached rerun.
    for phase in ("import TensorFlow", "preflight", "import TFX", "components", "summary"):
        assert re.search(rf"\| {phase} \| \d+\.\d \| \d+\.\d \|", body), (phase, body)


def test_quality_benchmark_on_a_slice_of_dr14(dr14_csv):
    """The baselines and the tables; the networks' runs go through quality.network, which the real-fusion and
    photometric smoke tests run, so no pipeline run here."""
    body = quality.main(["--csv", str(dr14_csv), "--limit", "300", "--seeds", "0", "--models", "--no-write"])
    for model in ("HistGradientBoosting", "RandomForest"):
        row = next(line for line in body.splitlines() if line.startswith(f"| {model} |"))
        means = [float(cell.split("±")[0]) for cell in row.strip("|").split("|")[2:]]
        assert len(means) == 8 and all(0.0 <= m <= 1.0 for m in means), row
    assert "Test split: 45 objects" in body and "SIMULATED" in body
    assert re.search(r"\| r < 17 \| \d+ \| \d+ / \d+ / \d+ \| \d\.\d{4} \|", body), body  # per-bin accuracy


def test_scale_benchmark_on_a_tiny_size():
    body = scale.main(["--sizes", "150", "--epochs", "1", "--no-write"])
    assert "| 150 objects |" in body and "| Trainer s |" in body and "pipeline_root disk MB" in body
    assert "| epochs run by the Trainer (early stopping may end it sooner) | 1 |" in body, body
    assert "SIMULATED" in body


def test_calibration_benchmark_compares_each_class_and_band_with_dr14(dr14_csv):
    from benchmarks import calibration

    body = calibration.main(["--csv", str(dr14_csv), "--n", "2000", "--no-write"])
    for name in c.CLASS_NAMES:
        diff = next(line for line in body.splitlines() if line.startswith(f"| {name} | abs. mean diff |"))
        values = [float(v) for v in diff.strip("|").split("|")[2:] if v.strip()]
        assert len(values) == len(c.BANDS) and all(0.0 <= v < 0.5 for v in values), diff
    worst = float(re.search(r"Largest band-mean difference: (\d\.\d{3}) mag", body).group(1))
    assert worst == pytest.approx(max(float(v) for line in body.splitlines() if "abs. mean diff" in line
                                      for v in line.strip("|").split("|")[2:] if v.strip()), abs=1e-3)


def test_drift_benchmark_separates_resampling_from_a_fainter_export():
    from benchmarks import drift

    body = drift.main(["--no-write", "--dr14", "/nonexistent.csv"])
    assert "| simulated 1,000 (seed 1) vs 1,000 (seed 0) | same population |" in body
    assert re.search(r"\| built-in data 2 mag fainter \| shift \|.*\| u, g, r, i, z \|", body), body
    assert "Shifts caught: built-in data 1 mag fainter, built-in data 2 mag fainter" in body


def test_photometric_benchmark_on_a_slice_of_dr14(dr14_csv):
    from benchmarks import photometric

    body = photometric.main(["--dr14", str(dr14_csv), "--limit", "300", "--seeds", "0",
                             "--epochs", "1", "--no-spectroscopic", "--no-write"])
    for model in (photometric.FUSION, photometric.TABULAR, "HistGradientBoosting", "RandomForest"):
        row = next(line for line in body.splitlines() if line.startswith(f"| {model} |"))
        means = [float(cell.split("±")[0]) for cell in row.strip("|").split("|")[2:]]
        assert len(means) == 11 and all(0.0 <= m <= 1.0 for m in means), row
    assert "| Clarke et al. 2020, RF on PSF magnitudes (other data) | - |" in body
    assert "Top-label ECE on test:" in body and "share at P>=0.99" in body
    assert re.search(r"fusion >= tabular in [01] of 1 seeds", body), body
    assert "SIMULATED cutouts" in body and "--limit 300" in body


def test_catalog_benchmark_on_a_tiny_catalogue_on_beam_and_a_spark_cluster(photometric_run):
    from benchmarks import catalog

    model_dir = str(versions(photometric_run[0], PHOTOMETRIC_MODEL)[0])
    body = catalog.main(["--model-dir", model_dir, "--sizes", "300", "--shard", "100", "--pool", "30",
                         "--engines", "beam", "spark-cluster", "--no-write"])
    rows = [line.split("|") for line in body.splitlines() if re.match(r"\| 300 \| ", line)]
    assert [(row[2].strip(), row[3].strip()) for row in rows] == [
        ("records", "beam"), ("records", "spark-cluster"), ("fits", "beam"), ("fits", "spark-cluster")], body
    for row in rows:
        assert float(row[6].replace(",", "")) > 0 and float(row[7]) > 0, row  # objects/s, CPU per 1,000
    cluster_row = rows[1]
    assert all(cell.strip() not in ("", "-") for cell in cluster_row[8:-1]), cluster_row  # every Spark role sampled
    assert "model inputs: photometric" in body and "| 1 billion | spark-cluster on Dataproc |" in body
    assert "| 1 billion | beam on Dataflow |" in body and "SIMULATED" in body


def test_spark_udf_benchmark_times_each_classify_step_on_a_tiny_catalogue(photometric_run):
    from benchmarks import spark_udf

    model_dir = str(versions(photometric_run[0], PHOTOMETRIC_MODEL)[0])
    body = spark_udf.main(["--model-dir", model_dir, "--n", "200", "--pool", "20", "--repeats", "1", "--master",
                           "local[1]", "--no-write"])
    rows = [line.split("|") for line in body.splitlines() if line.startswith("| mapInArrow") or
            line.startswith("| predict_batch_udf")]
    assert [r[1].strip() for r in rows] == ["mapInArrow (the job's)", "mapInArrow, probabilities only",
                                            "predict_batch_udf"], body
    for row in rows:
        assert float(row[2]) > 0 and float(row[3].replace(",", "")) > 0 and float(row[4]) > 0, row
    assert rows[0][5].strip() == "1.00x" and "SIMULATED" in body


def test_low_redshift_quasar_table_counts_what_each_model_called_them():
    from benchmarks import photometric
    from evaluation.predictions import Predictions
    from ingest.records import SkyObject

    def obj(label, z):
        return SkyObject("x", 0.0, 0.0, {}, z, b"", label)

    test = [obj("QSO", 0.1), obj("QSO", 0.15), obj("QSO", 1.5), obj("GALAXY", 0.1)]
    probs = {"GALAXY": [1, 0, 0], "STAR": [0, 1, 0], "QSO": [0, 0, 1]}
    called = lambda *names: Predictions(test, np.array([probs[n] for n in names], float))  # noqa: E731
    body = photometric.low_z_quasars({photometric.SPEC_FUSION: called("GALAXY", "QSO", "QSO", "GALAXY")},
                                     called("QSO", "QSO", "QSO", "GALAXY"), test)
    assert f"| {photometric.SPEC_FUSION} | 2 | 1 | 0 | 1 |" in body
    assert f"| {photometric.FUSION} | 2 | 0 | 0 | 2 |" in body
    assert "No quasar below" in photometric.low_z_quasars({}, called(*["GALAXY"] * 4), test[2:])
