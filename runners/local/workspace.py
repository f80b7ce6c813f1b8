"""One folder for everything a local run writes: its pipeline root, MLMD store, serving folder and log.

Tests and benchmarks run the pipeline side by side, each in a folder of its own; this is the one place that says
which flag puts what where inside it, so a new output location is added once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def pipeline_root(self) -> Path:
        return Path(self.root) / "root"

    @property
    def metadata_path(self) -> Path:
        return Path(self.root) / "metadata.sqlite"

    @property
    def serving_dir(self) -> Path:
        return Path(self.root) / "serving"

    @property
    def log_file(self) -> Path:
        return Path(self.root) / "run.log"

    def flags(self, data_dir: str | Path, *extra: str) -> list[str]:
        """The run flags that read `data_dir` and write only inside this folder."""
        return ["--data-dir", str(data_dir), "--pipeline-root", str(self.pipeline_root),
                "--metadata-path", str(self.metadata_path), "--serving-dir", str(self.serving_dir),
                "--log-file", str(self.log_file), *extra]

    def command(self, data_dir: str | Path, *extra: str) -> list[str]:
        """`python pipeline/run_local.py` with those flags, run from the checkout."""
        return [sys.executable, "pipeline/run_local.py", *self.flags(data_dir, *extra)]
