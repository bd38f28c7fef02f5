"""DataLoader, train_test_split and the bundled digits data set."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import DataLoader, train_test_split
from tinygrad_edu.datasets import load_digits

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10, dtype=np.int32)


def epoch_rows(loader):
    """The first column of X in iteration order, and the batch sizes."""
    batches = list(loader)
    return np.concatenate([xb.data[:, 0] for xb, _ in batches]) / 2, [len(xb) for xb, _ in batches]


def test_batches_are_tensors_and_cover_every_sample_once():
    loader = DataLoader(X, Y, batch_size=3, seed=0)
    assert len(loader) == 4
    for xb, yb in loader:
        assert isinstance(xb, tg.Tensor) and isinstance(yb, tg.Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb.data[:, 0] / 2, yb.data)  # rows stay paired
    rows, sizes = epoch_rows(loader)
    assert sizes == [3, 3, 3, 1]
    assert sorted(rows) == list(range(10))


def test_seed_replays_epochs_and_each_epoch_reshuffles():
    first, second = DataLoader(X, Y, 4, seed=7), DataLoader(X, Y, 4, seed=7)
    epochs = [epoch_rows(first)[0] for _ in range(3)]
    for epoch in epochs:
        np.testing.assert_array_equal(epoch, epoch_rows(second)[0])
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[0], np.arange(10))


def test_no_shuffle_keeps_order_and_drop_last():
    loader = DataLoader(X, Y, batch_size=4, shuffle=False, drop_last=True)
    assert len(loader) == 2
    rows, sizes = epoch_rows(loader)
    assert sizes == [4, 4]
    np.testing.assert_array_equal(rows, np.arange(8))


def test_tensor_and_list_inputs():
    loader = DataLoader(tg.Tensor(X.astype(np.float64)), [float(v) for v in Y], batch_size=5)
    xb, yb = next(iter(loader))
    assert xb.dtype == np.float64 and yb.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, ValueError, "batch_size"),
        ({"batch_size": True}, ValueError, "batch_size"),
        ({"batch_size": 2, "seed": 1.5}, TypeError, "seed"),
        ({"batch_size": 2, "y": Y[:5]}, ValueError, "10 and 5"),
        ({"batch_size": 2, "y": np.int64(3)}, ValueError, "shapes"),
    ],
)
def test_invalid_arguments(kwargs, error, message):
    arguments = {"X": X, "y": Y, **kwargs}
    with pytest.raises(error, match=message):
        DataLoader(**arguments)


def test_train_test_split():
    X_train, X_test, y_train, y_test = train_test_split(X, Y, test_fraction=0.25, seed=1)
    assert len(X_test) == 3 and len(X_train) == 7  # ⌈0.25·10⌉ held out
    np.testing.assert_array_equal(X_train[:, 0] / 2, y_train)
    assert sorted(np.concatenate([y_train, y_test])) == list(range(10))
    again = train_test_split(X, Y, test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(again[3], y_test)
    as_tensors = train_test_split(tg.Tensor(X), tg.Tensor(Y), seed=1)
    assert all(isinstance(part, tg.Tensor) for part in as_tensors)
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(X, Y, test_fraction=1.0)
    with pytest.raises(ValueError, match="no training samples"):
        train_test_split(X[:1], Y[:1], test_fraction=0.5)
    with pytest.raises(ValueError, match="10 and 9"):
        train_test_split(X, Y[:9])


def test_load_digits():
    X_digits, y_digits = load_digits()
    assert X_digits.shape == (1797, 64) and X_digits.dtype == np.float32
    assert y_digits.shape == (1797,) and y_digits.dtype == np.int64
    assert X_digits.min() == 0 and X_digits.max() == 16
    np.testing.assert_array_equal(X_digits, np.round(X_digits))
    assert np.bincount(y_digits).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    X_digits[0, 0] = 99  # each call returns fresh arrays
    assert load_digits()[0][0, 0] == 0


def test_load_digits_matches_scikit_learn_copy():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    X_digits, y_digits = load_digits()
    np.testing.assert_array_equal(X_digits, reference.data)
    np.testing.assert_array_equal(y_digits, reference.target)
