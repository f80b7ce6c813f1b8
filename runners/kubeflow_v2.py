"""Compiles the pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines: a pipeline-spec JSON; nothing runs here.

    python -m runners.kubeflow_v2 --image europe-west4-docker.pkg.dev/PROJECT/sdss/sdss-tfx:TAG \\
        --data-dir gs://BUCKET/data --pipeline-root gs://BUCKET/root --serving-dir gs://BUCKET/serving \\
        --output sdss_pipeline.json --runner dataflow --project PROJECT --region europe-west4 \\
        --temp-location gs://BUCKET/tmp --sdk-container-image europe-west4-docker.pkg.dev/PROJECT/sdss/sdss-tfx:TAG

Every component runs in --image (built from the Dockerfile); with --runner dataflow the Beam components
(ImportExampleGen, StatisticsGen, Transform, Evaluator) hand their work to Dataflow. Submit the JSON with the
Vertex AI SDK: `aiplatform.PipelineJob(display_name=..., template_path="sdss_pipeline.json").submit()`.
On a cluster the orchestrator provides MLMD, so no connection config is compiled in.
"""

from __future__ import annotations

import argparse
import os
import sys

import runtime_env  # noqa: F401 - the process environment, before TensorFlow loads

from pipeline import configs
from pipeline.assemble import assemble
from pipeline.run_config import ConfigError, RunConfig, add_run_arguments, settle
from runners import beam, settings

# Where the Dockerfile's `pip install` of the wheel puts this package inside the image (python:3.10-slim's
# site-packages): the schema, package data of `schema`, is read from there at run time.
IMAGE_CODE_ROOT = "/usr/local/lib/python3.10/site-packages"


def compile_spec(cfg: RunConfig, image: str, output: str, beam_pipeline_args: list[str],
                 schema_in_image: str | None = None) -> str:
    """Writes the pipeline-spec JSON to `output` and returns its path."""
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as kfp

    schema_local = settle(cfg).schema_file  # the schema this model kind and input set take
    in_image = schema_in_image or os.path.join(IMAGE_CODE_ROOT, os.path.relpath(schema_local, configs.CODE_ROOT))
    runner = kfp.KubeflowV2DagRunner(config=kfp.KubeflowV2DagRunnerConfig(default_image=image),
                                     output_dir=os.path.dirname(os.path.abspath(output)),
                                     output_filename=os.path.basename(output))
    # The KFP v2 compiler accepts only TFX's own resolver strategy (pipeline/pipeline.py PipelineParams).
    runner.run(assemble(cfg, beam_pipeline_args=beam_pipeline_args, metadata_connection_config=None,
                        schema_uri=in_image, custom_resolvers=False))
    return output


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m runners.kubeflow_v2", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True, help="the pipeline image (Dockerfile), pushed to a registry")
    p.add_argument("--output", default="sdss_pipeline.json")
    # On a cluster, data, root and serving folder are gs:// (or another remote store): no local default fits.
    # --schema-file names the local copy of the schema the image carries (hashed here).
    add_run_arguments(p, required=("data_dir", "pipeline_root", "serving_dir"))
    beam.add_arguments(p)
    args = p.parse_args(argv)
    try:
        cfg, beam_args = settings.from_flags(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"compiled: {compile_spec(cfg, args.image, args.output, beam_args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
