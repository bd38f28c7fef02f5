#!/usr/bin/env bash
# The C core's own test program (tests/c/test_kernels.c), built natively with gcc
# and run without Python: with OpenMP, without it, with AddressSanitizer + UBSan,
# and with TINYGRAD_EDU_KERNEL=generic (which must force the portable path).
# Each GEMM check runs on every microkernel this CPU supports. About 1 minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

export CC="${CC:-gcc}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "native C tests: building with $CC (OpenMP, serial, sanitized)"
tests/c/build.sh "$work/test_openmp" openmp
tests/c/build.sh "$work/test_serial" serial
CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g" \
  tests/c/build.sh "$work/test_sanitized" openmp

echo "== OpenMP build, all shapes"
OMP_NUM_THREADS=2 "$work/test_openmp"
echo "== serial build, all shapes"
"$work/test_serial"
echo "== AddressSanitizer + UBSan build, quick shapes"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  OMP_NUM_THREADS=2 "$work/test_sanitized" --quick
echo "== TINYGRAD_EDU_KERNEL=generic selects the portable kernel"
TINYGRAD_EDU_KERNEL=generic "$work/test_serial" --quick --expect-kernel=generic
echo "native C tests: ok"
