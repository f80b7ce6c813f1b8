from benchmarks.common import timed, write_section


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
