"""Runners beyond this process: Beam presets per engine, the Kubeflow V2 / Vertex spec, the container image."""

import json
import re
import sys
from pathlib import Path

import runtime_env

import pytest
from google.protobuf import json_format

from pipeline.run_config import ConfigError, RunConfig
from runners import beam, kubeflow_v2
from tests.e2e import REPO

IMAGE = "europe-west4-docker.pkg.dev/proj/sdss/sdss-tfx:1"
BEAM_COMPONENTS = ("ImportExampleGen", "StatisticsGen", "Transform", "Evaluator")


@pytest.mark.parametrize("opts, expected", [
    (beam.BeamOptions(), ["--direct_running_mode=in_memory", "--direct_num_workers=1"]),
    (beam.BeamOptions(direct_num_workers=2), ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]),
    (beam.BeamOptions(runner="portable", job_endpoint="localhost:8099", worker_pool="localhost:50000"),
     ["--runner=PortableRunner", "--job_endpoint=localhost:8099", "--environment_type=EXTERNAL",
      "--environment_config=localhost:50000"]),
    (beam.BeamOptions(runner="flink", flink_master="jm:8081", sdk_container_image=IMAGE),
     ["--runner=FlinkRunner", "--flink_master=jm:8081", "--environment_type=DOCKER", f"--environment_config={IMAGE}"]),
    (beam.BeamOptions(runner="spark", spark_master_url="spark://m:7077", worker_pool="localhost:50000"),
     ["--runner=SparkRunner", "--spark_master_url=spark://m:7077", "--environment_type=EXTERNAL",
      "--environment_config=localhost:50000"]),
    (beam.BeamOptions(runner="dataflow", project="p", region="europe-west4", temp_location="gs://b/tmp",
                      extra_package="dist/sdss_tfx-0.1.0-py3-none-any.whl", max_num_workers=20),
     ["--runner=DataflowRunner", "--project=p", "--region=europe-west4", "--temp_location=gs://b/tmp",
      "--experiments=use_runner_v2", "--extra_package=dist/sdss_tfx-0.1.0-py3-none-any.whl", "--max_num_workers=20"]),
])
def test_each_engine_gets_its_beam_args(opts, expected):
    assert beam.beam_args(opts) == expected


