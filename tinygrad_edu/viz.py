"""See the graph backward() walks: as Graphviz DOT text, as a text tree, and as a live trace.

`to_dot(loss)` and `text_tree(loss)` show every node (its op as grad_fn names it, shape,
a data summary and, after backward, a gradient summary). `trace_backward(loss)` runs
backward and prints each node as it is visited, with the local-derivative rule it applied
(the "Local:" line of the op's docstring in ops.py) and the gradients it passed on.
Read tensor.py (Tensor.backward) next to see the walk itself.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from . import tensor as tensor_module
from .function import Function
from .tensor import Tensor


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install matplotlib (or pip install tinygrad_edu[plot])"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------- the graph as data


def graph_nodes(root: Tensor) -> list[Tensor]:
    """Every tensor `root` was computed from (constants included), inputs before results."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in reversed(_inputs(node)))
    return order


def _inputs(node) -> tuple:
    """The nodes a node was made from (empty for leaves, and after backward freed the graph).

    The graph links ops, not tensors: an intermediate tensor nobody holds any more is
    shown by a stand-in with its op, shape and dtype (its array was freed).
    """
    fn = node.grad_fn
    if fn is None:
        return ()
    alive = fn.input_tensors()
    return tuple(
        tensor if tensor is not None else _freed_output(parent)
        for tensor, parent in zip(alive, fn.parents)
    )


@dataclass(eq=False)
class FreedOutput:
    """Stands for an intermediate tensor whose array was freed: nobody held it and no op saved it."""

    grad_fn: Function
    shape: tuple
    dtype: np.dtype
    data = None
    grad = None
    requires_grad = True


def _freed_output(fn: Function) -> FreedOutput:
    """One stand-in per node (kept on the node, so shared inputs are drawn once)."""
    stand_in = fn.__dict__.get("viz_freed_output")
    if stand_in is None:
        stand_in = fn.__dict__["viz_freed_output"] = FreedOutput(
            fn, fn.output_shape, fn.output_dtype
        )
    return stand_in


def describe(node: Tensor, names: Mapping[int, str] | None = None) -> tuple[str, str, str]:
    """(title, shape and dtype, data and grad summary) of one node, for both renderings."""
    names = names or {}
    if node.grad_fn is not None:
        title = node.grad_fn.name
    elif id(node) in names:
        title = names[id(node)]
    else:
        title = "leaf (requires grad)" if node.requires_grad else "constant"
    shape = f"{node.shape} {_dtype_name(node.dtype)}"
    summary = "data not held" if node.data is None else "data " + _summary(node.data)
    if node.grad is not None:
        summary += ", grad " + _norm_text(node.grad.data)
    return title, shape, summary


@functools.lru_cache(maxsize=None)
def _dtype_name(dtype: np.dtype) -> str:
    return str(dtype)  # numpy builds this string anew each time: slow on 100,000-node graphs


def _summary(values: np.ndarray) -> str:
    if values.size == 1:
        return f"{values.item():.4g}"
    if values.size == 0 or values.dtype.kind not in "fiu":
        return f"{values.size} values"
    with np.errstate(all="ignore"):
        return f"mean {values.mean():.3g}, std {values.std():.3g}"


def _norm_text(grad: np.ndarray) -> str:
    with np.errstate(all="ignore"):
        return f"‖·‖ {np.linalg.norm(grad.astype(np.float64).ravel()):.3g}"


def _ids(names: Mapping[str, Tensor] | None) -> dict[int, str]:
    """{id(tensor): name} from {name: tensor}, e.g. dict(model.named_parameters())."""
    return {id(t): name for name, t in (names or {}).items()}


# ---------------------------------------------------------------- renderings


