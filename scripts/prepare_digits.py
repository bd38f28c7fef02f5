"""Build tinygrad_edu/datasets/digits.npz from scikit-learn's bundled copy of the digits.

Run once by a maintainer (`python scripts/prepare_digits.py`); scikit-learn is needed
here only, never at run time. The data: UCI Optical Recognition of Handwritten Digits
(E. Alpaydin, C. Kaynak, 1998), CC BY 4.0, https://doi.org/10.24432/C50P49.
"""

from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parent.parent / "tinygrad_edu" / "datasets" / "digits.npz"


def main() -> None:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("this script needs scikit-learn: pip install scikit-learn") from error
    digits = load_digits()
    images = digits.images.astype(np.uint8)
    target = digits.target.astype(np.uint8)
    # The pixels are block counts 0..16 and the labels 0..9: uint8 holds them exactly.
    assert np.array_equal(images, digits.images) and np.array_equal(target, digits.target)
    assert images.shape == (1797, 8, 8) and set(np.unique(target)) == set(range(10))
    np.savez_compressed(OUTPUT, images=images, target=target)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
