import io
import logging

from runners.local.progress import ProgressHandler


def _log(handler, msg, *args):
    handler.emit(logging.LogRecord("absl", logging.INFO, __file__, 1, msg, args, None))


def test_one_line_per_component_with_its_outcome():
    out = io.StringIO()
    h = ProgressHandler(out)
    _log(h, "Component %s is running.", "StatisticsGen")
    _log(h, "A cached execution %d is used.", 3)
    _log(h, "Component %s is finished.", "StatisticsGen")
    _log(h, "Component %s is running.", "Trainer")
    _log(h, "Going to run a new execution %d", 4)
    _log(h, "Component %s is finished.", "Trainer")
    _log(h, "Component %s is running.", "Evaluator")
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [["StatisticsGen", "cached"], ["Trainer", "done"]]
    assert h.failed_node() == "Evaluator"  # started, never finished


def test_no_failed_node_once_everything_finished():
    h = ProgressHandler(io.StringIO())
    _log(h, "Component %s is running.", "Pusher")
    _log(h, "A cached execution %d is used.", 9)
    _log(h, "Component %s is finished.", "Pusher")
    assert h.failed_node() is None
