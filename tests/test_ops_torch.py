"""The op table of conftest.py against PyTorch: same inputs, same random upstream gradient,
so forward values, result dtypes and every input's gradient must agree number for number
(float32 and float64). Skipped as a whole when torch is not installed.
"""

import numpy as np
import pytest
from conftest import op_case_params

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

TOLERANCE = {
    np.float32: {"rtol": 1e-4, "atol": 1e-5},
    np.float64: {"rtol": 1e-10, "atol": 1e-12},
}


def run_both(fn_ours, fn_theirs, arrays, upstream):
    """Forward and backward of (fn(*inputs) * upstream).sum() in tinygrad_edu and in PyTorch."""
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_ours, out_theirs = fn_ours(*ours), fn_theirs(*theirs)
    (out_ours * tg.Tensor(upstream(out_ours.shape))).sum().backward()
    (out_theirs * torch.from_numpy(upstream(tuple(out_theirs.shape)))).sum().backward()
    return (out_ours, ours), (out_theirs, theirs)


@op_case_params
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch_forward_and_backward(case, dtype, rng):
    arrays = case.inputs(rng, dtype)
    seed = int(rng.integers(2**31))

    def upstream(shape):  # the same random gradient for both libraries
        return np.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)

    (out, inputs), (expected, torch_inputs) = run_both(case.fn, case.on_torch, arrays, upstream)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == expected.detach().numpy().dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOLERANCE[dtype])
    for i, (x, x_torch) in enumerate(zip(inputs, torch_inputs)):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(
            x.grad.numpy(), x_torch.grad.numpy(), **TOLERANCE[dtype], err_msg=f"input {i}"
        )


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.max(),
        lambda x: x.min(),
        lambda x: x.clip(0.0, 1.0),
        lambda x: x.relu(),
        lambda x: x.abs(),
        lambda x: (
            torch.maximum(x, x.flip(0)) if isinstance(x, torch.Tensor) else tg.maximum(x, x[::-1])
        ),
    ],
    ids=["max ties", "min ties", "clip at bounds", "relu at 0", "abs at 0", "maximum ties"],
)
def test_ties_kinks_and_bounds_match_pytorch(fn):
    """Points a random input never hits: PyTorch's choice there is the contract."""
    data = np.array([0.0, 1.0, 1.0, 0.0, -1.0, 1.0, 0.0], np.float64)
    (_, (ours,)), (_, (theirs,)) = run_both(fn, fn, [data], lambda shape: np.ones(shape))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())