@pytest.mark.parametrize("opts, says", [
    (beam.BeamOptions(runner="portable", worker_pool="localhost:50000"), "--runner portable needs --job-endpoint"),
    (beam.BeamOptions(runner="portable", job_endpoint="localhost:8099"), "needs --worker-pool"),
    (beam.BeamOptions(runner="flink", worker_pool="x:1"), "--runner flink needs --flink-master"),
    (beam.BeamOptions(runner="spark", worker_pool="x:1"), "--runner spark needs --spark-master-url"),
    (beam.BeamOptions(runner="dataflow", project="p"), "--runner dataflow needs --region, --temp-location"),
    (beam.BeamOptions(runner="dataflow", project="p", region="r", temp_location="/tmp"),
     "needs a gs:// --temp-location"),
    (beam.BeamOptions(runner="dataflow", project="p", region="r", temp_location="gs://b"),
     "needs --sdk-container-image (the Dockerfile's image"),
])
def test_a_missing_required_option_is_named(opts, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        beam.beam_args(opts)


def test_run_local_refuses_an_incomplete_preset_with_exit_2(sim300, capsys):
    from runners.local import main

    assert main(["--data-dir", str(sim300), "--runner", "dataflow", "--project", "p"]) == 2
    assert "error: --runner dataflow needs --region, --temp-location" in capsys.readouterr().err


def _spec(tmp_path, runner_args: list[str]) -> dict:
    out = tmp_path / "spec.json"
    cfg = RunConfig(data_dir="gs://b/data", pipeline_root="gs://b/root", serving_dir="gs://b/serving")
    kubeflow_v2.compile_spec(cfg, IMAGE, str(out), runner_args)
    return json.loads(out.read_text())


def test_kubeflow_v2_spec_has_every_component_on_the_image_with_dataflow_args(tmp_path):
    from kfp.pipeline_spec import pipeline_spec_pb2

    raw = _spec(tmp_path, beam.beam_args(beam.BeamOptions(
        runner="dataflow", project="p", region="europe-west4", temp_location="gs://b/tmp", sdk_container_image=IMAGE)))
    job = json_format.ParseDict(raw, pipeline_spec_pb2.PipelineJob())  # a valid PipelineJob, or this raises
    spec = json_format.MessageToDict(job.pipeline_spec)
    tasks = spec["root"]["dag"]["tasks"]
    assert {"ImportExampleGen", "StatisticsGen", "CuratedSchemaImporter", "ExampleValidator", "AnomaliesGate",
            "DriftCheck", "Transform", "Trainer", "Evaluator", "EvaluationReport", "Pusher"} <= set(tasks)
    assert any(t.startswith("baseline_resolver") for t in tasks)
    executors = spec["deploymentSpec"]["executors"]
    containers = {name: e["container"] for name, e in executors.items() if "container" in e}
    assert len(containers) == 11 and {c["image"] for c in containers.values()} == {IMAGE}

    def params(task: str) -> dict:
        values = {k: v.get("runtimeValue", {}) for k, v in tasks[task]["inputs"].get("parameters", {}).items()}
        return {k: v.get("constant", v.get("constantValue", {}).get("stringValue")) for k, v in values.items()}

    assert params("Transform")["preprocessing_fn"] == "trainer.transform.preprocessing_fn"
    assert params("Trainer")["run_fn"] == "trainer.train.run_fn"
    # The schema is package data: where the image's `pip install` of the wheel puts it.
    assert params("CuratedSchemaImporter")["schema_file"] == (
        "/usr/local/lib/python3.10/site-packages/schema/schema.pbtxt")
    assert params("ImportExampleGen")["input_base"] == "gs://b/data"
    for name, container in containers.items():
        args = container.get("args", [])
        if any(name.endswith(f"{c}_executor") or name == f"{c}_executor" for c in BEAM_COMPONENTS):
            assert "--runner=DataflowRunner" in args and f"--sdk_container_image={IMAGE}" in args, (name, args)
    beam_executors = [n for n in containers if any(c in n for c in BEAM_COMPONENTS)]
    assert len(beam_executors) == len(BEAM_COMPONENTS), sorted(containers)


def test_the_image_sets_the_worker_environment_and_installs_the_pinned_set():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.10", dockerfile, re.M)
    for name, value in runtime_env.WORKER_ENV.items():
        assert re.search(rf"^ENV .*\b{name}={value}\b", dockerfile, re.M), name
    assert "pip install --no-cache-dir -r /tmp/requirements.lock" in dockerfile
    # The runtime stage installs the wheel and copies no source tree: its only COPY of the context is the lock.
    runtime = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.findall(r"^COPY (?!--from)(.*)$", runtime, re.M) == ["requirements.lock /tmp/requirements.lock"]
    assert "pip install --no-cache-dir --no-deps /wheels/*.whl" in runtime
    assert kubeflow_v2.IMAGE_CODE_ROOT.startswith("/usr/local/lib/python3.10/")  # python:3.10-slim's site-packages
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.M)  # Kubeflow and Dataflow set each container's command
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "data", "outputs", ".git"} <= set(ignored)


def test_the_build_context_is_the_source_without_data_or_environments():
    import fnmatch
    import subprocess

    patterns = (REPO / ".dockerignore").read_text().split()
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    context = [f for f in tracked if not any(fnmatch.fnmatch(f, p) or f.startswith(p.rstrip("/") + "/")
                                             for p in patterns)]
    assert {"requirements.lock", "pyproject.toml", "schema/schema.pbtxt", "trainer/transform.py"} <= set(context)
    assert sum((REPO / f).stat().st_size for f in context if (REPO / f).exists()) < 20 * 2**20


