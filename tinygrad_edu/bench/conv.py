"""The convolution benchmark: a conv layer's forward+backward and a CNN training step.

1. conv2d forward + backward (input, weight and bias gradients) at LeNet's two layer
   shapes: tinygrad_edu against a hand-written NumPy im2col implementation (below,
   written to be read) and PyTorch.
2. A LeNet-like CNN's whole training step (forward, cross-entropy, backward, SGD) at
   batch 32 and 128: tinygrad_edu against PyTorch, from the same weights and batch.
All on one thread, interleaved in one run, medians; ratios are tinygrad_edu's time over
the other's (< 1: tinygrad_edu is faster). Run: python -m tinygrad_edu.bench.conv [--quick] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import platform
import sys

import numpy as np

from .timing import time_interleaved

# (name, batch, in_channels, size, out_channels, kernel, padding): LeNet-5's two convolutions
CONV_SHAPES = [
    ("conv1 1->6 5x5 on 28x28", 32, 1, 28, 6, 5, 2),
    ("conv2 6->16 5x5 on 14x14", 32, 6, 14, 16, 5, 0),
    ("conv2 6->16 5x5 on 14x14", 128, 6, 14, 16, 5, 0),
]
CNN_BATCHES = (32, 128)
LEARNING_RATE = 0.01
TARGETS = {"conv vs numpy": 1.0, "cnn step vs torch": 1.0}  # issue 16 (stretch: 0.8)


# ---------------------------------------------------------------- NumPy, by hand


def numpy_im2col(x: np.ndarray, kernel: int, padding: int) -> np.ndarray:
    """cols[(c, i, j), (n, oh, ow)] = x_padded[n, c, oh + i, ow + j]   (stride 1).

    One slice copy per kernel position (i, j): KH·KW vectorised copies instead of a
    Python loop over every output position.
    """
    batch, channels, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h, out_w = height + 2 * padding - kernel + 1, width + 2 * padding - kernel + 1
    cols = np.empty((channels, kernel, kernel, batch, out_h, out_w), x.dtype)
    for i in range(kernel):
        for j in range(kernel):
            # every output position's (i, j) neighbour, for all images and channels at once
            cols[:, i, j] = padded[:, :, i : i + out_h, j : j + out_w].transpose(1, 0, 2, 3)
    return cols.reshape(channels * kernel * kernel, batch * out_h * out_w)


def numpy_col2im(cols: np.ndarray, x_shape: tuple, kernel: int, padding: int) -> np.ndarray:
    """im2col's transpose: each column entry added back to the pixel it was copied from."""
    batch, channels, height, width = x_shape
    out_h, out_w = height + 2 * padding - kernel + 1, width + 2 * padding - kernel + 1
    cols = cols.reshape(channels, kernel, kernel, batch, out_h, out_w)
    padded = np.zeros((batch, channels, height + 2 * padding, width + 2 * padding), cols.dtype)
    for i in range(kernel):
        for j in range(kernel):
            padded[:, :, i : i + out_h, j : j + out_w] += cols[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, padding : padding + height, padding : padding + width]


def numpy_conv2d_forward_backward(x, weight, bias, grad_out, padding):
    """out = W₂ @ im2col(x) + b; then grad_W = grad₂ @ colsᵀ, grad_b = Σ grad,
    grad_x = col2im(W₂ᵀ @ grad₂), with W₂ = W as (OC, C·KH·KW) and grad₂ = grad as (OC, N·L)."""
    out_channels, _, kernel, _ = weight.shape
    batch = x.shape[0]
    cols = numpy_im2col(x, kernel, padding)
    weight_2d = weight.reshape(out_channels, -1)
    out_2d = weight_2d @ cols + bias[:, None]
    out = out_2d.reshape(out_channels, batch, *grad_out.shape[2:]).transpose(1, 0, 2, 3)
    grad_2d = grad_out.transpose(1, 0, 2, 3).reshape(out_channels, -1)
    grad_weight = (grad_2d @ cols.T).reshape(weight.shape)
    grad_bias = grad_2d.sum(axis=1)
    grad_x = numpy_col2im(weight_2d.T @ grad_2d, x.shape, kernel, padding)
    return out, grad_x, grad_weight, grad_bias


# ---------------------------------------------------------------- conv layer variants


