"""The engine's share of issue 11: atomic accumulation across threads, NumPy's __array__
copy protocol, Div's float32 accuracy, integers beyond int64 refused, version counters
(an in-place change before backward is caught), and clear errors at bad assignments.
"""

import sys
import threading

import numpy as np
import pytest

import tinygrad_edu as tg


def test_threads_backpropagating_into_one_leaf_lose_no_gradient():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show at once
    shared = tg.Tensor(np.zeros(20_000, np.float32), requires_grad=True)
    start = threading.Barrier(4)

    def work():
        start.wait()
        for _ in range(200):
            (shared * 1.0).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    np.testing.assert_array_equal(shared.grad.numpy(), np.full(20_000, 800.0))


def test_np_array_copies_and_np_asarray_may_share():
    t = tg.Tensor([1.0, 2.0])
    snapshot = np.array(t)
    view = np.asarray(t)
    t.data[0] = 5.0
    assert snapshot[0] == 1.0  # a copy: the snapshot does not follow the tensor
    assert view[0] == 5.0
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    assert np.array(t, dtype=np.float64).dtype == np.float64


@pytest.mark.filterwarnings("ignore:overflow encountered")  # 3 / 1e-20 overflows, as in PyTorch
@pytest.mark.parametrize(
    "x, y",
    [(1e-30, 1e-25), (1e20, 1e20), (3.0, 1e-20), (-2.0, 7.0)],  # the third overflows in both
)
def test_div_gradient_in_float32_matches_pytorch(x, y):
    torch = pytest.importorskip("torch")
    a = tg.Tensor(np.float32([x]), requires_grad=True)
    b = tg.Tensor(np.float32([y]), requires_grad=True)
    (a / b).sum().backward()
    ta = torch.tensor([x], dtype=torch.float32, requires_grad=True)
    tb = torch.tensor([y], dtype=torch.float32, requires_grad=True)
    (ta / tb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "data, dtype",
    [([2**63], None), (2**63, None), ([-(2**63) - 1], None), ([2**64 - 1], None), ([2**63], tg.int64)],
)
def test_integers_beyond_int64_raise_naming_the_value(data, dtype):
    with pytest.raises((OverflowError, ValueError), match="does not fit"):
        tg.Tensor(data, dtype=dtype)


def test_uint64_array_beyond_int64_raises():
    with pytest.raises(OverflowError, match="18446744073709551615"):
        tg.Tensor(np.array([2**64 - 1], np.uint64))


def test_int64_limits_are_accepted():
    assert tg.Tensor([2**63 - 1, -(2**63)]).tolist() == [2**63 - 1, -(2**63)]


# ---------------------------------------------------------------- version counters


def test_every_in_place_change_bumps_the_version():
    t = tg.Tensor([1.0, 2.0])
    assert t._version == 0
    t[0] = 3.0
    assert t._version == 1
    t.data = np.array([4.0, 5.0], np.float32)
    assert t._version == 2
    t.bump_version()
    assert t._version == 3


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with tg.no_grad():
        w.data -= 0.1  # what an optimizer does, followed by its version bump
        w.bump_version()
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*MulBackward"):
        loss.backward()


def test_a_changed_saved_output_is_caught():
    x = tg.Tensor([0.5], requires_grad=True)
    y = x.exp()
    z = (y * 2).sum()
    with tg.no_grad():
        y[0] = 3.0
    with pytest.raises(RuntimeError, match="inplace"):
        z.backward()


def test_a_change_to_an_input_no_op_saved_is_fine():
    """Add saves nothing, so changing its input later does not matter (as PyTorch)."""
    a = tg.Tensor([1.0], requires_grad=True)
    out = (a + 1.0).sum()
    a.bump_version()
    out.backward()
    assert a.grad.item() == 1.0


def test_setitem_on_a_tensor_that_requires_grad_is_refused_while_recording():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 0.0
    with tg.no_grad():
        w[0] = 0.0
    assert w.tolist() == [0.0, 2.0]


# ---------------------------------------------------------------- assignments checked at once


def test_assigning_none_to_data_raises_naming_it():
    t = tg.Tensor([1.0])
    with pytest.raises(TypeError, match="Tensor.data"):
        t.data = None


def test_assigning_an_array_to_grad_raises_naming_it():
    p = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="Tensor.grad"):
        p.grad = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match="Tensor.grad"):
        p.grad = tg.Tensor([1.0, 2.0, 3.0])
    p.grad = tg.Tensor([0.5, 0.5])  # a Tensor of the right shape is fine
    assert p.grad.tolist() == [0.5, 0.5]
