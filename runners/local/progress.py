"""One console line per component, read from the TFX orchestrator's own log records.

LocalDagRunner announces each node and the launcher says whether it reused a
cached execution; a logging handler turns those records into
`Transform  done  19.3s` lines while the full logs go to the log file.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class NodeStatus:
    node_id: str
    state: str = "running"
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    finished: bool = False


class ProgressHandler(logging.Handler):
    def __init__(self, console: TextIO) -> None:
        super().__init__(level=logging.INFO)
        self.console = console
        self.nodes: list[NodeStatus] = []

    def _current(self) -> NodeStatus | None:
        return self.nodes[-1] if self.nodes and not self.nodes[-1].finished else None

    def emit(self, record: logging.LogRecord) -> None:
        msg, args = record.msg, record.args
        if msg == "Component %s is running.":
            self.nodes.append(NodeStatus(str(args[0])))
            if self.console.isatty():  # a terminal sees "running", overwritten in place by the outcome
                self.console.write(f"  {args[0]:<24} running ...")
                self.console.flush()
        elif msg == "A cached execution %d is used." and self._current():
            self._current().state = "cached"
        elif msg.startswith("Going to run a new execution") and self._current():
            self._current().state = "executing"
        elif msg == "Component %s is finished." and self._current():
            node = self._current()
            node.seconds = time.monotonic() - node.started
            node.state = "cached" if node.state == "cached" else "done"
            node.finished = True
            prefix = "\r" if self.console.isatty() else ""
            self.console.write(f"{prefix}  {node.node_id:<24} {node.state:<8} {node.seconds:6.1f}s\n")
            self.console.flush()

    def failed_node(self) -> str | None:
        node = self._current()
        return node.node_id if node else None
