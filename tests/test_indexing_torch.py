"""Indexing as PyTorch indexes: ints, slices, None, Ellipsis, lists, int arrays, bool masks
and Tensors, mixed. Where numpy and PyTorch differ (an int and an advanced index split by a
slice), PyTorch's answer is the one wanted. Values, gradients (duplicates accumulate) and
__setitem__ are compared with PyTorch: a fixed table, then hypothesis-drawn indices.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")  # PyTorch's notice

SHAPE = (3, 4, 5)
INDEX_ERRORS = (IndexError, ValueError, TypeError, RuntimeError)


def ours(entry):
    """The index for tinygrad_edu: the table's ("T", data) entries become Tensors."""
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return tg.Tensor(np.asarray(entry[1]))
    if isinstance(entry, tuple):
        return tuple(ours(e) for e in entry)
    if isinstance(entry, list):
        return [ours(e) for e in entry]
    return entry


def theirs(entry):
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return torch.tensor(np.asarray(entry[1]))
    if isinstance(entry, tuple):
        return tuple(theirs(e) for e in entry)
    if isinstance(entry, list):
        return [theirs(e) for e in entry]
    if isinstance(entry, np.ndarray):
        return torch.from_numpy(entry)
    return entry


TABLE = [
    (0, slice(None), [0, 1]),  # the issue's case: (3, 2) in PyTorch, (2, 3) in numpy
    (0, slice(None), ("T", [0, 1])),
    (np.int64(1), slice(None), [0, 1]),
    (("T", 1), slice(None), [0, 1]),  # a 0-d int Tensor counts as an int
    (0, slice(None), ("T", 4)),
    (slice(None), 0, [0, 1]),
    ([0, 1], slice(None), 0),
    (0, [0, 1], slice(None)),
    (-1, slice(1, None), np.array([[0, 1], [4, 4]])),
    (0, None, slice(None), [0, 1]),
    (Ellipsis, 0, [1, 0]),
    (0, Ellipsis, [1, 0]),
    ([1, 0], Ellipsis, -2),
    (0, None, [0, 0], Ellipsis, [0, 3]),  # an Ellipsis of no axes separates in numpy only
    ([1, 2], Ellipsis, [0, 3], slice(None)),
    (1, slice(None), [True, False, True, False, True]),
    (1, [True, False, True, False], slice(None, None, 2)),
    (0, np.ones((4, 5), bool)),
    (slice(None), 2, [[0, 1], [1, 1]]),
    ([0, 2], 1, [1, 3]),
    ([0, 2], slice(None), [1, 3]),
    ([[0], [2]], slice(1, 3), [1, 3]),
    (True, 0, slice(None), [1, 2]),
    ([2, 2, 0],),  # repeated rows: their gradients add up
    [2, -1, 2],
    [[0, 2], [1, 3]],  # a list holding lists is read as a tuple, as PyTorch (with a warning)
    [[[0, 1]]],
    [("T", [1, 0]), 1],
    [0, slice(None), None],
    (slice(None), [0, 0, 3]),
    ("T", [1, 0, 1]),
    ("T", [True, False, True]),
    (0, 1, 2),
    (-1, -2, -3),
    (Ellipsis, None),
    (slice(None, None, 2), None, slice(1, -1)),
    (),
    (0, slice(None), []),
    ([],),
]


def both(index):
    array = np.random.default_rng(0).standard_normal(SHAPE)
    return tg.Tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def check_against_pytorch(index, seed=0):
    x, x_torch = both(index)
    try:
        expected = x_torch[theirs(index)]
    except INDEX_ERRORS:
        with pytest.raises(INDEX_ERRORS):
            x[ours(index)]
        return
    out = x[ours(index)]
    assert out.shape == tuple(expected.shape), index
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    (out * tg.Tensor(upstream)).sum().backward()
    (expected * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad.data, x_torch.grad.numpy(), rtol=1e-12, atol=0)
    check_setitem(index, upstream)


def check_setitem(index, values):
    target = np.arange(np.prod(SHAPE), dtype=np.float64).reshape(SHAPE)
    x, x_torch = tg.Tensor(target), torch.tensor(target)
    x[ours(index)] = tg.Tensor(values)
    x_torch[theirs(index)] = torch.from_numpy(values)
    np.testing.assert_array_equal(x.data, x_torch.numpy())
    x[ours(index)] = -7.0  # a scalar broadcasts to the selection
    x_torch[theirs(index)] = -7.0
    np.testing.assert_array_equal(x.data, x_torch.numpy())


@pytest.mark.parametrize("index", TABLE, ids=[repr(i) for i in TABLE])
def test_index_table_matches_pytorch(index):
    check_against_pytorch(index)


def test_the_issue_case_gives_pytorchs_shape():
    x = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x[0, :, [0, 1]].shape == (3, 2)
    assert x[0, :, [0, 1]].tolist() == [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]


def test_setitem_bumps_the_version_once():
    x = tg.Tensor(np.zeros(SHAPE))
    x[0, :, [0, 1]] = 1.0
    assert x._version == 1 and x.data.sum() == 8.0  # 4 rows x 2 columns


def test_gradgradcheck_through_mixed_indexing(rng):
    x = tg.Tensor(rng.standard_normal(SHAPE), requires_grad=True)
    assert tg.gradgradcheck(lambda t: t[0, :, [0, 1, 1]] ** 2, [x])


def test_float_tensor_index_is_refused():
    with pytest.raises(IndexError, match="integer or bool"):
        tg.zeros(3)[tg.Tensor([0.0])]


# ---------------------------------------------------------------- drawn indices


@st.composite
def index_entries(draw):
    """A tuple index for SHAPE: at most one Ellipsis, never more axes than SHAPE has."""
    entries, axes_left, used_ellipsis = [], len(SHAPE), False
    for _ in range(draw(st.integers(0, 5))):
        kinds = ["none", "bool"]
        if axes_left:
            kinds += ["int", "np_int", "tensor_int", "slice", "list", "array", "tensor", "mask"]
        if not used_ellipsis:
            kinds.append("ellipsis")
        kind = draw(st.sampled_from(kinds))
        axis = len(SHAPE) - axes_left
        size = SHAPE[axis] if axes_left else 1
        position = st.integers(-size, size - 1)
        if kind == "none":
            entries.append(None)
        elif kind == "bool":
            entries.append(draw(st.booleans()))
        elif kind == "ellipsis":
            entries.append(Ellipsis)
            used_ellipsis = True
        elif kind == "int":
            entries.append(draw(position))
        elif kind == "np_int":
            entries.append(np.int64(draw(position)))
        elif kind == "tensor_int":
            entries.append(("T", draw(position)))
        elif kind == "slice":
            bound = st.none() | st.integers(-size - 1, size + 1)
            entries.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3]))))
        elif kind == "list":
            entries.append(draw(st.lists(position, min_size=2, max_size=2)))
        elif kind == "array":
            shape = draw(st.sampled_from([(2,), (2, 1), (1, 2)]))
            values = draw(st.lists(position, min_size=2, max_size=2))
            entries.append(np.array(values).reshape(shape))
        elif kind == "tensor":
            entries.append(("T", draw(st.lists(position, min_size=2, max_size=2))))
        else:  # a bool mask over one axis
            entries.append(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
        if kind not in ("none", "bool", "ellipsis"):
            axes_left -= 1
    return tuple(entries)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=index_entries(), as_list=st.booleans(), seed=st.integers(0, 2**16))
def test_drawn_indices_match_pytorch(index, as_list, seed):
    check_against_pytorch(list(index) if as_list else index, seed)
