"""`python -m benchmarks`: run the suite (options: python -m benchmarks --help; see suite.py)."""

import sys

from .suite import main

sys.exit(main())
