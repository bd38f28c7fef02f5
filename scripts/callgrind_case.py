"""One per-op overhead case, run N times, for counting instructions under callgrind.

Instruction counts do not drift with machine load, unlike wall-clock time. Only what runs
inside functools.reduce (the N calls, after 50 uncounted warm-up calls) is counted:
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \
      --callgrind-out-file=/dev/null python scripts/callgrind_case.py tiny 1000
then divide "Collected" by N (the case "noop", an empty call, is the loop's own cost).
Cases: add (a + b, requires_grad), tiny ((a*b + c).sum().backward()), torch_add /
torch_tiny (the same in PyTorch, 1 thread), on 4-element float32 tensors as
tinygrad_edu/bench/overhead.py; mlp4 / torch_mlp4 (one step of the 8-8-8-2 MLP, batch 4)
and mlp32 (784-256-128-10, batch 32), mlp_step.py's loop.
"""

import functools
import sys

import numpy as np


def make(case: str):
    if case == "noop":
        return lambda: None
    if "mlp" in case:
        from tinygrad_edu.bench.mlp_step import VARIANTS, make_problem

        variant = "torch" if case.startswith("torch_") else "tinygrad_edu"
        if case.endswith("32"):
            return VARIANTS[variant][0](make_problem(32))
        return VARIANTS[variant][0](make_problem(4, sizes=(8, 8, 8, 2)))
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(4).astype(np.float32) for _ in range(3)]
    if case.startswith("torch_"):
        import torch

        torch.set_num_threads(1)
        a, b, c = (torch.tensor(x, requires_grad=True) for x in arrays)
    else:
        import tinygrad_edu as tg

        a, b, c = (tg.Tensor(x, requires_grad=True) for x in arrays)
    if case.endswith("add"):
        return lambda: a + b
    return lambda: (a * b + c).sum().backward()


def main() -> None:
    case, count = sys.argv[1], int(sys.argv[2])
    run = make(case)
    for _ in range(50):  # warm-up: caches, lazily built state; not counted
        run()
    functools.reduce(lambda _, __: run(), range(count), None)  # the counted calls


if __name__ == "__main__":
    main()
