"""nn.init (gains, fans, distributions, seeding) and nn.utils gradient clipping
against PyTorch, including non-finite norms."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import init

rng = np.random.default_rng(0)


@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
     ("leaky_relu", 0.2), ("selu", None)],
)  # fmt: skip
def test_calculate_gain_matches_torch(nonlinearity, param):
    torch = pytest.importorskip("torch")
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected)


def test_calculate_gain_rejects_unknown_names():
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


def empty(*shape, dtype=np.float32):
    return tg.Tensor(np.zeros(shape, dtype))


# (function, kwargs, distribution, expected scale): uniform -> bound, normal -> std
FAN_IN, FAN_OUT = 300, 200
INITS = [
    (init.kaiming_uniform_, {}, "uniform", math.sqrt(6 / FAN_IN)),  # a=0: leaky_relu gain is √2
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, "uniform", 1 / math.sqrt(FAN_IN)),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, "uniform",
     math.sqrt(6 / FAN_OUT)),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, "normal", math.sqrt(2 / FAN_IN)),
    (init.xavier_uniform_, {}, "uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.xavier_uniform_, {"gain": 2.0}, "uniform", 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.xavier_normal_, {}, "normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.normal_, {"mean": 1.0, "std": 0.5}, "normal", 0.5),
    (init.uniform_, {"a": -0.3, "b": 0.3}, "uniform", 0.3),
]  # fmt: skip


@pytest.mark.parametrize("fn, kwargs, distribution, scale", INITS)
def test_init_distributions(fn, kwargs, distribution, scale):
    tg.manual_seed(0)
    t = empty(FAN_OUT, FAN_IN)
    assert fn(t, **kwargs) is t
    values = t.data
    if distribution == "uniform":
        assert np.abs(values).max() <= scale * (1 + 1e-6)
        assert np.abs(values).max() > 0.99 * scale
        np.testing.assert_allclose(values.std(), scale / math.sqrt(3), rtol=0.02)
    else:
        np.testing.assert_allclose(values.std(), scale, rtol=0.02)
        np.testing.assert_allclose(values.mean(), kwargs.get("mean", 0.0), atol=0.01)


def test_init_is_seeded_in_place_and_records_no_graph():
    t = tg.Tensor(np.zeros((4, 3)), requires_grad=True)
    storage = t.data
    tg.manual_seed(11)
    init.kaiming_normal_(t)
    first = t.data.copy()
    tg.manual_seed(11)
    init.kaiming_normal_(t)
    np.testing.assert_array_equal(t.data, first)
    assert t.data is storage and t.is_leaf and t.dtype == np.float64
    np.testing.assert_array_equal(init.zeros_(t).data, 0.0)
    np.testing.assert_array_equal(init.ones_(t).data, 1.0)


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(empty(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(empty(2, 2), mode="fan_avg")


# ---------------------------------------------------------------- clipping


def make_pair(grads):
    """Our parameters and torch's with the same gradients already set."""
    torch = pytest.importorskip("torch")
    ours, theirs = [], []
    for grad in grads:
        p = nn.Parameter(np.zeros(grad.shape, grad.dtype))
        p.grad = tg.Tensor(grad.copy())
        q = torch.zeros(grad.shape, dtype=torch.float64, requires_grad=True)
        q.grad = torch.tensor(grad.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours, theirs = make_pair(grads)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_clip_grad_norm_non_finite_matches_torch(bad):
    torch = pytest.importorskip("torch")
    grads = [np.array([1.0, bad, 2.0]), np.array([3.0, -4.0])]
    ours, theirs = make_pair(grads)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_equal(total, expected.item())
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.data, q.grad.numpy())
    ours, _ = make_pair(grads)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[1].grad.data, grads[1])  # nothing scaled


def test_clip_grad_norm_single_tensor_and_no_grads():
    layer = nn.Linear(3, 2)
    assert nn.utils.clip_grad_norm_(layer.parameters(), 1.0) == 0.0
    layer(tg.randn(4, 3)).sum().backward()
    total = nn.utils.clip_grad_norm_(layer.weight, 1e-3)
    np.testing.assert_allclose(np.linalg.norm(layer.weight.grad.data), 1e-3, rtol=1e-3)
    assert total > 1e-3


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((4, 4)) * 3, rng.standard_normal(3)]
    ours, theirs = make_pair(grads)
    assert nn.utils.clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.data, q.grad.numpy())