def test_the_console_scripts_print_their_help(capsys):
    import importlib

    table = (REPO / "pyproject.toml").read_text().split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    scripts = dict(re.findall(r'^([\w-]+) = "([\w.]+:\w+)"', table, re.M))
    assert set(scripts) == {"sdss-run-local", "sdss-predict", "sdss-inspect", "sdss-ingest", "sdss-classify-catalog"}
    for name, target in scripts.items():
        module, func = target.split(":")
        main = getattr(importlib.import_module(module), func)
        if name == "sdss-ingest":
            continue  # its sub-commands parse sys.argv; tests/test_import*.py run it
        with pytest.raises(SystemExit) as done:
            main(["--help"])
        assert done.value.code == 0 and "usage:" in capsys.readouterr().out


def test_mlmd_readers_take_a_sqlite_path_or_any_connection_config(tmp_path):
    from ml_metadata.proto import metadata_store_pb2

    from pipeline import metadata as md

    mysql = tmp_path / "mlmd.pbtxt"
    mysql.write_text('mysql { host: "mlmd.internal" port: 3306 database: "mlmd" user: "ro" }\n')
    cfg = md.connection_config(str(mysql))
    assert cfg.WhichOneof("config") == "mysql" and cfg.mysql.host == "mlmd.internal"
    sqlite = md.connection_config(str(tmp_path / "m.sqlite"))
    assert sqlite.sqlite.connection_mode == metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    assert md.connection_config(cfg) is cfg


def test_the_commands_the_compiled_spec_runs_exist_in_this_environment(tmp_path):
    import importlib

    raw = _spec(tmp_path, beam.beam_args(beam.BeamOptions()))
    executors = raw["pipelineSpec"]["deploymentSpec"]["executors"].values()
    commands = {tuple(e["container"]["command"]) for e in executors if "container" in e}
    assert commands == {("python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor")}
    importlib.import_module("tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor")
    for e in executors:  # every executor class the image must import
        args = e.get("container", {}).get("args", [])
        if "--executor_class_path" in args:
            module, _, cls = args[args.index("--executor_class_path") + 1].rpartition(".")
            assert hasattr(importlib.import_module(module), cls), module


def _help(main, capsys) -> str:
    with pytest.raises(SystemExit):
        main(["--help"])
    return capsys.readouterr().out


def test_every_runner_takes_every_run_setting_with_one_default(capsys):
    """The flags come from RunConfig: a setting added there reaches the local run and the Vertex compile alike."""
    import dataclasses

    from runners.local import parse_args

    flags = [f.metadata.get("flag", "--" + f.name.replace("_", "-")) for f in dataclasses.fields(RunConfig)
             if "help" in f.metadata]
    assert {"--data-dir", "--model", "--inputs", "--seed", "--accuracy-floor", "--class-recall-floor",
            "--max-accuracy-drop", "--max-qso-recall-drop", "--drift", "--no-cache", "--image-encoder"} <= set(flags)
    from runners.local import main as local_main

    for text in (_help(local_main, capsys), _help(kubeflow_v2.main, capsys)):
        missing = [flag for flag in flags if f"{flag} " not in text and f"{flag}\n" not in text]
        assert not missing, missing
    assert "{fusion,tabular,image}" in _help(kubeflow_v2.main, capsys)  # trainer/features.MODEL_KINDS
    # Unset flags give RunConfig's own defaults; --no-cache turns enable_cache off.
    defaults = RunConfig.from_namespace(parse_args([]))
    assert dataclasses.asdict(defaults) == dataclasses.asdict(RunConfig())
    assert RunConfig.from_namespace(parse_args(["--no-cache"])).enable_cache is False


