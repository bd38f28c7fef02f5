"""Imports go one way: no circle among tinygrad_edu's modules.

Reads every module's source with ast (nothing is imported), collects each relative or
absolute import of a tinygrad_edu module, at the top or inside a function, and finds
the cycles (strongly connected components) of that graph.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tinygrad_edu"

# The cycles that remain, each stated with its reason. Any other cycle, or one of
# these growing, fails the test.
KNOWN_CYCLES = {
    # Tensor's methods call the ops, the ops build Functions, and a Function makes
    # Tensors: tensor.py reaches ops/nn.activation/autograd lazily, inside methods.
    frozenset({
        "tinygrad_edu.autograd", "tinygrad_edu.autograd.functional", "tinygrad_edu.engine",
        "tinygrad_edu.function", "tinygrad_edu.nn.activation", "tinygrad_edu.nn.checks",
        "tinygrad_edu.nn.module", "tinygrad_edu.ops", "tinygrad_edu.ops_math",
        "tinygrad_edu.ops_shape", "tinygrad_edu.ops_special", "tinygrad_edu.tensor",
    }),  # fmt: skip
    # scaled_dot_product_attention applies F.dropout, and F re-exports attention.
    frozenset({"tinygrad_edu.nn.attention", "tinygrad_edu.nn.functional"}),
}


def _modules() -> dict:
    """Dotted module name -> (path, is_package) for every .py/.pyx under the package."""
    modules = {}
    for path in list(PACKAGE.rglob("*.py")) + list(PACKAGE.rglob("*.pyx")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def _targets(node, module: str, is_package: bool, modules: dict) -> set:
    """The tinygrad_edu modules one import statement loads (a parent package is
    loaded before any of its modules anyway, so it is not counted for `from . import x`)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level else []
    source = ".".join(base + (node.module.split(".") if node.module else []))
    submodules = {f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in modules}
    names_not_modules = len(submodules) < len(node.names)
    return submodules | ({source} if names_not_modules and source in modules else set())


def import_graph() -> dict:
    """Module -> the set of tinygrad_edu modules it imports, at any depth of its code."""
    modules = _modules()
    graph = {}
    for module, (path, is_package) in modules.items():
        if path.suffix != ".py":
            continue
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _targets(node, module, is_package, modules)
        graph[module] = edges
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_at_the_top_and_inside_functions():
    graph = import_graph()
    assert "tinygrad_edu.nn.checks" in graph["tinygrad_edu.nn.conv"]  # top of the file
    assert "tinygrad_edu.nn.functional" in graph["tinygrad_edu.nn.attention"]  # in a function


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_conv_never_imports_functional():
    assert "tinygrad_edu.nn.functional" not in import_graph()["tinygrad_edu.nn.conv"]


@pytest.mark.parametrize("cycle", KNOWN_CYCLES, ids=lambda c: min(c))
def test_each_known_cycle_is_still_there_so_the_list_stays_true(cycle):
    assert cycle in cycles(import_graph())


def test_no_other_import_cycle():
    unexpected = [sorted(c) for c in cycles(import_graph()) if c not in KNOWN_CYCLES]
    assert unexpected == []
