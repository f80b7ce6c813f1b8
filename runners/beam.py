"""Beam arguments per execution engine, for the pipeline's Beam components.

ImportExampleGen, StatisticsGen, Transform and the Evaluator are Beam jobs;
LocalDagRunner (or Kubeflow) orchestrates them, and these args say where they
run. Workers outside this process import this package (Transform's
preprocessing_fn and the Trainer's run_fn are dotted paths), so every remote
engine needs it installed: a container image built from the Dockerfile
(`--sdk-container-image`), or a built wheel (`--extra-package`). They also need
runtime_env.WORKER_ENV, which the image sets; an external worker pool must be
started with it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from pipeline.run_config import ConfigError

RUNNERS = ("direct", "portable", "flink", "spark", "dataflow")


@dataclass
class BeamOptions:
    runner: str = "direct"
    direct_num_workers: int = 1
    job_endpoint: str | None = None  # portable: host:port of a Beam job service
    worker_pool: str | None = None  # host:port of an external SDK worker pool (EXTERNAL environment)
    sdk_container_image: str | None = None  # DOCKER environment (Flink, Spark) or Dataflow's custom container
    flink_master: str | None = None
    spark_master_url: str | None = None
    project: str | None = None
    region: str | None = None
    temp_location: str | None = None
    extra_package: str | None = None
    max_num_workers: int | None = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Beam (where the Beam components run)")
    g.add_argument("--runner", choices=RUNNERS, default="direct",
                   help="direct: in this process (default); portable: a Beam job service; flink, spark, dataflow")
    g.add_argument("--direct-num-workers", type=int, default=1,
                   help="direct runner workers; >1 switches to multi-processing")
    g.add_argument("--job-endpoint", help="portable: the job service, e.g. localhost:8099")
    g.add_argument("--worker-pool", help="portable/flink/spark: an external SDK worker pool, e.g. localhost:50000")
    g.add_argument("--sdk-container-image", help="workers' image (built from the Dockerfile)")
    g.add_argument("--flink-master", help="flink: host:port of the JobManager")
    g.add_argument("--spark-master-url", help="spark: e.g. spark://host:7077")
    g.add_argument("--project", help="dataflow: GCP project")
    g.add_argument("--region", help="dataflow: region, e.g. europe-west4")
    g.add_argument("--temp-location", help="dataflow: gs:// folder for temporary files")
    g.add_argument("--extra-package", help="dataflow: this package built as a wheel or sdist (`python -m build`)")
    g.add_argument("--max-num-workers", type=int, help="dataflow: autoscaling ceiling")


def from_namespace(ns: argparse.Namespace) -> BeamOptions:
    names = BeamOptions.__dataclass_fields__
    return BeamOptions(**{k: v for k, v in vars(ns).items() if k in names})


def _need(opts: BeamOptions, *names: str) -> None:
    missing = [n for n in names if not getattr(opts, n)]
    if missing:
        flags = ", ".join("--" + n.replace("_", "-") for n in missing)
        raise ConfigError(f"--runner {opts.runner} needs {flags}")


def _environment(opts: BeamOptions) -> list[str]:
    """Where the SDK workers run: an external pool (Kubernetes sidecar, or this machine) or a container."""
    if opts.worker_pool:
        return ["--environment_type=EXTERNAL", f"--environment_config={opts.worker_pool}"]
    if opts.sdk_container_image:
        return ["--environment_type=DOCKER", f"--environment_config={opts.sdk_container_image}"]
    raise ConfigError(f"--runner {opts.runner} needs --worker-pool (an external SDK worker pool started with "
                        "runtime_env.WORKER_ENV) or --sdk-container-image (the Dockerfile's image)")


def beam_args(opts: BeamOptions) -> list[str]:
    """The Beam pipeline args for one engine; ConfigError names what a required setting lacks."""
    if opts.runner == "direct":
        if opts.direct_num_workers <= 1:  # in-memory Beam is fastest on a 2-core machine
            return ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
        return ["--direct_running_mode=multi_processing", f"--direct_num_workers={opts.direct_num_workers}"]
    if opts.runner == "portable":
        _need(opts, "job_endpoint")
        return ["--runner=PortableRunner", f"--job_endpoint={opts.job_endpoint}", *_environment(opts)]
    if opts.runner == "flink":
        _need(opts, "flink_master")
        return ["--runner=FlinkRunner", f"--flink_master={opts.flink_master}", *_environment(opts)]
    if opts.runner == "spark":
        _need(opts, "spark_master_url")
        return ["--runner=SparkRunner", f"--spark_master_url={opts.spark_master_url}", *_environment(opts)]
    if opts.runner == "dataflow":
        _need(opts, "project", "region", "temp_location")
        if not opts.temp_location.startswith("gs://"):
            raise ConfigError(f"--runner dataflow needs a gs:// --temp-location, got {opts.temp_location}")
        if opts.sdk_container_image:
            package = [f"--sdk_container_image={opts.sdk_container_image}"]
        elif opts.extra_package:
            package = [f"--extra_package={opts.extra_package}"]
        else:
            raise ConfigError("--runner dataflow needs --sdk-container-image (the Dockerfile's image, which also "
                                "sets runtime_env.WORKER_ENV) or --extra-package (this package built as a wheel)")
        return ["--runner=DataflowRunner", f"--project={opts.project}", f"--region={opts.region}",
                f"--temp_location={opts.temp_location}", "--experiments=use_runner_v2", *package,
                *([f"--max_num_workers={opts.max_num_workers}"] if opts.max_num_workers else [])]
    raise ConfigError(f"unknown runner {opts.runner!r}; one of {', '.join(RUNNERS)}")
