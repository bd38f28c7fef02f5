"""`python -m benchmarks`: the suite of tinygrad_edu/bench/ (options: python -m benchmarks --help)."""

import sys

from tinygrad_edu.bench.suite import main

sys.exit(main())