@pytest.mark.parametrize("runner", ["local", "kubeflow_v2"])
def test_image_only_records_need_model_image_in_every_runner(runner, tmp_path, capsys):
    from ingest.provenance import IMPORT_SUMMARY, LABELLED_CUTOUTS
    from runners.local import main as local_main

    data = tmp_path / "cutouts"
    for split in ("train", "eval"):  # shards the early check finds (empty: the settings fail first)
        (data / split).mkdir(parents=True)
        (data / split / "part-00000.tfrecord.gz").write_bytes(b"")
    (data / IMPORT_SUMMARY).write_text(json.dumps({"kind": LABELLED_CUTOUTS}))
    if runner == "local":
        code = local_main(["--data-dir", str(data), "--metadata-path", str(tmp_path / "m.sqlite")])
    else:
        code = kubeflow_v2.main(["--image", IMAGE, "--data-dir", str(data), "--pipeline-root", "gs://b/root",
                                 "--serving-dir", "gs://b/serving", "--output", str(tmp_path / "spec.json")])
    assert code == 2
    assert f"error: {data} holds labelled cutouts without photometry; train them with --model image" in (
        capsys.readouterr().err)
    assert not (tmp_path / "spec.json").exists() and not (tmp_path / "m.sqlite").exists()


def test_settle_fills_the_encoder_defaults_once(tmp_path, monkeypatch):
    from ingest.provenance import IMPORT_SUMMARY, LABELLED_CUTOUTS
    from pipeline import configs, run_config

    (tmp_path / IMPORT_SUMMARY).write_text(json.dumps({"kind": LABELLED_CUTOUTS}))
    cfg = run_config.settle(RunConfig(data_dir=str(tmp_path), model="image"))
    assert (cfg.schema_file, cfg.epochs, cfg.accuracy_floor, cfg.serving_model_name) == (
        str(configs.IMAGE_SCHEMA_FILE), configs.ENCODER_EPOCHS, configs.ENCODER_ACCURACY_FLOOR,
        configs.ENCODER_MODEL_NAME)
    monkeypatch.setattr(run_config, "is_image_only", lambda _: pytest.fail("settled twice"))
    assert run_config.settle(cfg) is cfg
    with pytest.raises(ConfigError, match=r"--inputs must be one of \['spectroscopic', 'photometric'\]"):
        run_config.settle(RunConfig(data_dir="gs://b/data", inputs="spectral"))


def test_the_head_is_the_forest_unless_the_model_is_image_only_and_impossible_pairs_are_refused(tmp_path):
    from ingest.provenance import IMPORT_SUMMARY, LABELLED_CUTOUTS
    from pipeline import run_config

    assert run_config.settle(RunConfig(data_dir="gs://b/data")).head == "forest"
    assert run_config.settle(RunConfig(data_dir="gs://b/data", head="mlp")).head == "mlp"
    (tmp_path / IMPORT_SUMMARY).write_text(json.dumps({"kind": LABELLED_CUTOUTS}))
    assert run_config.settle(RunConfig(data_dir=str(tmp_path), model="image")).head == "mlp"
    for cfg, says in ((RunConfig(data_dir="gs://b/data", model="image", head="forest"), "image-only model"),
                      (RunConfig(data_dir="gs://b/data", fine_tune_encoder=True), "--head mlp"),
                      (RunConfig(data_dir="gs://b/data", decode_images_in_transform=True), "JPEG bytes"),
                      (RunConfig(data_dir="gs://b/data", head="knn"), "--head must be one of")):
        with pytest.raises(ConfigError, match=says):
            run_config.settle(cfg)


