"""tg.multinomial against its definition: frequencies, no repeats without replacement,
PyTorch's shapes and refusals."""

import numpy as np
import pytest

import tinygrad_edu as tg


def test_frequencies_follow_the_weights():
    tg.manual_seed(0)
    weights = tg.tensor([1.0, 0.0, 3.0, 6.0])  # need not sum to 1
    draws = tg.multinomial(weights, 20000, replacement=True)
    assert draws.dtype == np.int64 and draws.shape == (20000,) and not draws.requires_grad
    counts = np.bincount(draws.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(counts, [0.1, 0.0, 0.3, 0.6], atol=0.015)


def test_without_replacement_each_category_at_most_once_per_row():
    tg.manual_seed(1)
    weights = tg.rand(50, 6, dtype=tg.float64) + 0.01
    draws = weights.multinomial(6).numpy()
    assert draws.shape == (50, 6)
    assert all(sorted(row) == list(range(6)) for row in draws)


def test_without_replacement_the_first_draw_follows_the_weights():
    tg.manual_seed(2)
    weights = tg.tensor([[1.0, 3.0]] * 20000)
    first = tg.multinomial(weights, 1).numpy()[:, 0]
    assert abs(first.mean() - 0.75) < 0.015


def test_a_seed_reproduces_the_draws():
    weights = tg.tensor([0.2, 0.3, 0.5])
    tg.manual_seed(7)
    a = tg.multinomial(weights, 10, replacement=True).numpy()
    tg.manual_seed(7)
    b = tg.multinomial(weights, 10, replacement=True).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "weights, num_samples, replacement, error, match",
    [
        ([1, 2], 1, False, TypeError, "float"),
        ([[[1.0]]], 1, False, ValueError, "1-d or 2-d"),
        ([1.0, -1.0], 1, True, ValueError, "non-negative"),
        ([1.0, float("nan")], 1, True, ValueError, "non-negative"),
        ([0.0, 0.0], 1, True, ValueError, "positive sum"),
        ([1.0, 1.0], 0, True, ValueError, "positive"),
        ([1.0, 1.0], 2.0, True, TypeError, "int"),
        ([1.0, 0.0, 1.0], 3, False, ValueError, "non-zero weight"),
    ],
)
def test_bad_arguments_are_refused(weights, num_samples, replacement, error, match):
    with pytest.raises(error, match=match):
        tg.multinomial(tg.tensor(weights), num_samples, replacement)


def test_shapes_match_pytorch():
    torch = pytest.importorskip("torch")
    for shape, n, replace in [((5,), 3, False), ((4, 5), 2, False), ((3, 2), 7, True)]:
        ours = tg.multinomial(tg.rand(*shape) + 0.1, n, replace)
        theirs = torch.multinomial(torch.rand(*shape) + 0.1, n, replace)
        assert ours.shape == tuple(theirs.shape) and theirs.dtype == torch.int64
