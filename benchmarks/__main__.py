"""`python -m benchmarks`: the suite in tinygrad_edu/bench/ (see python -m benchmarks --help)."""

import sys

from tinygrad_edu.bench.suite import main

sys.exit(main())
