"""The local runner (LocalDagRunner; runners/local/runner.py) and what only it uses: preflight, progress lines, the run
lock and the run summary. `python -m runners.local`, `sdss-run-local` and `python pipeline/run_local.py` are one
entry, `main`, with one --help."""

from runners.local.runner import PHASES_PREFIX, main, parse_args

__all__ = ["PHASES_PREFIX", "main", "parse_args"]
