"""Edits to code or to the schema change the parameters that TFX keys its cache on, for exactly the components
whose output that code shapes."""

import ast
import dataclasses
import shutil
from pathlib import Path

import pytest
from tfx.dsl.compiler import compiler

import contract as c
from components.curated_schema import file_sha256
from pipeline import configs
from pipeline.fingerprint import Fingerprints, tree_sha256
from pipeline.pipeline import PipelineParams, create_pipeline
from pipeline.run_config import RunConfig, settle
from runners.beam import BeamOptions, beam_args

BASE = Fingerprints(**{f.name: f"{f.name}-a" for f in dataclasses.fields(Fingerprints)})
# The modules each fingerprinted component runs (pipeline/pipeline.py names them as dotted paths or classes).
ENTRIES = {"train": ("trainer/train.py", "trainer/transform.py"), "evaluate": ("evaluation/argmax_metrics.py",),
           "report": ("components/evaluation_report.py",), "push": ("components/atomic_pusher.py",),
           "drift": ("components/drift.py", "components/drift_baseline.py")}


def _params(schema_sha: str, fingerprints: Fingerprints, tmp_path, inputs: str = c.SPECTROSCOPIC
            ) -> dict[str, dict[str, str]]:
    run = settle(RunConfig(data_dir=str(tmp_path / "data"), pipeline_root=str(tmp_path / "root"),
                           serving_dir=str(tmp_path / "serving"), serving_model_name="m", epochs=1, inputs=inputs))
    p = create_pipeline(PipelineParams(
        run=run, schema_uri=str(configs.SCHEMA_FILE), schema_sha256=schema_sha, fingerprints=fingerprints,
        pipeline_name="t", beam_pipeline_args=tuple(beam_args(BeamOptions()))))
    ir = compiler.Compiler().compile(p)
    out = {}
    for node in ir.nodes:
        pn = node.pipeline_node
        out[pn.node_info.id] = {k: str(v.field_value) for k, v in pn.parameters.parameters.items()}
    return out


def _first_party_imports(entry: Path) -> set[Path]:
    """Every module of this repository that `entry` imports, directly or not, lazily inside functions included."""
    seen, todo = set(), [entry]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for node in ast.walk(ast.parse(f.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            for name in names:
                base = configs.CODE_ROOT.joinpath(*name.split("."))
                todo += [p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()]
    return seen


def _covered(paths) -> set[Path]:
    files = set()
    for p in paths:
        files |= set(p.rglob("*.py")) if p.is_dir() else {p}
    return files


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_each_fingerprint_covers_every_module_its_component_imports(name):
    covered = _covered(configs.CODE_FOR[name])
    imported = set().union(*(_first_party_imports(configs.CODE_ROOT / e) for e in ENTRIES[name]))
    # A package's __init__ that holds only a docstring shapes nothing.
    shaping = {p for p in imported if p.name != "__init__.py" or ast.parse(p.read_text()).body[1:]}
    assert {p.relative_to(configs.CODE_ROOT).as_posix() for p in shaping - covered} == set()


def test_fingerprints_name_exactly_the_code_families():
    with pytest.raises(ValueError, match="CODE_FOR must name exactly"):
        Fingerprints.of({**configs.CODE_FOR, "serve": ()})
    hashes = dataclasses.astuple(Fingerprints.of(configs.CODE_FOR))
    assert len(set(hashes)) == len(hashes)


def test_code_edit_changes_the_fingerprint(tmp_path):
    code = tmp_path / "trainer"
    shutil.copytree(configs.CODE_ROOT / "trainer", code, ignore=shutil.ignore_patterns("__pycache__"))
    contract = configs.CODE_ROOT / "contract.py"
    before = tree_sha256([code, contract])
    assert before == tree_sha256([code, contract])
    (code / "model.py").write_text((code / "model.py").read_text().replace("Dropout(0.2)", "Dropout(0.3)"))
    assert tree_sha256([code, contract]) != before


def test_fingerprints_reach_the_cache_keys_of_dependent_components(tmp_path):
    base = _params("schema-a", BASE, tmp_path)
    changed = {}
    for name in ENTRIES:
        edit = _params("schema-a", dataclasses.replace(BASE, **{name: f"{name}-b"}), tmp_path)
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
