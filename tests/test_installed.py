"""Installed as a package, the pipeline works outside the checkout: a wheel installed into a temporary folder, run
from an empty working directory, reads and writes there and nowhere else.

The wheel (tests/helpers.build_wheel) is installed with --no-deps beside the pinned environment, ahead of the
checkout's editable install on the path."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import contract as c
from pipeline.configs import MODEL_NAME
from tests.e2e import REPO
from tests.helpers import build_wheel

pytestmark = pytest.mark.e2e


def _snapshot(root: Path) -> dict[str, float]:
    """Every file under `root` (compiled bytecode aside) with its modification time."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("installed")
    pkg, work = base / "pkg", base / "work"
    work.mkdir()
    top_level = sorted(p.name for p in REPO.iterdir())  # building and installing add nothing to the checkout
    wheel = build_wheel(base)
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(pkg),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stdout + install.stderr
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    return {"wheel": wheel, "pkg": pkg, "work": work, "env": env, "bin": pkg / "bin", "repo_top_level": top_level}


def _run(installed: dict, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), cwd=installed["work"], env=installed["env"], capture_output=True, text=True)


def test_the_wheel_carries_the_schemas_and_the_code_runs_from_where_it_is_installed(installed):
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert {"schema/schema.pbtxt", "schema/photometric_schema.pbtxt", "schema/image_schema.pbtxt",
            "simulator/calibration.json", "contract.py", "trainer/sky_layers.py"} <= set(names)
    assert not any(n.startswith(("tests/", "benchmarks/", "data/", "outputs/")) for n in names)
    probe = _run(installed, sys.executable, "-c",
                 "import pipeline.configs as c; print(c.CODE_ROOT); print(c.SCHEMA_FILE, c.SCHEMA_FILE.is_file()); "
                 "print(c.OUTPUT_DIR.resolve())")
    assert probe.returncode == 0, probe.stderr
    code_root, schema_line, outputs = probe.stdout.splitlines()
    assert Path(code_root) == installed["pkg"]  # the installed copy, not the checkout
    assert schema_line == f"{installed['pkg'] / 'schema' / 'schema.pbtxt'} True"
    assert Path(outputs) == installed["work"] / "outputs"


def test_an_installed_pipeline_runs_in_an_empty_directory_and_its_clis_find_what_it_wrote(installed):
    work, pkg = installed["work"], installed["pkg"]
    before_pkg, before_repo = _snapshot(pkg), {d: _snapshot(REPO / d) for d in ("outputs", "data")}
    sim = _run(installed, sys.executable, "-m", "ingest", "simulate", "--n", "300", "--seed", "7", "--out",
               "data/simulated")
    assert sim.returncode == 0, sim.stdout + sim.stderr
    run = _run(installed, str(installed["bin"] / "sdss-run-local"), "--epochs", "2", "--accuracy-floor", "0.3",
               "--class-recall-floor", "0")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "blessed: YES" in run.stdout
    (version,) = (work / "outputs" / "serving" / MODEL_NAME).iterdir()
    assert (work / "outputs" / "metadata.sqlite").is_file() and (work / "outputs" / "logs" / "run_local.log").is_file()
    assert (work / "outputs" / "pipeline_root" / "Trainer").is_dir()

    from ingest import records

    obj = next(records.read_split(work / "data" / "simulated", "test"))
    (work / "obj.jpg").write_bytes(obj.image_jpeg)
    bands = [a for b in c.BANDS for a in (f"--{b}", str(obj.mags[b]))]
    predict = _run(installed, str(installed["bin"] / "sdss-predict"), *bands, "--redshift", str(obj.redshift),
                   "--image", "obj.jpg")
    assert predict.returncode == 0, predict.stdout + predict.stderr
    assert f"model: outputs/serving/{MODEL_NAME}/{version.name}\n" in predict.stdout  # ./outputs/serving by default
    assert "read 1, predicted 1, failed 0" in predict.stdout
    inspect = _run(installed, str(installed["bin"] / "sdss-inspect"))
    assert inspect.returncode == 0, inspect.stdout + inspect.stderr
    assert f"{work.resolve() / 'outputs' / 'pipeline_root' / 'Evaluator'}" in inspect.stdout  # ./outputs' MLMD
    assert "QSO" in inspect.stdout
    # Nothing was written into the installed package or the checkout.
    assert _snapshot(pkg) == before_pkg
    assert {d: _snapshot(REPO / d) for d in ("outputs", "data")} == before_repo
    assert sorted(p.name for p in REPO.iterdir()) == installed["repo_top_level"]
