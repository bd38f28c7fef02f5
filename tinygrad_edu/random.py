"""The one random number generator behind rand, randn, dropout and initialisation.

`manual_seed(seed)` replaces it, so a seeded run is reproducible end to end.
"""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Make rand, randn, dropout and parameter initialisation reproducible."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The current generator (call each time: manual_seed replaces it)."""
    return _generator
