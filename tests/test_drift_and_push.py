"""The drift report's words, and the pusher's promise that a version folder is complete or absent."""

import pytest

from components import atomic_pusher
from components.drift import headline
from evaluation import html_report
from evaluation.results import Evaluation, ModelMetrics


def _report(comparisons, baseline="/root/StatisticsGen/statistics/3"):
    return {"mode": "warn", "baseline": baseline, "comparisons": comparisons, "why": "no blessed model yet"}


def test_headline_names_each_drifted_feature_with_its_measure():
    rows = [{"feature": "u", "measure": "Jensen-Shannon", "value": 0.634, "threshold": 0.15, "drifted": True},
            {"feature": "class", "measure": "L-infinity", "value": 0.02, "threshold": 0.15, "drifted": False}]
    assert headline(_report(rows)) == ("drift: u (Jensen-Shannon 0.63 > 0.15) against the data behind the latest "
                                       "blessed model (warn)")
    assert headline(_report([{**rows[1]}])) == "drift: none against the data behind the latest blessed model"
    assert headline(_report([], baseline=None)) == "drift: not checked (no blessed model yet)"


def test_the_html_report_shows_the_drift_table():
    ev = Evaluation(uri="/eval", blessed=True, failures=[], baseline=None,
                    candidate=ModelMetrics(accuracy=0.9, macro_f1=0.9, n=10))
    page = html_report.render(html_report.ReportInputs(
        evaluation=ev, model_uri="/m", provenance="(data: test)",
        drift_headline="drift: u (Jensen-Shannon 0.63 > 0.15)",
        drift_rows=[["u", "Jensen-Shannon", "0.634", "0.15", "YES"]]))
    assert "<h2>Data drift (train split)</h2>" in page and "<td>YES</td>" in page


def test_a_push_that_fails_midway_leaves_no_version(tmp_path, monkeypatch):
    model = tmp_path / "model"
    (model / "variables").mkdir(parents=True)
    (model / "variables" / "variables.index").write_bytes(b"x")
    (model / "saved_model.pb").write_bytes(b"pb")
    base = tmp_path / "serving"

    def killed(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic_pusher.io_utils, "copy_file", killed)
    with pytest.raises(OSError):
        atomic_pusher.copy_model(str(model), str(base / "1700000000"))
    assert not (base / "1700000000").exists()
    assert [p.name for p in base.iterdir()] == [".1700000000.partial"]  # hidden: no model server takes it
    monkeypatch.undo()
    assert atomic_pusher.remove_partials(str(base)) == [str(base / ".1700000000.partial")]
    atomic_pusher.copy_model(str(model), str(base / "1700000001"))
    assert sorted(p.name for p in (base / "1700000001").rglob("*")) == ["saved_model.pb", "variables",
                                                                         "variables.index"]
