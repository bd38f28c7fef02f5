"""The wider layer surface: layer_norm/group_norm, embedding/one_hot, pad and
scaled_dot_product_attention against PyTorch and gradcheck; LayerNorm, GroupNorm,
Embedding and ModuleDict (keys as PyTorch's); Module.apply/to/requires_grad_/buffers."""

import numpy as np
import pytest
from conftest import check_gradients

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn


def torch_or_skip():
    return pytest.importorskip("torch")


def tF():
    """torch.nn.functional, looked up only when a comparison runs (gradchecks run first)."""
    return torch_or_skip().nn.functional


def compare_with_torch(ours, theirs, arrays, rng, tol=1e-10):
    """Values, then gradients of (out · c).sum() for every input, float64."""
    torch = torch_or_skip()
    mine = [tg.Tensor(a, requires_grad=True) for a in arrays]
    refs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*mine), theirs(*refs)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
    upstream = rng.standard_normal(out.shape)
    (out * tg.Tensor(upstream)).sum().backward()
    (ref * torch.tensor(upstream)).sum().backward()
    for i, (x, r) in enumerate(zip(mine, refs)):
        np.testing.assert_allclose(
            x.grad.data, r.grad.numpy(), rtol=tol, atol=tol, err_msg=f"input {i}"
        )


def load_torch_state(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# ---------------------------------------------------------------- layer norm, group norm


@pytest.mark.parametrize("shape, normalized", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((2, 3, 4), [4])])
def test_layer_norm_matches_torch_and_gradchecks(shape, normalized, rng):
    norm_shape = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    arrays = [
        rng.standard_normal(shape) * 3 + 1,
        rng.standard_normal(norm_shape),
        rng.standard_normal(norm_shape),
    ]
    assert check_gradients(lambda x, w, b: F.layer_norm(x, normalized, w, b), arrays, rng)
    assert check_gradients(lambda x: F.layer_norm(x, normalized), arrays[:1], rng)
    compare_with_torch(
        lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-3),
        lambda x, w, b: tF().layer_norm(x, norm_shape, w, b, eps=1e-3),
        arrays,
        rng,
    )


@pytest.mark.parametrize(
    "shape, groups", [((2, 6), 3), ((2, 6, 5), 2), ((3, 4, 2, 3), 4), ((2, 4, 3), 1)]
)
def test_group_norm_matches_torch_and_gradchecks(shape, groups, rng):
    arrays = [
        rng.standard_normal(shape) * 2,
        rng.standard_normal(shape[1]),
        rng.standard_normal(shape[1]),
    ]
    assert check_gradients(lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-2), arrays, rng)
    compare_with_torch(
        lambda x, w, b: F.group_norm(x, groups, w, b),
        lambda x, w, b: tF().group_norm(x, groups, w, b),
        arrays,
        rng,
    )


def test_layer_norm_standardises_by_hand():
    out = F.layer_norm(tg.Tensor(np.array([[1.0, 2.0, 3.0]])), 3, eps=0.0)
    np.testing.assert_allclose(out.data, [[-np.sqrt(1.5), 0.0, np.sqrt(1.5)]])


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: nn.LayerNorm(4), lambda t: t.nn.LayerNorm(4)),
        (
            lambda: nn.LayerNorm((3, 4), eps=1e-3, bias=False),
            lambda t: t.nn.LayerNorm((3, 4), eps=1e-3, bias=False),
        ),
        (
            lambda: nn.LayerNorm([4], elementwise_affine=False),
            lambda t: t.nn.LayerNorm([4], elementwise_affine=False),
        ),
        (lambda: nn.GroupNorm(2, 6), lambda t: t.nn.GroupNorm(2, 6)),
        (lambda: nn.GroupNorm(3, 6, affine=False), lambda t: t.nn.GroupNorm(3, 6, affine=False)),
    ],
)
def test_norm_modules_keys_init_and_outputs_match_torch(ours, theirs, rng):
    torch = torch_or_skip()
    mine, ref = ours(), theirs(torch).double()
    assert list(mine.state_dict()) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        np.testing.assert_array_equal(mine.state_dict()[key], value.numpy())  # ones and zeros
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    load_torch_state(mine.double(), ref)
    x = (
        rng.standard_normal((2, 6, 3, 4))
        if isinstance(mine, nn.GroupNorm)
        else rng.standard_normal((2, 3, 4))
    )
    np.testing.assert_allclose(
        mine(tg.Tensor(x)).data, ref(torch.tensor(x)).detach().numpy(), atol=1e-10
    )


def test_norm_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"\(N, 6, \.\.\.\)"):
        nn.GroupNorm(3, 6)(tg.Tensor(np.zeros((2, 4))))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(tg.Tensor(np.zeros((2, 3))), (2,))
    with pytest.raises(ValueError, match="weight"):
        F.layer_norm(tg.Tensor(np.zeros((2, 3))), 3, weight=tg.Tensor(np.ones(2)))


# ---------------------------------------------------------------- embedding, one_hot

