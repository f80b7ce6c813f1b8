"""The documented entry point: `python pipeline/run_local.py [--help]`; the runner is runners/local/ (`sdss-run-local`).

Run as a script, Python puts pipeline/ first on sys.path, where pipeline.py would shadow the package of that
name; the repository root goes there instead (installed, `sdss-run-local` needs no such line).
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    from runners.local import main

    sys.exit(main())
