#!/usr/bin/env bash
# Build the C core with AddressSanitizer + UndefinedBehaviorSanitizer in a temporary
# copy of the source tree and run the kernel tests (on both kernel paths) and the op,
# hostile-input, thread, reliability, convolution and pooling tests (on the default path)
# against that build.
# The reliability tests start child interpreters (a thread racing the cross-entropy
# target, a forked child, absurd thread counts); they inherit LD_PRELOAD and PYTHONPATH,
# so those children run the instrumented build too.
#
# Python itself is not instrumented, so the ASan runtime is preloaded
# (LD_PRELOAD) and leak detection is off (the interpreter keeps memory alive on
# purpose at exit); UBSan is built with -fno-sanitize-recover, so any finding
# aborts the process and fails the run. Takes about 1-3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the sources only: no build outputs from the normal build
mkdir -p "$work/tests"
cp -r csrc setup.py pyproject.toml "$work/"
cp -r tinygrad_edu "$work/"
find "$work/tinygrad_edu" \( -name '*.so' -o -name '_kernels.c' -o -name '__pycache__' \) -prune -exec rm -rf {} +
cp tests/test_kernels*.py tests/test_ops.py tests/test_hostile_ops.py tests/test_threads.py \
  tests/test_reliability.py tests/test_conv.py tests/test_pool.py "$work/tests/"
[ -f tests/conftest.py ] && cp tests/conftest.py "$work/tests/"
[ -f README.md ] && cp README.md "$work/"

echo "sanitize: building the instrumented extension in $work"
(cd "$work" && TINYGRAD_EDU_SANITIZE=1 python setup.py build_ext --inplace -q >build.log 2>&1) \
  || { cat "$work/build.log"; exit 1; }

compiler="${CC:-$(python -c 'import sysconfig; print(sysconfig.get_config_var("CC").split()[0])')}"
asan_runtime="$("$compiler" -print-file-name=libasan.so)"
if [ ! -f "$asan_runtime" ]; then
  echo "sanitize: no ASan runtime found for $compiler ($asan_runtime)" >&2
  exit 1
fi

export LD_PRELOAD="$asan_runtime"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONPATH="$work"
export OMP_NUM_THREADS=2

cd "$work"
# make sure the instrumented copy is the one imported, not the developer's build
python - <<'PY'
import tinygrad_edu._kernels as k, os
assert os.path.dirname(k.__file__).startswith(os.environ["PYTHONPATH"]), k.__file__
print("sanitize: testing", k.__file__)
PY
for kernel in "" generic; do
  echo "sanitize: kernel tests (TINYGRAD_EDU_KERNEL=${kernel:-default})"
  TINYGRAD_EDU_KERNEL="$kernel" python -m pytest -q -p no:cacheprovider tests/test_kernels*.py
done
echo "sanitize: op, hostile-input, thread and reliability tests through the public API"
python -m pytest -q -p no:cacheprovider tests/test_ops.py tests/test_hostile_ops.py tests/test_threads.py \
  tests/test_reliability.py
# convolution and pooling: the kernels (im2col, col2im, the fused conv, pools), their hostile
# input, the ops' gradchecks; not the PyTorch comparisons nor the demo (slow, no C of ours)
echo "sanitize: convolution and pooling tests"
python -m pytest -q -p no:cacheprovider tests/test_conv.py tests/test_pool.py \
  -k "not torch and not pytorch and not demo and not gradgradcheck and not benchmarks"
echo "sanitize: clean (source: $repo)"
