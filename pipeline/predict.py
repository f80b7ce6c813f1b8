"""`python pipeline/predict.py [--help]`, as the README has long said: the CLI is inference/predict.py (`sdss-predict`).

Run as a script, Python puts pipeline/ first on sys.path, where pipeline.py would shadow the package of that
name; the repository root goes there instead (installed, `sdss-predict` needs no such line).
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    from inference.predict import main

    sys.exit(main())
