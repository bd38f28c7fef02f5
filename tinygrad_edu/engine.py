"""The engine: record each op as a node, then walk the nodes backward applying the chain rule.

`apply` runs an op and records it; `backward` visits the recorded nodes in reverse
topological order (a heap by sequence number, no recursion) and passes each its output's
gradient, summing over uses; gradients that reach a leaf accumulate into its `.grad`. Read ops.py
for the derivatives, tensor.py for the methods that call `apply`.
"""

import heapq
import inspect
import itertools
import threading
import weakref

import numpy as np

from . import grad_mode
from .function import Function, Leaf

_clock = itertools.count()  # numbers ops in the order they run; in-place changes too
_accumulate_lock = threading.Lock()  # several threads may backprop into one leaf
op_observer = None  # set by diagnostics.detect_anomaly and viz: sees every op run
_last_inplace_change = -1  # the clock at the latest in-place change: most backwards check nothing
Tensor = None  # the class apply wraps results in; tensor.py sets it (it imports this module)


def apply(fn_class: type, *inputs, **params):
    """Run one op forward and, if any input wants a gradient, record it in the graph."""
    fn = fn_class()
    # One and two inputs spelled out, the hot path: in Python 3.11 a list comprehension
    # costs a function call, more than the op's own bookkeeping.
    if len(inputs) == 2:
        data = fn.forward(inputs[0]._data, inputs[1]._data, **params)
    elif len(inputs) == 1:
        data = fn.forward(inputs[0]._data, **params)
    else:
        data = fn.forward(*[t._data for t in inputs], **params)
    if type(data) is not np.ndarray:  # numpy returns 0-d results as scalars (np.float32)
        data = np.asarray(data)
    out = Tensor._wrap(data)
    if grad_mode.state.enabled:
        for t in inputs:
            if t.requires_grad:
                _record(fn, inputs, out)
                break
    if op_observer is not None:
        op_observer.after_forward(fn, data)
    return out


def _record(fn: Function, inputs: tuple, out) -> None:
    """Make `fn` a node of the graph: linked to the node of each input, not the input
    (as PyTorch's next_functions), so an intermediate array is freed once no op saved it."""
    needs_input_grad, parents = [], []
    for t in inputs:
        needs_input_grad.append(t.requires_grad)
        parents.append(t.grad_fn or Leaf(t))
    fn.parents, fn.needs_input_grad = tuple(parents), tuple(needs_input_grad)
    fn.released, fn.sequence_number = False, next(_clock)
    data = out._data
    fn.output, fn.output_dtype, fn.output_shape = weakref.ref(out), data.dtype, data.shape
    out.grad_fn, out.requires_grad = fn, True


def backward(roots, grads, retain_graph: bool, create_graph: bool, inputs=None):
    """Backpropagate `grads` (one per root) through the graph: the chain rule, node by node.

    Without `inputs` the gradients land in the leaves' .grad; with `inputs` (tensors)
    they are returned instead, one per input (None where no path leads to it).
    """
    found = None if inputs is None else _Found(inputs)
    pending = {}  # node -> dLoss/d(its output), summed over its uses
    for root, grad in zip(roots, grads):
        if root.grad_fn is not None:
            earlier = pending.get(root.grad_fn)
            pending[root.grad_fn] = grad if earlier is None else earlier + grad
        elif found is not None:
            found.leaf(root, grad)
        else:
            accumulate_grad(root, grad, owned=False)
    if not create_graph:  # arrays in, arrays out: nothing is recorded whatever the grad mode
        _walk(pending, found, retain_graph, create_graph)
        return None if found is None else found.grads
    with grad_mode.enable_grad():  # the backward pass itself is recorded
        _walk(pending, found, retain_graph, create_graph)
    return None if found is None else found.grads


def _walk(pending: dict, found, retain_graph: bool, create_graph: bool) -> None:
    """Visit the nodes in reverse topological order: each passes its output's gradient on.

    An op always runs after the ops that made its inputs, so taking the waiting node
    with the highest sequence number next visits each node only after every node that
    uses its output: its gradient is complete when passed on. A heap keeps that order
    (no recursion and no separate sort: a 100,000-op chain is fine).
    """
    queue = []  # (-sequence number, node): heapq pops the smallest, so the latest op
    for fn in pending:
        heapq.heappush(queue, (-fn.sequence_number, fn))
    while queue:
        fn = heapq.heappop(queue)[1]
        if fn.released:
            raise RuntimeError(
                "backward through the graph a second time: its saved arrays were freed after "
                "the first backward; pass retain_graph=True to the first backward() to keep them"
            )
        grad = pending.pop(fn)
        if found is not None:
            found.intermediate(fn, grad)
        else:
            output = fn.output()  # alive only while someone holds the tensor
            if output is not None and output.retains_grad:
                accumulate_grad(output, grad, owned=False)
        if fn.sequence_number < _last_inplace_change:
            _check_saved_versions(fn)
        input_grads = _backward_on_graph(fn, grad) if create_graph else fn.backward(grad)
        if op_observer is not None:
            op_observer.after_backward(fn, input_grads)
        for parent, parent_grad in zip(fn.parents, input_grads):
            if parent_grad is None:
                continue
            if type(parent) is Leaf:  # the gradient stops here, in .grad
                leaf = parent.tensor
                if found is not None:
                    found.leaf(leaf, parent_grad)
                elif leaf.requires_grad:
                    if parent_grad.dtype != leaf._data.dtype:
                        parent_grad = parent_grad.astype(leaf._data.dtype)
                    # `owned` matters only for a first gradient: that is when it may be kept
                    owned = leaf._grad is None and owns(parent_grad, grad, input_grads)
                    accumulate_grad(leaf, parent_grad, owned)
                continue
            if parent_grad.dtype != parent.output_dtype:  # a float64 op may feed a float32 one
                parent_grad = parent_grad.astype(parent.output_dtype)
            earlier = pending.get(parent)
            if earlier is None:
                pending[parent] = parent_grad
                heapq.heappush(queue, (-parent.sequence_number, parent))
            else:  # out of place: an op may return the same array for two inputs
                pending[parent] = earlier + parent_grad
        if not retain_graph:
            fn.release()


