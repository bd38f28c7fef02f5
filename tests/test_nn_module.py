"""nn.Module: registration order, traversal, modes, state_dict/load_state_dict
(including loading a PyTorch checkpoint), forward hooks and repr."""

import copy

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


class Block(nn.Module):
    """A module with its own parameter, a buffer and children, in a mixed order."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.first = nn.Linear(3, 4)
        self.register_buffer("steps", tg.Tensor(np.zeros(2, np.float32)))
        self.norm = nn.BatchNorm1d(4)
        self.label = "not registered"

    def forward(self, x):
        return self.norm(self.first(x * self.scale))


def make_mlp(lib=nn):
    """The test model, from tinygrad_edu's nn or (lib=torch.nn) PyTorch's, which agree."""
    return lib.Sequential(
        lib.Linear(6, 8), lib.BatchNorm1d(8), lib.ReLU(), lib.Dropout(0.3), lib.Linear(8, 3)
    )


def test_parameter_is_a_float32_tensor_requiring_grad():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.dtype == np.float32
    assert nn.Parameter(np.zeros(2)).dtype == np.float64
    assert repr(p).startswith("Parameter containing:\nTensor(")
    with pytest.raises(TypeError):
        nn.Parameter([1, 2])


def test_registration_order_and_names_follow_pytorch():
    block = Block()
    assert [n for n, _ in block.named_parameters()] == [
        "scale",
        "first.weight",
        "first.bias",
        "norm.weight",
        "norm.bias",
    ]
    assert [n for n, _ in block.named_buffers()] == [
        "steps",
        "norm.running_mean",
        "norm.running_var",
        "norm.num_batches_tracked",
    ]
    assert list(block.state_dict()) == [
        "scale",
        "steps",
        "first.weight",
        "first.bias",
        "norm.weight",
        "norm.bias",
        "norm.running_mean",
        "norm.running_var",
        "norm.num_batches_tracked",
    ]
    assert [n for n, _ in block.named_children()] == ["first", "norm"]
    assert list(block.children()) == [block.first, block.norm]
    assert list(block.modules()) == [block, block.first, block.norm]
    assert [p is q for p, q in zip(block.parameters(), [block.scale, block.first.weight])] == [
        True,
        True,
    ]
    assert [n for n, _ in block.named_parameters(recurse=False)] == ["scale"]


def test_registration_matches_torch_for_the_same_model():
    torch = pytest.importorskip("torch")
    ours = make_mlp()
    theirs = make_mlp(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for name, array in ours.state_dict().items():
        assert array.shape == tuple(theirs.state_dict()[name].shape), name


def test_repr_is_formatted_like_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.Sequential(
            lib.Linear(6, 8),
            lib.ReLU(),
            lib.LeakyReLU(0.2),
            lib.Flatten(),
            lib.Identity(),
            lib.Sigmoid(),
            lib.ModuleList([lib.Tanh(), lib.Sequential(lib.Linear(2, 2, bias=False))]),
        )

    assert repr(build(nn)) == repr(build(torch.nn))
    # torch 2.x adds arguments we do not have (BatchNorm1d's bias=, Dropout's inplace=)
    assert repr(nn.BatchNorm1d(8)) == (
        "BatchNorm1d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    )
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3)"


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3


def test_reassigning_and_deleting_update_the_registries():
    block = Block()
    block.first = nn.Linear(3, 5)
    assert block.first.out_features == 5
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="scale"):
        block.scale = tg.Tensor([1.0])
    with pytest.raises(TypeError, match="steps"):
        block.steps = np.zeros(2)
    del block.norm
    assert [n for n, _ in block.named_children()] == ["first"]
    assert not hasattr(block, "norm")


def test_assigning_before_init_raises_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Forgetful()


def test_train_eval_reach_every_submodule():
    model = make_mlp()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="bool"):
        model.train("no")


def test_zero_grad_sets_grads_to_none():
    model = make_mlp()
    model(tg.randn(4, 6)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_holds_copies():
    model = make_mlp()
    state = model.state_dict()
    state["0.weight"][...] = 42.0
    assert not np.any(model[0].weight.data == 42.0)
    assert state["1.num_batches_tracked"].dtype == np.int64


def test_load_state_dict_copies_in_place():
    source, target = make_mlp(), make_mlp()
    weight_storage = target[0].weight.data
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target[0].weight.data is weight_storage
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], array)


def test_load_state_dict_accepts_tensors():
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    target.load_state_dict({"weight": source.weight, "bias": source.bias})
    np.testing.assert_array_equal(target.weight.data, source.weight.data)


def assert_unchanged(model, before):
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = make_mlp()
    before = model.state_dict()
    bad = make_mlp().state_dict()
    del bad["0.bias"]
    bad["extra.weight"] = np.zeros(2, np.float32)
    bad["4.weight"] = np.zeros((2, 8), np.float32)
    bad["1.running_mean"] = bad["1.running_mean"].astype(np.float64)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(bad)
    message = str(error.value)
    for fragment in ("0.bias", "extra.weight", "(2, 8)", "(3, 8)", "1.running_mean", "float64"):
        assert fragment in message
    assert_unchanged(model, before)


@pytest.mark.parametrize("problem", ["missing", "unexpected", "shape", "dtype"])
def test_load_state_dict_each_error_alone_changes_nothing(problem):
    model = make_mlp()
    before = model.state_dict()
    bad = make_mlp().state_dict()
    if problem == "missing":
        del bad["1.running_var"]
    elif problem == "unexpected":
        bad["5.weight"] = np.zeros(1, np.float32)
    elif problem == "shape":
        bad["0.weight"] = bad["0.weight"].T.copy()
    else:
        bad["1.num_batches_tracked"] = np.array(3.0)
    with pytest.raises(RuntimeError, match="Error"):
        model.load_state_dict(bad)
    assert_unchanged(model, before)


def test_load_state_dict_non_strict_reports_keys_but_still_checks_shapes():
    model = make_mlp()
    partial = {"0.weight": make_mlp().state_dict()["0.weight"], "junk": np.zeros(1)}
    result = model.load_state_dict(partial, strict=False)
    assert result.unexpected_keys == ["junk"]
    assert "0.bias" in result.missing_keys
    np.testing.assert_array_equal(model[0].weight.data, partial["0.weight"])
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict({"0.weight": np.zeros((1, 1), np.float32)}, strict=False)
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([1, 2])


def test_torch_state_dict_gives_the_same_eval_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = make_mlp(torch.nn)
    with torch.no_grad():  # move the running stats away from their initial values
        theirs.train()
        for _ in range(3):
            theirs(torch.randn(16, 6) * 2 + 1)
    theirs.eval()
    ours = make_mlp()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    x = np.random.default_rng(1).standard_normal((10, 6)).astype(np.float32)
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(tg.Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    assert int(ours[1].num_batches_tracked.item()) == 3


def test_forward_hook_sees_inputs_and_output_and_can_be_removed():
    model = make_mlp()
    seen = []
    handle = model[2].register_forward_hook(lambda m, inputs, out: seen.append((m, inputs, out)))
    x = tg.randn(4, 6)
    out = model(x)
    assert len(seen) == 1
    module, inputs, relu_out = seen[0]
    assert module is model[2] and isinstance(inputs, tuple) and len(inputs) == 1
    assert relu_out.shape == (4, 8) and (relu_out.data >= 0).all()
    assert out.shape == (4, 3)
    handle.remove()
    model(x)
    assert len(seen) == 1


def test_forward_hook_result_replaces_the_output():
    layer = nn.Identity()
    layer.register_forward_hook(lambda m, inputs, out: out * 2)
    np.testing.assert_array_equal(layer(tg.Tensor([1.0, 2.0])).data, [2.0, 4.0])


def test_sequential_and_module_list_containers():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    assert seq(tg.randn(5, 2)).shape == (5, 1)
    layers = nn.ModuleList([a, b])
    layers.append(c)
    assert len(layers) == 3 and layers[2] is c and list(layers) == [a, b, c]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(TypeError, match="nn.Module or None expected"):
        layers.append("relu")


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tg.randn(1))


def test_deepcopy_gives_an_independent_model_with_intact_registries():
    model = make_mlp()
    clone = copy.deepcopy(model)
    assert clone[0].weight is dict(clone.named_parameters())["0.weight"]
    clone[0].weight.data[...] = 0.0
    assert np.any(model[0].weight.data != 0.0)
    assert list(clone.state_dict()) == list(model.state_dict())
