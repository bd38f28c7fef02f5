"""nn layers against PyTorch: same weights in, same outputs, gradients and running
statistics out; default initialisation; train/eval behaviour and bad arguments."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def copy_weights_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})


def compare_module_with_torch(ours, theirs, x, rtol=1e-5, atol=1e-5):
    """Forward the same x; then backward (out · c).sum() and compare every gradient."""
    torch = pytest.importorskip("torch")
    x_ours = tg.Tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    out, ref = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    upstream = rng.standard_normal(ref.shape).astype(x.dtype)
    (out * tg.Tensor(upstream)).sum().backward()
    (ref * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x_ours.grad.data, x_theirs.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        expected = theirs_params[name].grad.numpy()
        np.testing.assert_allclose(param.grad.data, expected, rtol=rtol, atol=atol, err_msg=name)


# ---------------------------------------------------------------- Linear


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(5, 3, bias=bias)
    ours = nn.Linear(5, 3, bias=bias)
    copy_weights_from_torch(ours, theirs)
    compare_module_with_torch(ours, theirs, randn(7, 5))


def test_linear_shapes_dtype_and_default_init_bounds():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    assert layer.weight.shape == (300, 400) and layer.bias.shape == (300,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=√5) gives U(-1/√in, 1/√in)
    for param in (layer.weight, layer.bias):
        assert np.abs(param.data).max() <= bound
        assert np.abs(param.data).max() > 0.95 * bound
    np.testing.assert_allclose(layer.weight.data.std(), bound / math.sqrt(3), rtol=0.02)
    assert nn.Linear(2, 2, bias=False).bias is None
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64


def test_linear_init_is_reproducible_with_manual_seed():
    tg.manual_seed(5)
    first = nn.Linear(4, 3).state_dict()
    tg.manual_seed(5)
    second = nn.Linear(4, 3).state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_linear_module_gradcheck():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = tg.Tensor(randn(4, 3, dtype=np.float64), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


# ---------------------------------------------------------------- BatchNorm1d


def make_batch_norms(channels=4, **kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm1d(channels, **kwargs)
    ours = nn.BatchNorm1d(channels, **kwargs)
    if theirs.affine:
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(randn(channels)))
            theirs.bias.copy_(torch.tensor(randn(channels)))
        copy_weights_from_torch(ours, theirs)
    return ours, theirs


def assert_same_buffers(ours, theirs):
    theirs_buffers = dict(theirs.named_buffers())
    for name, buffer in ours.named_buffers():
        np.testing.assert_allclose(
            buffer.data, theirs_buffers[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name
        )


@pytest.mark.parametrize("shape", [(8, 4), (5, 4, 3)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_train_steps_then_eval_match_torch(shape, momentum):
    ours, theirs = make_batch_norms(momentum=momentum)
    for _ in range(3):  # three training batches move the running statistics
        compare_module_with_torch(ours, theirs, randn(*shape) * 2 + 1)
        ours.zero_grad()
        theirs.zero_grad()
        assert_same_buffers(ours, theirs)
    assert ours.num_batches_tracked.item() == 3
    ours.eval()
    theirs.eval()
    compare_module_with_torch(ours, theirs, randn(*shape))
    assert_same_buffers(ours, theirs)  # eval mode leaves them alone


@pytest.mark.parametrize("kwargs", [{"affine": False}, {"track_running_stats": False}])
def test_batch_norm_options_match_torch(kwargs):
    ours, theirs = make_batch_norms(**kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    compare_module_with_torch(ours, theirs, randn(6, 4))
    ours.eval()
    theirs.eval()  # without running stats, eval normalises with the batch's statistics
    compare_module_with_torch(ours, theirs, randn(6, 4))


def test_batch_norm_running_var_is_unbiased():
    layer = nn.BatchNorm1d(2, momentum=1.0)
    x = randn(5, 2)
    layer(tg.Tensor(x))
    np.testing.assert_allclose(layer.running_mean.data, x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.data, x.var(axis=0, ddof=1), rtol=1e-5)


def test_batch_norm_module_gradcheck_through_batch_statistics():
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    x = tg.Tensor(randn(4, 3, dtype=np.float64), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_batch_norm_refuses_one_value_per_channel_and_changes_nothing():
    layer = nn.BatchNorm1d(3)
    before = layer.state_dict()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        layer(tg.Tensor(randn(1, 3)))
    for name, array in layer.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    assert layer(tg.Tensor(randn(1, 3, 2))).shape == (1, 3, 2)  # 2 values per channel: fine
    layer.eval()
    assert layer(tg.Tensor(randn(1, 3))).shape == (1, 3)  # eval uses running stats


def test_batch_norm_rejects_bad_shapes():
    layer = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="2D"):
        layer(tg.Tensor(randn(2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"expected 3 channels.*\(4, 5\)"):
        layer(tg.Tensor(randn(4, 5)))
    assert layer.num_batches_tracked.item() == 0  # refused batches are not counted


# ---------------------------------------------------------------- Dropout


def test_dropout_train_drops_and_scales_eval_is_identity():
    layer = nn.Dropout(0.25)
    x = tg.Tensor(np.ones((100, 100), np.float32))
    out = layer(x).data
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.02
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("p", [-0.5, 1.01])
def test_dropout_module_rejects_bad_p(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)


def test_dropout_p_one_gives_zeros_and_zero_gradients():
    x = tg.Tensor(randn(3, 4), requires_grad=True)
    out = nn.Dropout(1.0)(x)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, 0.0)
    np.testing.assert_array_equal(x.grad.data, 0.0)


# ---------------------------------------------------------------- activations and shape layers

SIMPLE_LAYERS = [
    ("ReLU", (), ()),
    ("LeakyReLU", (0.1,), (0.1,)),
    ("LeakyReLU", (), ()),
    ("Sigmoid", (), ()),
    ("Tanh", (), ()),
    ("Identity", (), ()),
    ("Flatten", (), ()),
    ("Flatten", (0, 1), (0, 1)),
]


@pytest.mark.parametrize("name, args, torch_args", SIMPLE_LAYERS)
def test_simple_layers_match_torch(name, args, torch_args):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*torch_args)
    compare_module_with_torch(ours, theirs, randn(3, 4, 2))


def test_activation_layers_have_no_parameters():
    for layer in (nn.ReLU(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh(), nn.Identity(), nn.Flatten()):
        assert list(layer.parameters()) == [] and layer.state_dict() == {}