def to_dot(root: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """Graphviz DOT text of the graph behind `root` (render: `dot -Tpng graph.dot -o graph.png`).

    Ops are boxes, leaves ellipses (parameters green, constants grey); edges point the way
    the forward pass went. `names` labels leaves, e.g. dict(model.named_parameters()).
    """
    ids = _ids(names)
    lines = [
        "digraph backward_graph {",
        "  rankdir=BT;",
        '  node [fontname="Helvetica", fontsize=10];',
    ]
    nodes = graph_nodes(root)
    number = {id(node): i for i, node in enumerate(nodes)}
    for node in nodes:
        title, shape, summary = describe(node, ids)
        if node.grad_fn is not None:
            style = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
        elif node.requires_grad:
            style = 'shape=ellipse, style=filled, fillcolor="#d5f0d5"'
        else:
            style = 'shape=ellipse, style=filled, fillcolor="#eeeeee"'
        label = "\\n".join(_dot_escape(text) for text in (title, shape, summary))
        lines.append(f'  n{number[id(node)]} [label="{label}", {style}];')
    for node in nodes:
        for parent in _inputs(node):
            lines.append(f"  n{number[id(parent)]} -> n{number[id(node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


MAX_TREE_INDENT = 32  # deeper levels are drawn at this indentation, marked with their depth


def text_tree(root: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """The graph as an indented tree, the output at the top, each node's inputs below it.

    A node used twice is drawn once; later uses say `(see #n above)`. Indentation
    stops growing after MAX_TREE_INDENT levels (deeper lines say their depth), so
    the text grows linearly with the graph: a 50,000-op chain is 50,000 short lines.
    """
    ids = _ids(names)
    lines, number = [], {}
    stack = [(root, 0, "", "")]  # (node, depth, its line's prefix, its inputs' prefix)
    while stack:
        node, depth, prefix, child_prefix = stack.pop()
        title, shape, summary = describe(node, ids)
        if depth > MAX_TREE_INDENT:
            prefix += f"[depth {depth}] "
        if id(node) in number:
            lines.append(f"{prefix}{title} (see #{number[id(node)]} above)")
            continue
        number[id(node)] = len(number) + 1
        lines.append(f"{prefix}#{number[id(node)]} {title}  {shape}  {summary}")
        inputs = _inputs(node)
        for i, parent in reversed(list(enumerate(inputs))):
            last = i == len(inputs) - 1
            branch, below = ("└── ", "    ") if last else ("├── ", "│   ")
            if depth >= MAX_TREE_INDENT:  # keep the prefix: it would grow with every level
                below = ""
            stack.append((parent, depth + 1, child_prefix + branch, child_prefix + below))
    return "\n".join(lines)


# ---------------------------------------------------------------- the backward trace


@dataclass
class TraceStep:
    """One node as backward visited it: the op, its local rule, and the gradients it passed on."""

    index: int
    op: str
    local_rule: str
    gradients: list[tuple[str, tuple, float]]  # (input name, gradient shape, gradient norm)

    def __str__(self) -> str:
        lines = [f"[{self.index}] {self.op}", f"      local rule   {self.local_rule}"]
        for name, shape, norm in self.gradients:
            lines.append(f"      grad → {name:<12} shape {shape!s:<12} ‖grad‖ = {norm:.4g}")
        return "\n".join(lines)


@dataclass
class BackwardTrace:
    """While active (a `with` block), records (and prints to `file`, unless None) each node
    backward visits. Chains to any observer already installed (detect_anomaly) and restores it."""

    names: Mapping[str, Tensor] | None = None
    file: TextIO | None = None
    steps: list[TraceStep] = field(default_factory=list)

    def __enter__(self):
        self._ids = _ids(self.names)
        self._inner = tensor_module.op_observer
        tensor_module.set_op_observer(self)
        if self.file is not None:
            print(_TRACE_HEADER, file=self.file)
        return self

    def __exit__(self, *exc) -> None:
        tensor_module.set_op_observer(self._inner)

    def after_forward(self, fn, out: np.ndarray) -> None:
        if self._inner is not None:
            self._inner.after_forward(fn, out)

    def after_backward(self, fn, input_grads: tuple) -> None:
        labels = input_names(type(fn), len(input_grads))
        gradients = []
        for label, parent, grad in zip(labels, getattr(fn, "parents", ()), input_grads):
            if grad is not None:
                name = self._ids.get(id(parent.output()), label)
                gradients.append(
                    (name, grad.shape, float(np.linalg.norm(np.ravel(grad).astype(np.float64))))
                )
        step = TraceStep(len(self.steps) + 1, fn.name, local_rule(type(fn)), gradients)
        self.steps.append(step)
        if self.file is not None:
            print(step, file=self.file)
        if self._inner is not None:
            self._inner.after_backward(fn, input_grads)


_TRACE_HEADER = (
    "backward, node by node: each node gets dLoss/d(its output) = grad and applies the\n"
    "chain rule, grad_input = grad · (local rule), passing the result to its inputs."
)


def trace_backward(
    loss: Tensor,
    names: Mapping[str, Tensor] | None = None,
    file: TextIO | None = None,
    retain_graph: bool = False,
) -> list[TraceStep]:
    """Run `loss.backward()`, printing (to `file`, default stdout) each node in the order
    backward visits it; return the steps. retain_graph=True keeps the graph for text_tree."""
    with BackwardTrace(names=names, file=sys.stdout if file is None else file) as trace:
        loss.backward(retain_graph=retain_graph)
    return trace.steps


def local_rule(op: type) -> str:
    """The `Local:` line of an op's docstring (its local derivative), e.g. ∂out/∂x = y."""
    lines = (inspect.getdoc(op) or "").splitlines()
    for line in lines:
        if line.strip().startswith("Local:"):
            return line.strip()[len("Local:") :].strip()
    return "(its docstring has no Local: line)"


def input_names(op: type, count: int) -> list[str]:
    """The inputs' names as the `Backward:` line spells them (grad_x, grad_W -> x, W), else input i."""
    backward = next(
        (line for line in (inspect.getdoc(op) or "").splitlines() if "Backward:" in line), ""
    )
    names = list(dict.fromkeys(re.findall(r"grad_(\w+)\s*=", backward)))
    return names if len(names) == count else [f"input {i}" for i in range(count)]
