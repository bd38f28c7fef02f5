"""The shape and selection surface PyTorch users expect: flip, repeat, split, chunk, tril,
triu, gather, masked_fill(_), where as a method; and the 0-d defects (every result holds an
ndarray, cat refuses 0-d tensors) with cat/stack's dim=. Each op: float64 gradcheck,
gradgradcheck, and values and gradients against PyTorch when installed (float32 and float64).
"""

import numpy as np
import pytest

import tinygrad_edu as tg

TOLERANCE = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}

# name -> (input shape, ours(x), theirs(x, torch)); the constant arguments are fixed here.
GATHER_INDEX = np.array([[0, 3, 3, 1, 0], [2, 2, 0, 1, 1], [3, 0, 0, 0, 2]])  # repeats: grads add
MASK = np.array([[True, False, True, False, False]])  # broadcast over the rows
CASES = {
    "flip_0": ((3, 4), lambda x: x.flip(0), lambda x, torch: x.flip(0)),
    "flip_0_-1": ((2, 3, 4), lambda x: x.flip(0, -1), lambda x, torch: x.flip(0, -1)),
    "flip_tuple": ((2, 3, 4), lambda x: x.flip((1,)), lambda x, torch: x.flip((1,))),
    "repeat_same_ndim": ((2, 3), lambda x: x.repeat(2, 3), lambda x, torch: x.repeat(2, 3)),
    "repeat_new_axes": ((2, 3), lambda x: x.repeat(2, 1, 2), lambda x, torch: x.repeat(2, 1, 2)),
    "repeat_zero": ((2, 3), lambda x: x.repeat(0, 2), lambda x, torch: x.repeat(0, 2)),
    "repeat_tuple": ((3,), lambda x: x.repeat((2, 2)), lambda x, torch: x.repeat((2, 2))),
    "repeat_0d": ((), lambda x: x.repeat(3), lambda x, torch: x.repeat(3)),
    "tril": ((4, 5), lambda x: x.tril(), lambda x, torch: x.tril()),
    "tril_-1": ((2, 4, 3), lambda x: x.tril(-1), lambda x, torch: x.tril(-1)),
    "tril_2": ((4, 5), lambda x: x.tril(2), lambda x, torch: x.tril(2)),
    "triu": ((4, 5), lambda x: x.triu(), lambda x, torch: x.triu()),
    "triu_1": ((2, 3, 4), lambda x: x.triu(1), lambda x, torch: x.triu(1)),
    "triu_-2": ((5, 3), lambda x: x.triu(-2), lambda x, torch: x.triu(-2)),
    "gather_1": (
        (3, 4),
        lambda x: x.gather(1, tg.Tensor(GATHER_INDEX)),
        lambda x, torch: x.gather(1, torch.tensor(GATHER_INDEX)),
    ),
    "gather_0_smaller": (
        (4, 6),
        lambda x: x.gather(0, tg.Tensor(GATHER_INDEX[:2])),
        lambda x, torch: x.gather(0, torch.tensor(GATHER_INDEX[:2])),
    ),
    "gather_-1_3d": (
        (2, 3, 4),
        lambda x: x.gather(-1, tg.Tensor(GATHER_INDEX[None, :, :2].repeat(2, 0))),
        lambda x, torch: x.gather(-1, torch.tensor(GATHER_INDEX[None, :, :2].repeat(2, 0))),
    ),
    "gather_1d": (
        (4,),
        lambda x: x.gather(0, tg.Tensor([3, 3, 0])),
        lambda x, torch: x.gather(0, torch.tensor([3, 3, 0])),
    ),
    "masked_fill": (
        (3, 5),
        lambda x: x.masked_fill(tg.Tensor(MASK), -2.5),
        lambda x, torch: x.masked_fill(torch.tensor(MASK), -2.5),
    ),
    "masked_fill_broadcasts_self": (
        (5,),
        lambda x: x.masked_fill(tg.Tensor(MASK.repeat(2, 0)), 1.0),
        lambda x, torch: x.masked_fill(torch.tensor(MASK.repeat(2, 0)), 1.0),
    ),
    "where_method": (
        (3, 5),
        lambda x: x.where(tg.Tensor(MASK), x * 2),
        lambda x, torch: x.where(torch.tensor(MASK), x * 2),
    ),
    "split_int": (
        (7, 2),
        lambda x: tg.cat([p * (k + 1) for k, p in enumerate(x.split(3))], dim=0),
        lambda x, torch: torch.cat([p * (k + 1) for k, p in enumerate(x.split(3))], dim=0),
    ),
    "split_list": (
        (2, 6),
        lambda x: tg.cat([p * (k + 1) for k, p in enumerate(x.split([1, 0, 5], dim=1))], dim=1),
        lambda x, torch: torch.cat([p * (k + 1) for k, p in enumerate(x.split([1, 0, 5], 1))], 1),
    ),
    "chunk": (
        (2, 10),
        lambda x: tg.cat([p * (k + 1) for k, p in enumerate(x.chunk(4, dim=-1))], dim=1),
        lambda x, torch: torch.cat([p * (k + 1) for k, p in enumerate(x.chunk(4, -1))], 1),
    ),
}


