"""Count the autograd core's lines of code (docstrings, comments and blank lines aside).

The core, as DESIGN.md rule 8 defines it: the engine, Function (with its backward
vocabulary) and the primitive ops, under 1,000 lines; the engine alone well under
200. The user-facing files are listed for information. CI runs this script and fails
when a budget is exceeded.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

BUDGET, ENGINE_BUDGET = 1000, 200
CORE = ["engine.py", "function.py", "ops.py"]
SHOWN = ["tensor.py", "dtypes.py"]  # the user API and its argument rules: not the core
PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_edu"


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by module, class and function docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines holding at least one code token that is not part of a docstring."""
    skip = docstring_lines(ast.parse(source))
    counted: set[int] = set()
    ignored = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in ignored or token.type == tokenize.ENDMARKER:
            continue
        for line in range(token.start[0], token.end[0] + 1):
            if line not in skip:
                counted.add(line)
    return len(counted)


def main() -> int:
    counts = {name: code_lines((PACKAGE / name).read_text(encoding="utf-8")) for name in CORE}
    for name in SHOWN:
        count = code_lines((PACKAGE / name).read_text(encoding="utf-8"))
        print(f"{name:14s} {count:5d}  (not in the core)")
    for name, count in counts.items():
        print(f"{name:14s} {count:5d}")
    total = sum(counts.values())
    print(f"{'core':14s} {total:5d}  (budget {BUDGET}; engine.py budget {ENGINE_BUDGET})")
    failed = False
    if total > BUDGET:
        print(f"the core is over budget by {total - BUDGET} lines", file=sys.stderr)
        failed = True
    if counts["engine.py"] > ENGINE_BUDGET:
        print(f"engine.py is over its {ENGINE_BUDGET}-line budget", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
