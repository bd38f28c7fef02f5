"""Small real data sets shipped inside the package, so examples run without a network.

One for now: the UCI handwritten digits (load_digits). Each loader reads a compressed
.npz with allow_pickle=False. Read ../data.py next to split and batch what it returns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_DIGITS_PATH = Path(__file__).with_name("digits.npz")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The handwritten digits: X (1797, 64) float32 pixel counts 0..16, y (1797,) int64 labels 0..9.

    Each row is an 8x8 image flattened row by row: every pixel counts the set pixels of
    a 4x4 block of a 32x32 bitmap, hence 0..16. The values are returned raw, on purpose:
    scaling them is part of the lesson (see tinygrad_edu.features; LinearScaler maps them
    to [-1, 1]). Reshape X to (-1, 8, 8) to see the images.

    Source: the test set of "Optical Recognition of Handwritten Digits", E. Alpaydin and
    C. Kaynak (1998), UCI Machine Learning Repository, https://doi.org/10.24432/C50P49,
    licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); this copy was taken
    from scikit-learn's bundled one by scripts/prepare_digits.py and stored unchanged.
    """
    with np.load(_DIGITS_PATH, allow_pickle=False) as archive:
        images, target = archive["images"], archive["target"]
    return images.reshape(len(images), -1).astype(np.float32), target.astype(np.int64)


__all__ = ["load_digits"]