class _Found:
    """autograd.grad's gradients: summed per input tensor instead of written to .grad."""

    def __init__(self, inputs) -> None:
        self.leaves = {id(t): i for i, t in enumerate(inputs) if t.grad_fn is None}
        self.nodes = {t.grad_fn: i for i, t in enumerate(inputs) if t.grad_fn is not None}
        self.dtypes = [t.dtype for t in inputs]
        self.grads = [None] * len(inputs)

    def leaf(self, leaf, grad) -> None:
        i = self.leaves.get(id(leaf))
        if i is not None:
            grad = as_dtype(grad, self.dtypes[i])
            self.grads[i] = grad if self.grads[i] is None else self.grads[i] + grad

    def intermediate(self, fn: Function, grad) -> None:
        if fn in self.nodes:
            self.grads[self.nodes[fn]] = grad


def accumulate_grad(leaf, grad, owned: bool) -> None:
    """leaf.grad += grad, out of place and atomically (threads may share a leaf).
    `owned`: nothing else holds `grad`, so a first gradient is kept as it is, not copied."""
    if grad.shape != leaf._data.shape:
        raise RuntimeError(f"gradient of shape {grad.shape} for a tensor of shape {leaf.shape}")
    _accumulate_lock.acquire()  # not `with`: acquire/release cost half as much
    try:
        current = leaf._grad
        if type(grad) is Tensor:  # create_graph: the gradient is itself a graph node
            if current is None:
                leaf._grad = grad if owned else grad + 0.0
            else:
                leaf._grad = current + grad
        elif current is None:  # .grad may change in place later: it must not share memory
            leaf._grad = Tensor._wrap(grad if owned else np.array(grad, leaf._data.dtype))
        else:
            leaf._grad = Tensor._wrap(current._data + grad)
    finally:
        _accumulate_lock.release()


def owns(parent_grad, upstream, input_grads) -> bool:
    """The buffer-ownership optimisation: True when an op's backward made `parent_grad`
    just now and gave it to one input only (not the upstream gradient passed through,
    as Add does; not a view; not a numpy scalar), so a leaf may keep it without a copy."""
    if parent_grad is upstream or _count_same(parent_grad, input_grads) != 1:
        return False
    if type(parent_grad) is Tensor:
        return True
    return (
        type(parent_grad) is np.ndarray
        and parent_grad.base is None
        and parent_grad.flags.writeable
    )


def _count_same(grad, grads) -> int:
    """How many of `grads` are the object `grad` (identity: == on arrays compares values)."""
    count = 0
    for g in grads:
        if g is grad:
            count += 1
    return count


def as_dtype(grad, dtype: np.dtype):
    """A gradient has its tensor's dtype (a float64 op may feed a float32 one)."""
    return grad if grad.dtype == dtype else grad.astype(dtype)


# ---------------------------------------------------------------- create_graph


def _backward_on_graph(fn: Function, grad):
    """fn.backward with its saved inputs and output as the graph's tensors, so the lines
    of the derivative record nodes (function.py's convention); the arrays are put back."""
    saved = {name: fn.__dict__[name] for name in _saved_names(fn) if name in fn.__dict__}
    for name, array in saved.items():
        node = fn if name == "out" else fn.parents[_input_names(type(fn)).index(name)]
        setattr(fn, name, _graph_tensor(array, node))
    try:
        return fn.backward(grad)
    finally:
        fn.__dict__.update(saved)


def _graph_tensor(array: np.ndarray, node: Function):
    """The tensor `node` made (or the leaf itself), holding `array`: where the graph
    of the gradient joins the graph of the forward pass."""
    if type(node) is Leaf:
        return node.tensor
    made = Tensor._wrap(array)
    made.grad_fn, made.requires_grad = node, True
    return made


def _saved_names(fn: Function) -> list:
    return _input_names(type(fn))[: len(fn.parents)] + ["out"]


_names_cache: dict = {}


def _input_names(fn_class: type) -> list:
    """The names of forward's positional parameters: what an op calls its inputs."""
    if fn_class not in _names_cache:
        parameters = list(inspect.signature(fn_class.forward).parameters.values())[1:]
        _names_cache[fn_class] = [p.name for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]
    return _names_cache[fn_class]


# ---------------------------------------------------------------- in-place changes


def bump_version(t) -> None:
    """Record that t's contents changed in place (PyTorch's version counter)."""
    global _last_inplace_change
    t._version += 1
    t._changed_at = _last_inplace_change = next(_clock)


def _check_saved_versions(fn: Function) -> None:
    """Refuse a backward that needs a tensor changed in place since the op saved it."""
    for name in _saved_names(fn):
        if name not in fn.__dict__:
            continue
        node = fn if name == "out" else fn.parents[_input_names(type(fn)).index(name)]
        saved = node.output()
        if saved is not None and saved._changed_at > fn.sequence_number:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {fn.name} saved its {name!r} (shape {saved.shape}), "
                f"now at version {saved._version}; do the in-place change after backward()"
            )

