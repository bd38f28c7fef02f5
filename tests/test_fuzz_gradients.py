"""Property-based gradient fuzzing: hypothesis writes small random programs (graphs of ops
over leaves of random broadcast-compatible shapes), and every leaf's gradient must match
central differences in float64. Examples near a kink (relu at 0, a near-tie in max) or with
huge values are rejected, since there a finite difference is not a derivative.
"""

import itertools

import numpy as np
from conftest import check_gradients
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

import tinygrad_edu as tg

KINK_MARGIN = 1e-3  # central differences with eps 1e-6 are exact this far from a kink
MAX_MAGNITUDE = 1e4  # beyond this, float64 rounding in f(x ± eps) swamps the difference


class Guard:
    """Watches one forward pass: the closest any kinked op came to its kink, the largest value."""

    def __init__(self):
        self.kink_distance, self.magnitude = np.inf, 0.0

    def near(self, values, kinks) -> None:
        """Record how close `values` came to `kinks` (broadcast elementwise), ignoring exact
        hits: those come from exact constructions (relu's zeros, an element tied with its own
        copy) that a perturbation moves together, so the finite difference still agrees."""
        gaps = np.abs(np.asarray(values, np.float64) - np.asarray(kinks, np.float64))
        gaps = gaps[gaps > 0]
        if gaps.size:
            self.kink_distance = min(self.kink_distance, gaps.min())

    def saw(self, tensor) -> None:
        data = tensor.numpy()
        self.magnitude = max(
            self.magnitude, np.abs(data).max(initial=0.0) if np.isfinite(data).all() else np.inf
        )


NO_GUARD = None


def _kinked(guard, fn, kinks):
    def apply(x, step):
        if guard is not NO_GUARD:
            guard.near(np.ravel(x.numpy()), kinks)
        return fn(x)

    return apply


def _axes(x, choice):
    """A reduction's (axis, keepdims) that keeps the result broadcastable to the base shape:
    everything to 0-d, any axes with keepdims, or leading axes without."""
    mode, rest = choice % 3, choice // 3
    if x.ndim == 0 or mode == 0:
        return None, False
    if mode == 1:
        axes = tuple(a for a in range(x.ndim) if rest >> a & 1) or (rest % x.ndim,)
        return axes, True
    return tuple(range(1 + rest % x.ndim)), False


def _reduce(name, guard):
    def apply(x, step):
        axis, keepdims = _axes(x, step.choice)
        if name in ("max", "min") and guard is not NO_GUARD:  # a near-tie with the extreme
            guard.near(x.numpy(), getattr(np, name)(x.numpy(), axis=axis, keepdims=True))
        if name == "var":
            count = x.numel() if axis is None else int(np.prod([x.shape[a] for a in axis]))
            return x.var(axis=axis, keepdims=keepdims, correction=1 if count > 1 else 0)
        method = "a" + name if name in ("max", "min") else name  # values over axes: amax/amin
        return getattr(x, method)(axis=axis, keepdims=keepdims)

    return apply


def _axis_op(name):
    def apply(x, step):
        return getattr(x, name)(axis=step.choice % x.ndim) if x.ndim else x.exp()

    return apply


