"""The checkout's entry point to the benchmark suite, which lives in tinygrad_edu/bench/.

`python -m benchmarks` here and `tinygrad-edu bench` anywhere run the same suite; this
folder keeps the results (RESULTS.md, RESULTS_kernels.md) measured on the project's machines.
"""
