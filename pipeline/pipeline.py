"""The pipeline definition: one pure function, shared by every runner (local, Dataflow, Kubeflow)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

# Not `from tfx import v1`: that package also imports the Vertex AI client libraries, seconds of every run's
# start-up (and of a fully cached rerun) that a local or Beam run never uses (BENCHMARKS.md, "Cost", phases).
from tfx.components import Evaluator, ExampleValidator, ImportExampleGen, Pusher, StatisticsGen, Trainer, Transform
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.importer import Importer
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2
from tfx.types import Channel, standard_artifacts

import contract as c
from components import atomic_pusher, drift_baseline
from components.anomalies_gate import AnomaliesGate
from components.baseline_resolver import BLESSING, CANDIDATE, MODEL, OlderBlessedModelStrategy
from components.curated_schema import CuratedSchemaImporter
from components.drift import DriftCheck
from components.drift_baseline import TrainingDataStatisticsStrategy
from components.evaluation_report import EvaluationReport
from pipeline import configs, eval_config
from pipeline.fingerprint import Fingerprints
from pipeline.run_config import RunConfig


@dataclass(frozen=True)
class PipelineParams:
    """Everything the definition reads: the settled run settings, and what pipeline/assemble.py derives for them.
    A new run setting is one RunConfig field (which is also its flag) and the component here that reads it."""

    run: RunConfig  # settled (pipeline/run_config.settle): paths absolute, the data's defaults filled
    schema_uri: str  # where the components read the schema (inside a container image, for Kubeflow)
    schema_sha256: str  # of the schema's content: the schema importer's cache key
    fingerprints: Fingerprints
    pipeline_name: str = configs.PIPELINE_NAME
    metadata_connection_config: Any | None = None
    beam_pipeline_args: tuple[str, ...] = ()
    trainer_run_fn: str = "trainer.train.run_fn"
    # Resolvers with our own strategies walk MLMD lineage: the baseline is the latest blessed model *older* than
    # the candidate, and drift compares with the statistics behind it. The KFP v2 compiler accepts only TFX's
    # LatestBlessedModelStrategy; without custom resolvers the baseline is the latest blessed model (a rerun
    # re-evaluates instead of hitting the cache) and DriftCheck runs without a baseline.
    custom_resolvers: bool = True


def create_pipeline(params: PipelineParams) -> Pipeline:
    """The TFX pipeline: ingest, validate, check drift, transform, train, evaluate, report, push."""
    p, run = params, params.run
    # Reads the gzip TFRecords of tf.Examples, keeping the data's own train/eval split.
    example_gen = ImportExampleGen(
        input_base=run.data_dir,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=s, pattern=f"{s}/{c.RECORD_GLOB}") for s in c.PIPELINE_SPLITS]))

    # Computes per-split feature statistics for validation and the evaluation report.
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])

    # Imports the curated schema from schema/, keyed by its content hash.
    schema_importer = CuratedSchemaImporter(schema_file=p.schema_uri, content_sha256=p.schema_sha256)
    statistics, schema = statistics_gen.outputs["statistics"], schema_importer.outputs["schema"]
    validation = _validation(p, statistics, schema)
    drift = _drift(p, statistics, schema)

    # Scales photometry (and the redshift, unless `inputs` is photometric), adds colours, maps labels to fixed ids;
    # the graph is reused at serving.
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema,
        preprocessing_fn="trainer.transform.preprocessing_fn",
        custom_config={"decode_images": run.decode_images_in_transform, "inputs": run.inputs,
                       "code_sha256": p.fingerprints.train},
        # Pre-transform statistics would repeat StatisticsGen's; nothing reads the post-transform ones.
        disable_statistics=True)
    transform.add_upstream_node(validation[-1])
    transform.add_upstream_node(drift[-1])

    # Imports an image model trained on real cutouts (a pushed version, or a Trainer's model) as the encoder.
    encoder_importer = None
    if run.image_encoder:
        encoder_importer = Importer(source_uri=run.image_encoder, artifact_type=standard_artifacts.Model
                                    ).with_id("image_encoder")

    # Trains the Keras fusion (or unimodal) model, from the imported encoder if any, and saves its signatures.
    trainer = Trainer(
        base_model=encoder_importer.outputs["result"] if encoder_importer else None,
        run_fn=p.trainer_run_fn,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
        custom_config={"model_kind": run.model, "inputs": run.inputs, "epochs": run.epochs,
                       "patience": configs.PATIENCE, "learning_rate": configs.LEARNING_RATE, "seed": run.seed,
                       "encoder_trainable": bool(run.fine_tune_encoder), "head": run.head,
                       "code_sha256": p.fingerprints.train})

    baseline_resolver = _baseline(p, trainer)

    # Evaluates on the eval split, overall and per class, and blesses the model only if the gate passes.
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs[MODEL],
        eval_config=eval_config.build(eval_config.Gate(
            accuracy_floor=run.accuracy_floor, class_recall_floor=run.class_recall_floor,
            max_accuracy_drop=run.max_accuracy_drop, max_qso_recall_drop=run.max_qso_recall_drop),
            code_sha256=p.fingerprints.evaluate),
        example_splits=["eval"])

    # Writes the HTML report (tables, plots, misclassified cutouts) for this evaluation, blessed or not.
    evaluation_report = EvaluationReport(
        evaluation=evaluator.outputs["evaluation"],
        model=trainer.outputs["model"],
        model_run=trainer.outputs["model_run"],
        examples=example_gen.outputs["examples"],
        data_dir=run.data_dir,
        code_sha256=p.fingerprints.report,
        drift=drift[-1].outputs["drift"])

    # Copies a blessed model to <serving_dir>/<model_name>/<version>/ for TF Serving, complete or not at all.
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
            base_directory=os.path.join(run.serving_dir, run.serving_model_name))),
        custom_config={"code_sha256": p.fingerprints.push},
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor))

    return Pipeline(
        pipeline_name=p.pipeline_name,
        pipeline_root=run.pipeline_root,
        components=[example_gen, statistics_gen, schema_importer, *validation, *drift, transform,
                    *([encoder_importer] if encoder_importer else []), trainer, baseline_resolver, evaluator,
                    evaluation_report, pusher],
        enable_cache=run.enable_cache,
        metadata_connection_config=p.metadata_connection_config,
        beam_pipeline_args=list(p.beam_pipeline_args),
    )


def _validation(p: PipelineParams, statistics: Channel, schema: Channel) -> list[Any]:
    """ExampleValidator and the gate after it; the gate is last, and Transform waits for it."""
    # Compares the statistics with the curated schema.
    example_validator = ExampleValidator(statistics=statistics, schema=schema)
    # Fails the run, naming each anomaly, before anything trains on bad data.
    anomalies_gate = AnomaliesGate(anomalies=example_validator.outputs["anomalies"], schema_file=p.schema_uri)
    return [example_validator, anomalies_gate]


def _drift(p: PipelineParams, statistics: Channel, schema: Channel) -> list[Any]:
    """DriftCheck, after the resolver that finds its baseline where resolvers can walk lineage; DriftCheck is last."""
    # Finds the statistics of the data behind the latest blessed model (none before the first blessing).
    drift_resolver = None
    if p.custom_resolvers:
        drift_resolver = Resolver(
            strategy_class=TrainingDataStatisticsStrategy,
            **{drift_baseline.CURRENT: statistics,
               drift_baseline.STATISTICS: Channel(type=standard_artifacts.ExampleStatistics),
               drift_baseline.MODEL: Channel(type=standard_artifacts.Model),
               drift_baseline.BLESSING: Channel(type=standard_artifacts.ModelBlessing)},
        ).with_id("drift_baseline")

    # Measures drift of today's data against it; warns in the summary and report, or halts before Transform.
    drift_check = DriftCheck(
        statistics=statistics, schema=schema,
        baseline_statistics=drift_resolver.outputs[drift_baseline.STATISTICS] if drift_resolver else None,
        thresholds_json=json.dumps(dict(p.run.drift_thresholds), sort_keys=True), mode=p.run.drift,
        code_sha256=p.fingerprints.drift)
    return [*([drift_resolver] if drift_resolver else []), drift_check]


def _baseline(p: PipelineParams, trainer: Trainer) -> Resolver:
    """The Evaluator's baseline model (see PipelineParams.custom_resolvers)."""
    # Picks the baseline: the latest blessed model older than this candidate (none on a first run).
    if not p.custom_resolvers:
        return Resolver(strategy_class=LatestBlessedModelStrategy,
                        model=Channel(type=standard_artifacts.Model),
                        model_blessing=Channel(type=standard_artifacts.ModelBlessing)
                        ).with_id("baseline_resolver")
    return Resolver(
        strategy_class=OlderBlessedModelStrategy,
        **{CANDIDATE: trainer.outputs["model"],
           MODEL: Channel(type=standard_artifacts.Model),
           BLESSING: Channel(type=standard_artifacts.ModelBlessing)},
    ).with_id("baseline_resolver")