def test_a_vertex_compile_sets_the_gate_floors_seed_and_cache(tmp_path):
    def compile_with(*flags: str) -> dict:
        out = tmp_path / "spec.json"
        assert kubeflow_v2.main(["--image", IMAGE, "--data-dir", "gs://b/data", "--pipeline-root", "gs://b/root",
                                 "--serving-dir", "gs://b/serving", "--output", str(out), *flags]) == 0
        return json.loads(out.read_text())["pipelineSpec"]["root"]["dag"]["tasks"]

    def param(task: dict, name: str) -> str:
        return task["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]["stringValue"]

    tasks = compile_with("--accuracy-floor", "0.93", "--class-recall-floor", "0.81", "--max-accuracy-drop", "0.02",
                         "--max-qso-recall-drop", "0.04", "--seed", "7", "--no-cache")
    metrics = json.loads(param(tasks["Evaluator"], "eval_config"))["metrics_specs"][0]["metrics"]
    gate = next(m for m in metrics if m["class_name"] == "SparseCategoricalAccuracy")["per_slice_thresholds"]
    by_slice = {json.dumps(t["slicing_specs"][0], sort_keys=True): t["threshold"] for t in gate}
    assert by_slice["{}"]["value_threshold"]["lower_bound"] == 0.93
    assert by_slice["{}"]["change_threshold"]["absolute"] == -0.02
    for name in ("GALAXY", "STAR", "QSO"):
        assert by_slice[json.dumps({"feature_values": {"class": name}})]["value_threshold"]["lower_bound"] == 0.81
    assert by_slice[json.dumps({"feature_values": {"class": "QSO"}})]["change_threshold"]["absolute"] == -0.04
    assert json.loads(param(tasks["Trainer"], "custom_config"))["seed"] == 7
    assert not any(t.get("cachingOptions", {}).get("enableCache") for t in tasks.values())
    assert compile_with()["Trainer"]["cachingOptions"] == {"enableCache": True}


@pytest.mark.parametrize("user_level, expected", [(None, "3"), ("0", "0")])
def test_the_user_clis_hide_tensorflows_start_up_errors_unless_asked(user_level, expected):
    """Entry points get TF_USE_LEGACY_KERAS and log level 2 from runtime_env; sdss-predict, sdss-inspect and the
    catalogue job go to 3, so their stderr holds the user's row errors, not cuBLAS registration noise."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_USE_LEGACY_KERAS")}
    if user_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = user_level
    code = ("import os, runtime_env; before = os.environ['TF_CPP_MIN_LOG_LEVEL']; runtime_env.quiet_tensorflow(); "
            "print(os.environ['TF_USE_LEGACY_KERAS'], before, os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["1", user_level or "2", expected]


def test_the_local_runner_has_one_entry_and_one_help_however_it_is_started():
    import subprocess

    bin_dir = Path(sys.executable).parent
    helps = {}
    for how in (["pipeline/run_local.py"], ["-m", "runners.local"]):
        proc = subprocess.run([sys.executable, *how, "--help"], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        helps[" ".join(how)] = proc.stdout
    script = bin_dir / "sdss-run-local"
    if script.exists():  # the console script of the editable install (`make` makes it)
        proc = subprocess.run([str(script), "--help"], cwd=REPO, capture_output=True, text=True)
        helps["sdss-run-local"] = proc.stdout
    assert len(set(helps.values())) == 1 and "--data-dir" in helps["-m runners.local"], helps.keys()


def test_the_assembly_imports_follow_the_data_flow():
    """The pipeline's definition reads settled settings without importing the assembly (no circle), and settling
    finds a pushed encoder through the Pusher's serving layout, not through inference/ (which is downstream)."""
    from pipeline import configs
    from tests.test_fingerprint import _first_party_imports

    root = configs.CODE_ROOT
    for module in ("pipeline/pipeline.py", "pipeline/run_config.py"):
        assert root / "pipeline" / "assemble.py" not in _first_party_imports(root / module), module
    reached = _first_party_imports(root / "pipeline" / "run_config.py")
    assert root / "components" / "serving_layout.py" in reached
    assert not [p for p in reached if p.relative_to(root).parts[0] == "inference"]