def conv_problem(batch, channels, size, out_channels, kernel, padding, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    bound = 1 / np.sqrt(channels * kernel * kernel)
    weight = rng.uniform(-bound, bound, (out_channels, channels, kernel, kernel))
    bias = rng.uniform(-bound, bound, out_channels)
    out_size = size + 2 * padding - kernel + 1
    grad_out = rng.standard_normal((batch, out_channels, out_size, out_size))
    return x, weight.astype(np.float32), bias.astype(np.float32), grad_out.astype(np.float32)


def conv_variants(x, weight, bias, grad_out, padding) -> dict:
    """name -> a function running one forward + backward, returning the three gradients."""
    import tinygrad_edu as tg
    import tinygrad_edu.nn.functional as F

    def ours():
        inputs = [tg.Tensor(a, requires_grad=True) for a in (x, weight, bias)]
        F.conv2d(*inputs, padding=padding).backward(grad_out)
        return [t.grad.numpy() for t in inputs]

    variants = {
        "tinygrad_edu": ours,
        "numpy": lambda: numpy_conv2d_forward_backward(x, weight, bias, grad_out, padding)[1:],
    }
    if importlib.util.find_spec("torch"):
        import torch

        grad_torch = torch.from_numpy(grad_out)

        def theirs():
            inputs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
            torch.nn.functional.conv2d(*inputs, padding=padding).backward(grad_torch)
            return [t.grad.numpy() for t in inputs]

        variants["torch"] = theirs
    return variants


# ---------------------------------------------------------------- CNN training step


def lenet(nn):
    """LeNet-5 (ReLU, max pooling) from a library's nn module (tinygrad_edu's and torch's agree)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def cnn_variants(batch: int, seed: int = 0) -> dict:
    """name -> one SGD training step of LeNet on the same weights and batch, returning the loss."""
    import tinygrad_edu as tg
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu import nn, optim

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    target = rng.integers(0, 10, batch).astype(np.int64)
    tg.manual_seed(seed)
    model = lenet(nn)
    state = model.state_dict()

    def step_of(model, optimizer, cross_entropy, x, target):
        def step():
            optimizer.zero_grad()
            loss = cross_entropy(model(x), target)
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    variants = {
        "tinygrad_edu": step_of(model, optim.SGD(model.parameters(), lr=LEARNING_RATE),
                                F.cross_entropy, tg.Tensor(x), tg.Tensor(target)),  # fmt: skip
    }
    if importlib.util.find_spec("torch"):
        import torch

        theirs = lenet(torch.nn)
        theirs.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()})
        variants["torch"] = step_of(theirs, torch.optim.SGD(theirs.parameters(), lr=LEARNING_RATE),
                                    torch.nn.functional.cross_entropy, torch.from_numpy(x),
                                    torch.from_numpy(target))  # fmt: skip
    return variants


# ---------------------------------------------------------------- running


@contextlib.contextmanager
def one_thread():
    """tinygrad_edu, PyTorch and NumPy's BLAS each on one thread, restored afterwards."""
    import tinygrad_edu as tg

    threads = tg.get_num_threads()
    tg.set_num_threads(1)
    limits = contextlib.nullcontext()
    if importlib.util.find_spec("threadpoolctl"):
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(1)
    torch_threads = None
    if importlib.util.find_spec("torch"):
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        with limits:
            yield
    finally:
        tg.set_num_threads(threads)
        if torch_threads is not None:
            import torch

            torch.set_num_threads(torch_threads)


def run(quick: bool = False) -> dict:
    repeats, sample = (3, 0.005) if quick else (15, 0.05)
    rows = []
    with one_thread():
        for name, batch, channels, size, out_channels, kernel, padding in CONV_SHAPES:
            problem = conv_problem(batch, channels, size, out_channels, kernel, padding)
            timings = time_interleaved(conv_variants(*problem, padding), repeats, sample)
            rows.append(_row("conv2d fwd+bwd", f"{name}, batch {batch}", timings))
        for batch in CNN_BATCHES:
            timings = time_interleaved(cnn_variants(batch), repeats, sample)
            rows.append(_row("LeNet SGD step", f"batch {batch}", timings))
    return {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "kernel": _gemm_kernel(), "threads": 1, "quick": quick, "rows": rows}  # fmt: skip


def _gemm_kernel() -> str:
    from tinygrad_edu import kernels

    return kernels.get_kernel()


def _row(what: str, case: str, timings: dict) -> dict:
    ours = timings["tinygrad_edu"].median
    row = {"benchmark": what, "case": case, "us": {k: t.median * 1e6 for k, t in timings.items()}}
    row["ratio"] = {k: ours / t.median for k, t in timings.items() if k != "tinygrad_edu"}
    # CPU-time ratios: on one thread, steadier than wall time when other processes compete
    ours_cpu = timings["tinygrad_edu"].cpu_median
    row["cpu_ratio"] = {
        k: ours_cpu / t.cpu_median for k, t in timings.items() if k != "tinygrad_edu"
    }
    return row


def format_table(results: dict) -> str:
    lines = [
        f"1 thread, GEMM kernel {results['kernel']}; medians of interleaved samples; "
        "ratio = tinygrad_edu time / other time (< 1: tinygrad_edu faster)",
        "",
        "| benchmark | case | tinygrad_edu | numpy | torch | vs numpy | vs torch "
        "| vs numpy (CPU time) | vs torch (CPU time) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        us, ratio, cpu = row["us"], row["ratio"], row["cpu_ratio"]
        cell = lambda d, k, f: f.format(d[k]) if k in d else "-"  # noqa: E731
        lines.append(
            f"| {row['benchmark']} | {row['case']} | {us['tinygrad_edu']:.0f} us | "
            f"{cell(us, 'numpy', '{:.0f} us')} | {cell(us, 'torch', '{:.0f} us')} | "
            f"{cell(ratio, 'numpy', '{:.2f}x')} | {cell(ratio, 'torch', '{:.2f}x')} | "
            f"{cell(cpu, 'numpy', '{:.2f}x')} | {cell(cpu, 'torch', '{:.2f}x')} |"
        )
    lines.append("")
    lines.append(f"targets (issue 16): conv fwd+bwd <= {TARGETS['conv vs numpy']}x NumPy; "
                 f"CNN step <= {TARGETS['cnn step vs torch']}x PyTorch (stretch 0.8x)")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu.bench.conv", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args(argv)
    results = run(arguments.quick)
    print(json.dumps(results) if arguments.json else format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