def _flip(x, step):
    if x.ndim == 0:
        return -x
    axis = step.choice % x.ndim
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _gather(a, b, step, base):
    """Pick along one axis of `a` broadcast to the base shape, with repeated indices."""
    if not base:
        return a * a
    axis = step.choice % len(base)
    size = base[axis]
    index = np.array([(step.choice // (i + 1)) % size for i in range(size)])
    return a.expand(base)[(slice(None),) * axis + (index,)]


def _flat_softmax(x, step):
    return x.reshape(-1).softmax().reshape(x.shape)


def _permuted_log_softmax(x, step):
    if x.ndim < 2:
        return x.log_softmax(axis=0) if x.ndim else x
    orders = list(itertools.permutations(range(x.ndim)))
    order = orders[step.choice % len(orders)]
    inverse = tuple(np.argsort(order))
    return x.permute(order).log_softmax(axis=-1).permute(inverse)


def unary_ops(guard):
    return {
        "neg": lambda x, s: -x,
        "exp": lambda x, s: x.exp(),
        "log": lambda x, s: (x * x + 1).log(),
        "log1p": lambda x, s: (x * x).log1p(),
        "sqrt": lambda x, s: (x * x + 0.1).sqrt(),
        "sigmoid": lambda x, s: x.sigmoid(),
        "tanh": lambda x, s: x.tanh(),
        "square": lambda x, s: x**2,
        "cube": lambda x, s: x**3.0,
        "two_to_the": lambda x, s: 2.0**x,
        "scalars": lambda x, s: 1.5 - 2.0 * x / 3.0 + 0.5,
        "relu": _kinked(guard, lambda x: x.relu(), 0.0),
        "abs": _kinked(guard, lambda x: x.abs(), 0.0),
        "leaky_relu": _kinked(guard, lambda x: x.leaky_relu(0.1), 0.0),
        "clip": _kinked(guard, lambda x: x.clip(-0.5, 0.5), [[-0.5], [0.5]]),
        "sum": _reduce("sum", guard),
        "mean": _reduce("mean", guard),
        "var": _reduce("var", guard),
        "logsumexp": _reduce("logsumexp", guard),
        "max": _reduce("max", guard),
        "min": _reduce("min", guard),
        "softmax": _axis_op("softmax"),
        "log_softmax": _axis_op("log_softmax"),
        "flip": _flip,
        "flat_softmax": _flat_softmax,
        "permuted_log_softmax": _permuted_log_softmax,
    }


def _tied(guard, fn):
    def apply(a, b, step, base):
        if guard is not NO_GUARD:
            shape = np.broadcast_shapes(a.shape, b.shape)
            guard.near(np.broadcast_to(a.numpy(), shape), np.broadcast_to(b.numpy(), shape))
        return fn(a, b, step, base)

    return apply


def _where(a, b, step, base):
    mask = np.asarray(np.random.default_rng(step.choice).random(base) < 0.5)
    return tg.where(mask, a, b)


def _cat_then_slice(a, b, step, base):
    """Join the two along one axis, then take a window straddling the seam."""
    if not base:
        return a + b
    axis = step.choice % len(base)
    size = base[axis]
    joined = tg.concatenate([a.expand(base), b.expand(base)], axis=axis)
    start = size // 2 + (step.choice // len(base)) % (size // 2 + 1)
    return joined[(slice(None),) * axis + (slice(start, start + size),)]


def _expanded_extreme(name, guard):
    """max/min over a broadcast copy of `a`: its copies tie exactly and must share the gradient."""

    def apply(a, b, step, base):
        return _reduce(name, guard)(a.expand(base), step)

    return apply


def _matmul_chain(a, b, step, base):
    """a @ bᵀ @ a on the base shape: a matmul whose result is broadcastable to the base again."""
    if len(base) == 0:
        return a * b
    a, b = a.expand(base), b.expand(base)
    if len(base) == 1:
        return a @ b
    return (a @ b.transpose()) @ a


def binary_ops(guard):
    stacked_max = _tied(
        guard, lambda a, b, s, base: tg.stack([a.expand(base), b.expand(base)]).amax(axis=0)
    )
    return {
        "add": lambda a, b, s, base: a + b,
        "sub": lambda a, b, s, base: a - b,
        "mul": lambda a, b, s, base: a * b,
        "div": lambda a, b, s, base: a / (b * b + 1),
        "pow": lambda a, b, s, base: (a * a + 0.5) ** b,
        "maximum": _tied(guard, lambda a, b, s, base: tg.maximum(a, b)),
        "minimum": _tied(guard, lambda a, b, s, base: tg.minimum(a, b)),
        "stacked_max": stacked_max,
        "gather": _gather,
        "expanded_max": _expanded_extreme("max", guard),
        "expanded_min": _expanded_extreme("min", guard),
        "where": lambda a, b, s, base: _where(a, b, s, base),
        "cat_then_slice": _cat_then_slice,
        "matmul": _matmul_chain,
    }


class Step:
    """One op of a program: its name, which earlier nodes it reads, and a number it uses to
    choose axes, indices or masks."""

    def __init__(self, name, first, second, choice):
        self.name, self.first, self.second, self.choice = name, first, second, choice

    def __repr__(self):
        return f"Step({self.name!r}, {self.first}, {self.second}, {self.choice})"


def run(base, steps, seed, leaves, guard=NO_GUARD):
    """Evaluate the program: each step appends one node computed from earlier ones. The
    result weighs every computed node by fixed random numbers, so no step is dead code."""
    unary, binary = unary_ops(guard), binary_ops(guard)
    nodes = list(leaves)
    for step in steps:
        a, b = nodes[step.first % len(nodes)], nodes[step.second % len(nodes)]
        out = (
            unary[step.name](a, step) if step.name in unary else binary[step.name](a, b, step, base)
        )
        if guard is not NO_GUARD:
            guard.saw(out)
        nodes.append(out)
    computed = nodes[len(leaves) :]
    weights = [
        np.asarray(np.random.default_rng([seed, k]).standard_normal(n.shape))
        for k, n in enumerate(computed)
    ]
    return sum((node * tg.Tensor(w)).sum() for node, w in zip(computed, weights))


OP_NAMES = sorted(unary_ops(NO_GUARD)) + sorted(binary_ops(NO_GUARD))


@st.composite
def programs(draw):
    base = tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    leaf_shapes = []
    for _ in range(draw(st.integers(1, 3))):
        kept = base[draw(st.integers(0, len(base))) :]  # drop leading axes
        leaf_shapes.append(tuple(1 if draw(st.booleans()) else size for size in kept))
    steps = draw(
        st.lists(
            st.builds(
                Step,
                st.sampled_from(OP_NAMES),
                st.integers(0, 99),
                st.integers(0, 99),
                st.integers(0, 10**6),
            ),
            min_size=2,
            max_size=8,
        )
    )
    return base, leaf_shapes, steps, draw(st.integers(0, 2**32 - 1))


@settings(
    derandomize=True,
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow 'explain' phase
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(programs())
def test_random_graphs_have_correct_gradients(program):
    base, leaf_shapes, steps, seed = program
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in leaf_shapes]
    note(f"base {base}, leaves {leaf_shapes}, steps {steps}")
    guard = Guard()
    with tg.no_grad():
        run(base, steps, seed, [tg.Tensor(a) for a in arrays], guard)
    assume(guard.kink_distance > KINK_MARGIN and guard.magnitude < MAX_MAGNITUDE)
    assert check_gradients(lambda *leaves: run(base, steps, seed, leaves), arrays, rng)
