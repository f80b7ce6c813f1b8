"""The curated schema agrees with the record contract, and TFDV flags what the gate must stop."""

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

import contract as c
from components.anomalies_gate import describe
from tests.helpers import load_schema


def test_schema_matches_the_contract():
    schema = load_schema()
    features = {ft.name: ft for ft in schema.feature}
    assert set(features) == {c.OBJID, c.IMAGE, c.LABEL, *c.FLOAT_FEATURES}
    for name in c.FLOAT_FEATURES:
        dom = features[name].float_domain
        assert (dom.min, dom.max) == pytest.approx(c.feature_range(name)), name
    domain = {d.name: list(d.value) for d in schema.string_domain}[features[c.LABEL].domain]
    assert domain == list(c.CLASS_NAMES)
    assert list(features[c.LABEL].not_in_environment) == ["SERVING"]
    assert features[c.IMAGE].presence.min_fraction == 1.0 and list(features[c.IMAGE].shape.dim)[0].size == 1


def test_photometric_schema_is_the_schema_with_the_redshift_optional():
    strict, photometric = load_schema(), load_schema("photometric_schema.pbtxt")
    loose = {ft.name: ft for ft in photometric.feature}
    assert loose[c.REDSHIFT].presence.min_fraction == 0 and not loose[c.REDSHIFT].HasField("shape")
    assert loose[c.REDSHIFT].float_domain == {ft.name: ft for ft in strict.feature}[c.REDSHIFT].float_domain
    for ft in strict.feature:
        if ft.name != c.REDSHIFT:
            assert loose[ft.name] == ft, ft.name
    assert list(photometric.string_domain) == list(strict.string_domain)
    no_redshift = _frame().drop(columns=[c.REDSHIFT])
    assert not tfdv.validate_statistics(tfdv.generate_statistics_from_dataframe(no_redshift), photometric,
                                        environment="TRAINING").anomaly_info
    assert tfdv.validate_statistics(tfdv.generate_statistics_from_dataframe(no_redshift), strict,
                                    environment="TRAINING").anomaly_info  # the spectroscopic schema needs it


def _anomalies_for(df: pd.DataFrame, tmp_path, environment=None):
    stats = tfdv.generate_statistics_from_dataframe(df)
    anomalies = tfdv.validate_statistics(stats, load_schema(), environment=environment)
    split_dir = tmp_path / "Split-eval"
    split_dir.mkdir()
    (split_dir / "SchemaDiff.pb").write_bytes(anomalies.SerializeToString())
    return describe(str(tmp_path), ["eval"])


def _frame(**overrides):
    row = {c.OBJID: b"1", c.RA: 180.0, c.DEC: 1.0, "u": 18.0, "g": 17.0, "r": 16.5, "i": 16.3, "z": 16.2,
           c.REDSHIFT: 0.05, c.IMAGE: b"\xff\xd8jpeg", c.LABEL: b"GALAXY"}
    rows = [dict(row) for _ in range(20)]
    rows[3].update(overrides)
    return pd.DataFrame(rows)


def test_clean_data_has_no_anomalies(tmp_path):
    assert _anomalies_for(_frame(), tmp_path, environment="TRAINING") == []


def test_gate_names_the_feature_and_the_problem(tmp_path):
    lines = _anomalies_for(_frame(u=-9999.0, **{c.LABEL: b"UNKNOWN"}), tmp_path, environment="TRAINING")
    text = "\n".join(lines)
    assert "feature 'u'" in text and "feature 'class'" in text, text
    assert all(line.startswith("[eval] ") for line in lines)


def test_gate_names_the_schema_file_it_checked_against(tmp_path):
    """Not always schema/schema.pbtxt: a photometric or image-only run validates against its own schema."""
    from tfx.types import standard_artifacts

    from components.anomalies_gate import AnomaliesGate, DataAnomaliesError

    _anomalies_for(_frame(u=-9999.0), tmp_path, environment="TRAINING")
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri, anomalies.split_names = str(tmp_path), '["eval"]'
    gate = AnomaliesGate.EXECUTOR_SPEC.executor_class._FUNCTION  # the component's own function
    with pytest.raises(DataAnomaliesError, match=r"data does not match /repo/schema/photometric_schema\.pbtxt, "
                                                 r"stopping before Transform:\n  \[eval\] feature 'u'"):
        gate(anomalies=anomalies, schema_file="/repo/schema/photometric_schema.pbtxt")
