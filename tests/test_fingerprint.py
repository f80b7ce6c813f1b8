"""Edits to trainer code or to the schema change the parameters that TFX keys its cache on."""

import shutil

from tfx.dsl.compiler import compiler

from components.curated_schema import file_sha256
from pipeline import configs, eval_config
from pipeline.fingerprint import tree_sha256
from pipeline.pipeline import create_pipeline


def _params(schema_sha: str, code_sha: str, tmp_path) -> dict[str, dict[str, str]]:
    p = create_pipeline(
        pipeline_name="t", pipeline_root=str(tmp_path / "root"), data_dir=str(tmp_path / "data"),
        schema_file=str(configs.SCHEMA_FILE), schema_sha256=schema_sha, code_sha256=code_sha,
        serving_dir=str(tmp_path / "serving"), model_name="m", eval_config=eval_config.build(),
        train_config={"epochs": 1}, decode_images_in_transform=False, metadata_connection_config=None,
        beam_pipeline_args=configs.beam_args_local())
    ir = compiler.Compiler().compile(p)
    out = {}
    for node in ir.nodes:
        pn = node.pipeline_node
        out[pn.node_info.id] = {k: str(v.field_value) for k, v in pn.parameters.parameters.items()}
    return out


def test_code_edit_changes_the_fingerprint(tmp_path):
    code = tmp_path / "trainer"
    shutil.copytree(configs.REPO_ROOT / "trainer", code, ignore=shutil.ignore_patterns("__pycache__"))
    before = tree_sha256([code], configs.CODE_FILES)
    assert before == tree_sha256([code], configs.CODE_FILES)
    (code / "model.py").write_text((code / "model.py").read_text().replace("Dropout(0.2)", "Dropout(0.3)"))
    assert tree_sha256([code], configs.CODE_FILES) != before


def test_fingerprints_reach_the_cache_keys_of_dependent_components(tmp_path):
    base = _params("schema-a", "code-a", tmp_path)
    code_edit = _params("schema-a", "code-b", tmp_path)
    schema_edit = _params("schema-b", "code-a", tmp_path)
    changed_by_code = {n for n in base if base[n] != code_edit[n]}
    changed_by_schema = {n for n in base if base[n] != schema_edit[n]}
    assert changed_by_code == {"Transform", "Trainer"}
    assert changed_by_schema == {"CuratedSchemaImporter"}  # its new artifact then invalidates the rest


def test_schema_hash_follows_content(tmp_path):
    copy = tmp_path / "schema.pbtxt"
    shutil.copy(configs.SCHEMA_FILE, copy)
    before = file_sha256(str(copy))
    copy.write_text(copy.read_text() + "\n# reviewed\n")
    assert file_sha256(str(copy)) != before
