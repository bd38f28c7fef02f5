"""One per-op overhead case, run N times, for counting instructions under callgrind.

Instruction counts do not drift with machine load, unlike wall-clock time. Per call:
run N=500 and N=1500 and divide the difference of the totals by 1000, e.g.
  valgrind --tool=callgrind --callgrind-out-file=/dev/null python scripts/callgrind_case.py tiny 1500
Cases: add (a + b, requires_grad), tiny ((a*b + c).sum().backward()), and torch_add /
torch_tiny (the same in PyTorch, 1 thread). 4-element float32 tensors, as benchmarks/overhead.py.
"""

import sys

import numpy as np


def make(case: str):
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
    for _ in range(50 + count):  # 50 warm-up calls, then the counted ones
        run()


if __name__ == "__main__":
    main()
