"""`python -m runners.local [--help]`: the same entry as `sdss-run-local` and `python pipeline/run_local.py`."""

import sys

from runners.local.runner import main

sys.exit(main())
