#!/usr/bin/env bash
# Build tests/c/test_kernels.c with the C core (csrc/*.c), no Python involved.
#
#   tests/c/build.sh OUTPUT [openmp|serial]
#
# CC (default cc) picks the compiler, e.g. CC=aarch64-linux-gnu-gcc to cross-compile;
# CFLAGS and LDFLAGS are added (e.g. LDFLAGS=-static for qemu-user).
# The compile flags are setup.py's: -O3, C99, no -march (SIMD is chosen at run time).
set -euo pipefail
cd "$(dirname "$0")/../.."

output="${1:?usage: tests/c/build.sh OUTPUT [openmp|serial]}"
mode="${2:-openmp}"
cc="${CC:-cc}"

flags=(-O3 -std=c99 -fno-strict-aliasing -Wall -Wno-unused-function -Icsrc)
case "$mode" in
  openmp) flags+=(-fopenmp -DTG_HAVE_OPENMP=1) ;;
  serial) ;;
  *) echo "build.sh: mode must be openmp or serial, got '$mode'" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086  # CFLAGS/LDFLAGS are word lists on purpose
$cc "${flags[@]}" ${CFLAGS:-} tests/c/test_kernels.c csrc/*.c -o "$output" ${LDFLAGS:-} -lm
