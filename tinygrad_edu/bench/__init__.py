"""Benchmarks: tinygrad_edu against NumPy and PyTorch, measured in one interleaved run.

`tinygrad-edu bench` (or `python -m benchmarks` in a checkout) runs them all; suite.py lists the
sections. Start with timing.py (how everything is timed), then mlp_step.py.
"""
