import re

from benchmarks.common import timed, write_section
from tests.helpers import REPO


def _scripts():
    """The benchmark scripts: those that publish a BENCHMARKS.md section."""
    return sorted(p for p in (REPO / "benchmarks").glob("*.py")
                  if "publish(" in p.read_text() and p.name != "common.py")


def test_write_section_replaces_only_its_own_section(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    write_section("A", "first a", md)
    write_section("B", "only b", md)
    write_section("A", "second a", md)
    text = md.read_text()
    assert text.count("## A") == 1 and "second a" in text and "first a" not in text
    assert "only b" in text and text.index("## A") < text.index("## B")


def test_timed_reports_the_child_peak_rss():
    run = timed(["python3", "-c", "x = bytearray(200 * 2**20); print('ok')"])
    assert run.returncode == 0 and run.stdout.strip() == "ok"
    assert run.peak_rss_mb >= 200


def test_a_benchmark_records_the_command_as_run_and_writes_only_when_asked(tmp_path, monkeypatch, capsys):
    from benchmarks import common
    from pipeline import configs

    p = common.parser("benchmarks/some_study.py", "doc", epochs=configs.EPOCHS)
    p.add_argument("--title", default="Some study")
    args = common.parse(p, ["--epochs", "3", "--title", "a b", "--no-write"])
    assert args.command == "python -m benchmarks.some_study --epochs 3 --title 'a b' --no-write"
    assert common.parse(p, []).epochs == configs.EPOCHS
    md = tmp_path / "BENCHMARKS.md"
    monkeypatch.setattr(common, "BENCHMARKS_MD", md)
    assert common.publish("Some study", "body", args) == "body" and not md.exists()
    common.publish("Some study", "body", common.parse(p, []))
    assert "## Some study\n\nbody" in md.read_text() and "body" in capsys.readouterr().out


def test_every_benchmark_script_uses_the_one_skeleton():
    """Its own parser (the command recorded as run, --no-write) and publish(): no command rebuilt by hand, no
    unconditional write to BENCHMARKS.md, no epoch count that is not the configs' unless the study says why."""
    for path in _scripts():
        text = path.read_text()
        assert "parser(__file__, __doc__" in text and "parse(p, argv)" in text, path
        assert "write_section(" not in text and "argparse.ArgumentParser(" not in text, path
        assert not re.search(r'f?"python -m benchmarks\.', text.split('"""', 2)[-1]), path
        for default in re.findall(r'"--epochs", type=int, default=([^,)]+)', text):
            assert default.startswith("configs.") or 'help="the same at every size' in text, (path, default)


def test_every_benchmark_is_run_by_a_make_target_and_has_a_smoke_test():
    """benchmarks/ is the regression set: a script no target runs, or no test runs, is a finished study to delete."""
    scripts = {p.stem for p in _scripts()}
    assert {"cost", "exact_pairs", "drift"} <= scripts
    assert set(re.findall(r"-m benchmarks\.(\w+)", (REPO / "Makefile").read_text())) == scripts
    smoke = set()
    for test in (REPO / "tests").glob("test_*.py"):
        smoke |= set(re.findall(r"\b(\w+)\.main\(\[", test.read_text()))
    assert scripts - smoke == set()