def leaf(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, np.float64), requires_grad=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name, rng):
    shape, ours, _ = CASES[name]
    assert tg.gradcheck(ours, [leaf(rng.standard_normal(shape))])


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name, rng):
    shape, ours, _ = CASES[name]
    assert tg.gradgradcheck(lambda x: ours(x) * ours(x), [leaf(rng.standard_normal(shape))])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name, dtype, rng):
    torch = pytest.importorskip("torch")
    shape, ours, theirs = CASES[name]
    array = rng.standard_normal(shape).astype(dtype)
    x, x_torch = tg.Tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    out, out_torch = ours(x), theirs(x_torch, torch)
    assert out.shape == tuple(out_torch.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.data, out_torch.detach().numpy(), **TOLERANCE[dtype])
    upstream = rng.standard_normal(out.shape).astype(dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (out_torch * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad.data, x_torch.grad.numpy(), **TOLERANCE[dtype])


# ---------------------------------------------------------------- split and chunk sizes


@pytest.mark.parametrize("length", [0, 1, 5, 6, 7, 10])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 6, 11])
def test_split_and_chunk_sizes_are_pytorchs(length, size):
    torch = pytest.importorskip("torch")
    x, x_torch = tg.zeros(2, length), torch.zeros(2, length)
    assert [p.shape for p in x.split(size, 1)] == [tuple(p.shape) for p in x_torch.split(size, 1)]
    assert [p.shape for p in x.chunk(size, 1)] == [tuple(p.shape) for p in x_torch.chunk(size, 1)]