INDICES = np.array([[1, 4, 0], [4, 4, 2]])


@pytest.mark.parametrize("padding_idx", [None, 4, -1])
def test_embedding_matches_torch(padding_idx, rng):
    compare_with_torch(
        lambda w: F.embedding(
            INDICES, w, padding_idx=None if padding_idx is None else padding_idx % 5
        ),
        lambda w: tF().embedding(torch_or_skip().tensor(INDICES), w, padding_idx=padding_idx),
        [rng.standard_normal((5, 3))],
        rng,
    )


def test_embedding_gradient_adds_repeats_and_skips_padding(rng):
    weight = tg.Tensor(rng.standard_normal((5, 2)), requires_grad=True)
    F.embedding(tg.tensor(INDICES), weight).sum().backward()
    np.testing.assert_array_equal(weight.grad.data[:, 0], [1, 1, 1, 0, 3])
    weight.grad = None
    F.embedding(INDICES, weight, padding_idx=4).sum().backward()
    np.testing.assert_array_equal(weight.grad.data[:, 0], [1, 1, 1, 0, 0])
    assert check_gradients(lambda w: F.embedding(INDICES, w), [rng.standard_normal((5, 2))], rng)


def test_embedding_module_init_keys_and_padding_row():
    torch = torch_or_skip()
    tg.manual_seed(0)
    layer = nn.Embedding(1000, 8, padding_idx=-2)
    assert layer.padding_idx == 998 and list(layer.state_dict()) == ["weight"]
    np.testing.assert_array_equal(layer.weight.data[998], 0)
    assert abs(layer.weight.data.std() - 1.0) < 0.05  # N(0, 1), as PyTorch
    ref = torch.nn.Embedding(1000, 8, padding_idx=-2)
    load_torch_state(layer, ref)
    out = layer(tg.tensor([[3, 998], [7, 3]]))
    np.testing.assert_array_equal(out.data, ref(torch.tensor([[3, 998], [7, 3]])).detach().numpy())
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data[998], 0)
    np.testing.assert_array_equal(layer.weight.grad.data[3], 2)
    assert repr(layer) == "Embedding(1000, 8, padding_idx=998)"


def test_embedding_errors():
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    layer = nn.Embedding(3, 2)
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        layer(tg.tensor([0, 3]))
    with pytest.raises(IndexError, match=r"\[0, 3\)"):  # no wrap-around, as PyTorch
        layer(tg.tensor([-1]))
    with pytest.raises(TypeError, match="integers"):
        layer(tg.tensor([0.0, 1.0]))


def test_one_hot_matches_torch():
    torch = torch_or_skip()
    labels = np.array([[0, 2], [3, 1]])
    for classes in (-1, 6):
        ours = F.one_hot(tg.tensor(labels), classes)
        ref = torch.nn.functional.one_hot(torch.tensor(labels), classes)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, ref.numpy())


def test_one_hot_errors():
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(tg.tensor([-1, 0]))
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(tg.tensor([0.5]))


# ---------------------------------------------------------------- pad

PADS = [(1, 2), (2, 0, 1, 1), (1, 1, 2, 0, 1, 2)]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("widths", PADS)
def test_pad_matches_torch_and_gradchecks(mode, widths, rng):
    # A batch axis and the padded ones: the shapes PyTorch supports for every mode.
    x = rng.standard_normal((2,) + (3, 4, 5)[: len(widths) // 2])
    assert check_gradients(lambda t: F.pad(t, widths, mode=mode), [x], rng)
    compare_with_torch(
        lambda t: F.pad(t, widths, mode=mode), lambda t: tF().pad(t, widths, mode=mode), [x], rng
    )


def test_pad_constant_value_and_negative_widths_crop(rng):
    np.testing.assert_array_equal(
        F.pad(tg.Tensor([1.0, 2.0, 3.0]), (2, 1), mode="reflect").data, [3, 2, 1, 2, 3, 2]
    )
    np.testing.assert_array_equal(
        F.pad(tg.Tensor([[1.0, 2.0, 3.0]]), (-1, 1, 1, 0), value=9.0).data, [[9, 9, 9], [2, 3, 9]]
    )
    compare_with_torch(
        lambda t: F.pad(t, (-1, 2, 1, -2), value=2.5),
        lambda t: tF().pad(t, (-1, 2, 1, -2), value=2.5),
        [rng.standard_normal((3, 4))],
        rng,
    )


def test_pad_errors():
    x = tg.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="even length"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="smaller than the axis"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        F.pad(x, (1, 1), mode="mirror")


# ---------------------------------------------------------------- attention


@pytest.mark.parametrize("variant", ["plain", "causal", "bool mask", "float mask", "scale", "3-d"])
def test_scaled_dot_product_attention_matches_torch_and_gradchecks(variant, rng):
    shapes = (
        [(3, 5, 4), (3, 6, 4), (3, 6, 2)]
        if variant == "3-d"
        else [(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 2)]
    )
    arrays = [rng.standard_normal(s) for s in shapes]
    causal = variant == "causal"
    mask = None
    if variant == "bool mask":
        mask = rng.random((5, 6)) > 0.4
        mask[:, 0] = True  # no fully masked row (its softmax is 0/0)
    elif variant == "float mask":
        mask = rng.standard_normal((5, 6))
    scale = 0.7 if variant == "scale" else None
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    assert check_gradients(fn, arrays, rng)
    torch = torch_or_skip()
    compare_with_torch(
        lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal, scale=scale
        ),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=None if mask is None else torch.tensor(mask),
            is_causal=causal,
            scale=scale,
        ),
        arrays,
        rng,
    )


