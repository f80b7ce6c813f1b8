"""Edits to code or to the schema change the parameters that TFX keys its cache on, for exactly the components
whose output that code shapes."""

import shutil

from tfx.dsl.compiler import compiler

from components.curated_schema import file_sha256
from ingest import contract as c
from pipeline import configs, eval_config
from pipeline.fingerprint import code_hashes, tree_sha256
from pipeline.pipeline import create_pipeline
from runners.beam import BeamOptions, beam_args

BASE = {name: f"{name}-a" for name in configs.CODE_FOR}


def _params(schema_sha: str, code_sha: dict[str, str], tmp_path, inputs: str = c.SPECTROSCOPIC
            ) -> dict[str, dict[str, str]]:
    p = create_pipeline(
        pipeline_name="t", pipeline_root=str(tmp_path / "root"), data_dir=str(tmp_path / "data"),
        schema_file=str(configs.SCHEMA_FILE), schema_sha256=schema_sha, code_sha256=code_sha,
        serving_dir=str(tmp_path / "serving"), model_name="m",
        eval_config=eval_config.build(code_sha256=code_sha["evaluate"]),
        train_config={"epochs": 1, "inputs": inputs}, decode_images_in_transform=False, inputs=inputs,
        metadata_connection_config=None,
        beam_pipeline_args=beam_args(BeamOptions()))
    ir = compiler.Compiler().compile(p)
    out = {}
    for node in ir.nodes:
        pn = node.pipeline_node
        out[pn.node_info.id] = {k: str(v.field_value) for k, v in pn.parameters.parameters.items()}
    return out


def test_code_edit_changes_the_fingerprint(tmp_path):
    code = tmp_path / "trainer"
    shutil.copytree(configs.CODE_ROOT / "trainer", code, ignore=shutil.ignore_patterns("__pycache__"))
    contract = configs.CODE_ROOT / "ingest" / "contract.py"
    before = tree_sha256([code, contract])
    assert before == tree_sha256([code, contract])
    (code / "model.py").write_text((code / "model.py").read_text().replace("Dropout(0.2)", "Dropout(0.3)"))
    assert tree_sha256([code, contract]) != before


def test_each_code_hash_covers_the_code_that_shapes_its_output():
    covered = {name: {p.relative_to(configs.CODE_ROOT).as_posix() for p in paths}
               for name, paths in configs.CODE_FOR.items()}
    assert {"trainer", "ingest/contract.py"} <= covered["train"]
    assert "evaluation/argmax_metrics.py" in covered["evaluate"]
    assert {"evaluation", "components/evaluation_report.py"} <= covered["report"]
    assert "components/atomic_pusher.py" in covered["push"]
    assert {"components/drift.py", "components/drift_baseline.py"} <= covered["drift"]
    assert len(set(code_hashes(configs.CODE_FOR).values())) == len(configs.CODE_FOR)


def test_fingerprints_reach_the_cache_keys_of_dependent_components(tmp_path):
    base = _params("schema-a", BASE, tmp_path)
    changed = {}
    for name in BASE:
        edit = _params("schema-a", {**BASE, name: f"{name}-b"}, tmp_path)
        changed[name] = {n for n in base if base[n] != edit[n]}
    schema_edit = _params("schema-b", BASE, tmp_path)
    assert changed == {"train": {"Transform", "Trainer"}, "evaluate": {"Evaluator"},
                       "report": {"EvaluationReport"}, "push": {"Pusher"}, "drift": {"DriftCheck"}}
    assert {n for n in base if base[n] != schema_edit[n]} == {"CuratedSchemaImporter"}  # its artifact re-runs the rest
    photometric = _params("schema-a", BASE, tmp_path, inputs=c.PHOTOMETRIC)
    assert {n for n in base if base[n] != photometric[n]} == {"Transform", "Trainer"}  # never the other inputs


def test_schema_hash_follows_content(tmp_path):
    copy = tmp_path / "schema.pbtxt"
    shutil.copy(configs.SCHEMA_FILE, copy)
    before = file_sha256(str(copy))
    copy.write_text(copy.read_text() + "\n# reviewed\n")
    assert file_sha256(str(copy)) != before