def test_split_pieces_hold_the_right_values():
    x = tg.Tensor(np.arange(10.0))
    assert [p.tolist() for p in x.split([2, 3, 5])] == [[0, 1], [2, 3, 4], [5, 6, 7, 8, 9]]
    assert [p.tolist() for p in x.chunk(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.shape for p in tg.zeros(0).split(0)] == [(0,)]


def test_int_tensors_keep_their_dtype():
    x = tg.Tensor([[1, 2, 3], [4, 5, 6]])
    for out in (x.flip(0), x.repeat(2, 1), x.tril(), x.triu(), x.gather(1, tg.Tensor([[2], [0]])),
                x.masked_fill(x > 3, 1.7), x.split(1)[0], x.chunk(2, 1)[0]):
        assert out.dtype == np.int64
    assert x.masked_fill(x > 3, 1.7).tolist() == [[1, 2, 3], [1, 1, 1]]  # 1.7 cast as PyTorch
    assert x.gather(1, tg.Tensor([[2], [0]])).tolist() == [[3], [4]]


def test_gather_on_0d_and_1d(rng):
    assert tg.Tensor(3.0).gather(0, tg.Tensor(0)).shape == ()
    assert tg.Tensor([3.0, 4.0]).gather(0, tg.Tensor(1)).item() == 4.0
    assert tg.gradcheck(lambda x: x.gather(0, tg.Tensor([0, 0, 0])), [leaf(2.0)])


def test_masked_fill_value_tensor_gets_its_gradient():
    x, value = leaf([1.0, 2.0, 3.0]), leaf(5.0)
    out = x.masked_fill(tg.Tensor([True, False, True]), value)
    assert out.tolist() == [5.0, 2.0, 5.0]
    assert tg.gradcheck(lambda x, v: x.masked_fill(tg.Tensor([True, False, True]), v), [x, value])


def test_flip_copies_and_flips_0d():
    x = tg.Tensor([1.0, 2.0])
    flipped = x.flip(0)
    with tg.no_grad():
        x[0] = 9.0
    assert flipped.tolist() == [2.0, 1.0]
    assert tg.Tensor(1.5).flip(0).item() == 1.5


# ---------------------------------------------------------------- in place


def test_masked_fill_in_place_bumps_the_version():
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    before = x._version
    assert x.masked_fill_(tg.Tensor([True, False]), 0.0) is x
    assert x.tolist() == [[0.0, 2.0], [0.0, 4.0]] and x._version == before + 1


def test_masked_fill_in_place_is_caught_by_backward():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    z = (y * y).sum()  # Mul saved y
    with tg.no_grad():
        y.masked_fill_(tg.Tensor([True, False]), 0.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_masked_fill_in_place_refused_on_a_tensor_requiring_grad():
    with pytest.raises(RuntimeError, match="masked_fill_"):
        leaf([1.0, 2.0]).masked_fill_(tg.Tensor([True, False]), 0.0)


def test_masked_fill_in_place_needs_the_mask_to_fit_self():
    with pytest.raises(ValueError, match="does not broadcast"):
        tg.zeros(2).masked_fill_(tg.Tensor([[True, False]]), 0.0)


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x: x.flip(0, 0), ValueError, "more than once"),
        (lambda x: x.flip(2), ValueError, "out of range"),
        (lambda x: x.flip(0.5), TypeError, "integers"),
        (lambda x: x.repeat(2), ValueError, "repeat counts"),
        (lambda x: x.repeat(2, -1), ValueError, "non-negative"),
        (lambda x: x.split(0), ValueError, "split_size"),
        (lambda x: x.split(-1), ValueError, "split_size"),
        (lambda x: x.split([1, 2]), ValueError, "sum to 2"),
        (lambda x: x.split([3, -1]), ValueError, "non-negative"),
        (lambda x: x.split(1, dim=2), ValueError, "out of range"),
        (lambda x: x.chunk(0), ValueError, "positive"),
        (lambda x: x.chunk(1.5), ValueError, "positive"),
        (lambda x: x[0].tril(), ValueError, "at least 2 dimensions"),
        (lambda x: x.triu(0.5), TypeError, "diagonal"),
        (lambda x: x.gather(1, tg.Tensor([[0, 3]])), IndexError, "index 3 is out of bounds"),
        (lambda x: x.gather(1, tg.Tensor([[-1]])), IndexError, "index -1 is out of bounds"),
        (lambda x: x.gather(1, tg.Tensor([0])), ValueError, "same number of dimensions"),
        (lambda x: x.gather(0, tg.Tensor([[0, 1, 1, 0]])), ValueError, "no larger"),
        (lambda x: x.gather(1, tg.Tensor([[0.0]])), TypeError, "integer"),
        (lambda x: x.gather(1, [[0]]), TypeError, "integer Tensor"),
        (lambda x: x.gather(2, tg.Tensor([[0]])), ValueError, "out of range"),
        (lambda x: x.masked_fill(tg.Tensor([1, 0, 1]), 0.0), TypeError, "bool"),
        (lambda x: x.masked_fill(tg.Tensor([True, False]), 0.0), ValueError, "broadcast"),
        (lambda x: x.masked_fill(x > 0, tg.Tensor([1.0])), ValueError, "0-d"),
        (lambda x: x.masked_fill(x > 0, "a"), TypeError, "number"),
        (lambda x: x.where(x, 0.0), TypeError, "bool"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(tg.Tensor(np.ones((2, 3))))


def test_split_and_chunk_refuse_0d():
    for call in (lambda x: x.split(1), lambda x: x.chunk(1)):
        with pytest.raises(ValueError, match="0-d"):
            call(tg.Tensor(1.0))


# ---------------------------------------------------------------- 0-d results are ndarrays


ZERO_D_RESULTS = {
    "comparison": lambda x: x > 0,
    "equality": lambda x: x == 1.5,
    "sum": lambda x: x.sum(),
    "max": lambda x: x.max(),
    "mean_of_matrix": lambda x: (x * tg.ones(2, 2)).mean(),
    "index_to_0d": lambda x: (x * tg.ones(2, 2))[0, 1],
    "index_0d_with_tensor": lambda x: (x * tg.ones(3))[tg.Tensor(2)],
    "item_of_vector": lambda x: x.reshape(1)[0],
    "negate": lambda x: -x,
}


@pytest.mark.parametrize("name", sorted(ZERO_D_RESULTS))
def test_0d_results_hold_an_ndarray(name):
    out = ZERO_D_RESULTS[name](tg.Tensor(1.5))
    assert type(out.data) is np.ndarray and out.shape == ()


def test_where_on_a_0d_comparison():  # the defect of issue 15: TypeError before
    x = tg.Tensor(-1.5, requires_grad=True)
    out = tg.where(x > 0, x, -x)
    out.backward()
    assert out.item() == 1.5 and x.grad.item() == -1.0


def test_cat_refuses_0d_tensors():
    with pytest.raises(ValueError, match=r"zero-dimensional tensor \(at position 1\) cannot be"):
        tg.cat([tg.Tensor([1.0]), tg.Tensor(2.0)])


def test_cat_and_stack_take_dim():
    a, b = tg.Tensor(np.zeros((2, 3))), tg.Tensor(np.ones((2, 3)))
    assert tg.cat([a, b], dim=1).shape == (2, 6) and tg.cat([a, b], axis=1).shape == (2, 6)
    assert tg.stack([a, b], dim=2).shape == (2, 3, 2)
    assert tg.stack([a, b], dim=-1).shape == (2, 3, 2)
    assert tg.stack([tg.Tensor(1.0), tg.Tensor(2.0)], dim=0).tolist() == [1.0, 2.0]
