"""Test set-up: legacy Keras before TensorFlow loads, and small shared datasets built once per session."""

from pathlib import Path

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

import pytest

from runners.local.workspace import Workspace
from tests.helpers import SHARED_DATA

DR14_CSV = SHARED_DATA / "sdss_dr14_10k.csv"


@pytest.fixture(scope="session")
def dr14_csv() -> Path:
    if not DR14_CSV.exists():
        pytest.fail(f"real SDSS table not found at {DR14_CSV}: CI provides ../shared beside the clone, and a test "
                    "that needs it fails rather than skips, so a green run here means a green run there")
    return DR14_CSV


@pytest.fixture(scope="session")
def sim300(tmp_path_factory) -> Path:
    """300 simulated objects written as pipeline records (train/eval/test)."""
    from simulator.simulate import simulate

    out = tmp_path_factory.mktemp("sim300")
    simulate(300, seed=7, out_dir=str(out), workers=2)
    return out


@pytest.fixture(scope="session")
def transformed_sim300(sim300, tmp_path_factory):
    """(transformed train rows, transform graph dir, raw train objects) from the simulated records."""
    from ingest import records
    from tests.helpers import analyze_and_transform, as_instances

    objs = list(records.read_split(sim300, "train"))
    out = tmp_path_factory.mktemp("tft")
    return analyze_and_transform(as_instances(objs), out), out, objs


@pytest.fixture(scope="session")
def e2e_run(sim300, tmp_path_factory):
    """(work dir, console output) of one real pipeline run on sim300; later e2e tests add runs to it."""
    from tests.e2e import run_pipeline

    work = tmp_path_factory.mktemp("e2e")
    proc = run_pipeline(sim300, work)
    assert proc.returncode == 0, proc.stdout + proc.stderr + (Workspace(work).log_file).read_text()[-5000:]
    return work, proc.stdout


@pytest.fixture(scope="session")
def sim300_no_redshift(sim300, tmp_path_factory) -> Path:
    """sim300 as objects without a spectrum: the same records, splits and cutouts, and no redshift."""
    import dataclasses

    import contract as c
    from ingest import records

    out = tmp_path_factory.mktemp("sim300_photometric")
    with records.SplitWriter(out) as w:
        for split in c.SPLITS:
            for o in records.read_split(sim300, split):
                w.write(dataclasses.replace(o, redshift=float("nan")), split=split)
    return out


@pytest.fixture(scope="session")
def photometric_run(sim300_no_redshift, tmp_path_factory):
    """(work dir, console output) of one real `--inputs photometric` pipeline run on records without redshift."""
    from tests.e2e import run_pipeline

    work = tmp_path_factory.mktemp("e2e_photometric")
    proc = run_pipeline(sim300_no_redshift, work, "--inputs", "photometric")
    assert proc.returncode == 0, proc.stdout + proc.stderr + (Workspace(work).log_file).read_text()[-5000:]
    return work, proc.stdout