def test_attention_errors():
    q = tg.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, tg.Tensor(np.zeros((2, 4))), tg.Tensor(np.zeros((2, 4))))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), bool), is_causal=True)


# ---------------------------------------------------------------- ModuleDict and Module methods


def test_module_dict_registers_in_order_with_torchs_keys():
    torch = torch_or_skip()
    ours = nn.ModuleDict({"encoder": nn.Linear(3, 4), "act": nn.GELU()})
    ours["head"] = nn.Linear(4, 2)
    ref = torch.nn.ModuleDict({"encoder": torch.nn.Linear(3, 4), "act": torch.nn.GELU()})
    ref["head"] = torch.nn.Linear(4, 2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert list(ours) == ["encoder", "act", "head"] and len(ours) == 3 and "act" in ours
    assert len(list(ours.parameters())) == 4
    removed = ours.pop("encoder")
    assert isinstance(removed, nn.Linear) and list(ours.keys()) == ["act", "head"]
    assert list(ours.state_dict()) == ["head.weight", "head.bias"]
    ours.update([("extra", nn.Identity())])
    assert [name for name, _ in ours.items()] == ["act", "head", "extra"]
    ours.clear()
    assert len(ours) == 0 and list(ours.state_dict()) == []
    with pytest.raises(KeyError, match="method name"):
        ours["update"] = nn.ReLU()
    with pytest.raises(KeyError, match="missing"):
        del ours["missing"]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.norm = nn.BatchNorm1d(3)
        self.register_buffer("scratch", tg.zeros(3), persistent=False)
        self.register_buffer("steps", tg.tensor(0))


def test_apply_visits_children_first_like_torch():
    torch = torch_or_skip()
    ours = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    ref = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(2, 1))
    )
    seen_ours, seen_ref = [], []
    assert ours.apply(lambda m: seen_ours.append(type(m).__name__)) is ours
    ref.apply(lambda m: seen_ref.append(type(m).__name__))
    assert seen_ours == seen_ref
    ours.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert all(
        (p.data == 0).all() for name, p in ours.named_parameters() if name.endswith("weight")
    )


def test_named_modules_and_children_match_torch():
    torch = torch_or_skip()
    shared = nn.Linear(2, 2)
    ours = nn.Sequential(shared, nn.Sequential(shared, nn.ReLU()))
    shared_ref = torch.nn.Linear(2, 2)
    ref = torch.nn.Sequential(shared_ref, torch.nn.Sequential(shared_ref, torch.nn.ReLU()))
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == [
        n for n, _ in ref.named_modules(remove_duplicate=False)
    ]
    assert [n for n, _ in ours.named_modules(prefix="m")] == [
        n for n, _ in ref.named_modules(prefix="m")
    ]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in ref.named_children()]


def test_non_persistent_buffers_stay_out_of_state_dict_like_torch():
    torch = torch_or_skip()
    block = Block()

    class RefBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 3)
            self.norm = torch.nn.BatchNorm1d(3)
            self.register_buffer("scratch", torch.zeros(3), persistent=False)
            self.register_buffer("steps", torch.tensor(0))

    assert list(block.state_dict()) == list(RefBlock().state_dict())
    assert "scratch" in dict(block.named_buffers())
    block.load_state_dict(Block().state_dict())  # strict: a non-persistent buffer is not expected


def test_to_double_float_convert_floats_in_place():
    block = Block()
    weight = block.linear.weight
    block.linear(tg.Tensor(np.ones((4, 2), np.float32))).sum().backward()
    assert block.double() is block
    assert (
        block.linear.weight is weight
        and weight.dtype == np.float64
        and weight.grad.dtype == np.float64
    )
    assert block.norm.running_var.dtype == np.float64 and block.scratch.dtype == np.float64
    assert block.norm.num_batches_tracked.dtype == np.int64 and block.steps.dtype == np.int64
    assert block.float().linear.bias.dtype == np.float32
    assert block.to(tg.float64).norm.weight.dtype == np.float64
    assert block.to("cpu") is block
    with pytest.raises(TypeError, match="float32 or float64"):
        block.to(tg.int64)


def test_requires_grad_freezes_and_unfreezes_parameters():
    model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert not model(tg.Tensor(np.ones((1, 2), np.float32))).requires_grad
    model[1].requires_grad_()
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
