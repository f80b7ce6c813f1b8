"""The pipeline definition: one pure function, shared by every runner (local, Dataflow, Kubeflow)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import tensorflow_model_analysis as tfma

# Not `from tfx import v1`: that package also imports the Vertex AI client libraries, about 4 s of every
# run's start-up (and of a fully cached rerun) that a local or Beam run never uses.
from tfx.components import Evaluator, ExampleValidator, ImportExampleGen, Pusher, StatisticsGen, Trainer, Transform
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.importer import Importer
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2
from tfx.types import Channel, standard_artifacts

from components import atomic_pusher, drift_baseline
from components.anomalies_gate import AnomaliesGate
from components.baseline_resolver import BLESSING, CANDIDATE, MODEL, OlderBlessedModelStrategy
from components.curated_schema import CuratedSchemaImporter
from components.drift import DriftCheck
from components.drift_baseline import TrainingDataStatisticsStrategy
from components.evaluation_report import EvaluationReport
from ingest import contract as c


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_dir: str,
    schema_file: str,
    schema_sha256: str,
    code_sha256: Mapping[str, str],
    serving_dir: str,
    model_name: str,
    eval_config: tfma.EvalConfig,
    train_config: dict[str, Any],
    decode_images_in_transform: bool,
    inputs: str,
    metadata_connection_config: Any | None,
    beam_pipeline_args: list[str],
    enable_cache: bool = True,
    trainer_run_fn: str = "trainer.train.run_fn",
    image_encoder_uri: str | None = None,
    drift_thresholds: Mapping[str, float] | None = None,
    drift_mode: str = "warn",
    orchestrator: str = "local",
) -> Pipeline:
    """`orchestrator`: "local" (LocalDagRunner, Beam anywhere) or "kubeflow_v2" (Vertex AI Pipelines / KFP v2).

    The KFP v2 compiler accepts only TFX's own LatestBlessedModelStrategy resolver. There, the Evaluator's baseline
    is the latest blessed model (a rerun re-evaluates instead of hitting the cache), and DriftCheck runs without a
    baseline: finding the statistics behind that model needs MLMD lineage, which only a custom resolver can walk.
    """
    if orchestrator not in ("local", "kubeflow_v2"):
        raise ValueError(f"orchestrator must be 'local' or 'kubeflow_v2', got {orchestrator!r}")
    on_kfp = orchestrator == "kubeflow_v2"
    # Reads the gzip TFRecords of tf.Examples, keeping the data's own hash-by-objid train/eval split.
    example_gen = ImportExampleGen(
        input_base=data_dir,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=s, pattern=f"{s}/{c.RECORD_GLOB}") for s in c.PIPELINE_SPLITS]))

    # Computes per-split feature statistics for validation and the evaluation report.
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])

    # Imports the curated schema from schema/, keyed by its content hash.
    schema_importer = CuratedSchemaImporter(schema_file=schema_file, content_sha256=schema_sha256)

    # Compares the statistics with the curated schema.
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_importer.outputs["schema"])

    # Fails the run, naming each anomaly, before anything trains on bad data.
    anomalies_gate = AnomaliesGate(anomalies=example_validator.outputs["anomalies"], schema_file=schema_file)

    # Finds the statistics of the data behind the latest blessed model (none before the first blessing).
    drift_resolver = None
    if not on_kfp:
        drift_resolver = Resolver(
            strategy_class=TrainingDataStatisticsStrategy,
            **{drift_baseline.CURRENT: statistics_gen.outputs["statistics"],
               drift_baseline.STATISTICS: Channel(type=standard_artifacts.ExampleStatistics),
               drift_baseline.MODEL: Channel(type=standard_artifacts.Model),
               drift_baseline.BLESSING: Channel(type=standard_artifacts.ModelBlessing)},
        ).with_id("drift_baseline")

    # Measures drift of today's data against it; warns in the summary and report, or halts before Transform.
    drift_check = DriftCheck(
        statistics=statistics_gen.outputs["statistics"], schema=schema_importer.outputs["schema"],
        baseline_statistics=drift_resolver.outputs[drift_baseline.STATISTICS] if drift_resolver else None,
        thresholds_json=json.dumps(dict(drift_thresholds or {}), sort_keys=True), mode=drift_mode,
        code_sha256=code_sha256["drift"])

    # Scales photometry (and the redshift, unless `inputs` is photometric), adds colours, maps labels to fixed ids;
    # the graph is reused at serving.
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_importer.outputs["schema"],
        preprocessing_fn="trainer.transform.preprocessing_fn",
        custom_config={"decode_images": decode_images_in_transform, "inputs": inputs,
                       "code_sha256": code_sha256["train"]},
        # Pre-transform statistics would repeat StatisticsGen's; nothing reads the post-transform ones.
        disable_statistics=True)
    transform.add_upstream_node(anomalies_gate)
    transform.add_upstream_node(drift_check)

    # Imports an image model trained on real cutouts (a pushed version, or a Trainer's model) as the encoder.
    encoder_importer = None
    if image_encoder_uri:
        encoder_importer = Importer(source_uri=image_encoder_uri, artifact_type=standard_artifacts.Model
                                    ).with_id("image_encoder")

    # Trains the Keras fusion (or unimodal) model, from the imported encoder if any, and saves its signatures.
    trainer = Trainer(
        base_model=encoder_importer.outputs["result"] if encoder_importer else None,
        run_fn=trainer_run_fn,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_importer.outputs["schema"],
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
        custom_config={**train_config, "code_sha256": code_sha256["train"]})

    # Picks the baseline: the latest blessed model older than this candidate (none on a first run).
    if on_kfp:
        baseline_resolver = Resolver(strategy_class=LatestBlessedModelStrategy,
                                     model=Channel(type=standard_artifacts.Model),
                                     model_blessing=Channel(type=standard_artifacts.ModelBlessing)
                                     ).with_id("baseline_resolver")
    else:
        baseline_resolver = Resolver(
            strategy_class=OlderBlessedModelStrategy,
            **{CANDIDATE: trainer.outputs["model"],
               MODEL: Channel(type=standard_artifacts.Model),
               BLESSING: Channel(type=standard_artifacts.ModelBlessing)},
        ).with_id("baseline_resolver")

    # Evaluates on the eval split, overall and per class, and blesses the model only if the gate passes.
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs[MODEL],
        eval_config=eval_config,
        example_splits=["eval"])

    # Writes the HTML report (tables, plots, misclassified cutouts) for this evaluation, blessed or not.
    evaluation_report = EvaluationReport(
        evaluation=evaluator.outputs["evaluation"],
        model=trainer.outputs["model"],
        model_run=trainer.outputs["model_run"],
        examples=example_gen.outputs["examples"],
        data_dir=data_dir,
        code_sha256=code_sha256["report"],
        drift=drift_check.outputs["drift"])

    # Copies a blessed model to <serving_dir>/<model_name>/<version>/ for TF Serving, complete or not at all.
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
            base_directory=os.path.join(serving_dir, model_name))),
        custom_config={"code_sha256": code_sha256["push"]},
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor))

    return Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_importer, example_validator, anomalies_gate,
                    *([drift_resolver] if drift_resolver else []), drift_check, transform,
                    *([encoder_importer] if encoder_importer else []), trainer, baseline_resolver, evaluator,
                    evaluation_report, pusher],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args,
    )
