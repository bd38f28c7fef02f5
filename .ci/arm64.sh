#!/usr/bin/env bash
# The C core on ARM64 without ARM hardware: cross-compile csrc/*.c and
# tests/c/test_kernels.c for aarch64 (Debian's gcc-aarch64-linux-gnu) and run the
# program under qemu-user (Debian's qemu-user-static). It must select the NEON
# kernel by default, find no mismatch on the NEON and portable paths, and select
# the portable one under TINYGRAD_EDU_KERNEL=generic. Correctness only: ARM speed
# is not measured here (qemu translates every instruction).
#
#   .ci/arm64.sh          quick shapes (tile edges and every cache block crossed), ~1 minute
#   .ci/arm64.sh --full   every shape of the native run (several minutes under qemu)
set -euo pipefail
cd "$(dirname "$0")/.."

shapes=--quick
case "${1:-}" in
  "") ;;
  --full) shapes= ;;
  *) echo "usage: .ci/arm64.sh [--full]" >&2; exit 2 ;;
esac

# the cross compiler and the emulator, from Debian, if missing
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "arm64: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CC=aarch64-linux-gnu-gcc
sysroot=/usr/aarch64-linux-gnu # the aarch64 libraries, for the dynamically linked build

echo "arm64: cross-compiling with $($CC --version | head -1)"
# static: qemu-user then needs no aarch64 libraries at run time
# (the linker's warning about dlopen in a static libgomp concerns OpenACC, unused here)
LDFLAGS=-static tests/c/build.sh "$work/test_openmp" openmp
LDFLAGS=-static tests/c/build.sh "$work/test_serial" serial
# the sanitizers need a dynamic executable; LeakSanitizer does not run under qemu
CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g" \
  tests/c/build.sh "$work/test_sanitized" serial

run() { qemu-aarch64-static -L "$sysroot" "$@"; }

echo "== aarch64, OpenMP build under qemu"
# shellcheck disable=SC2086  # $shapes is empty or one option
OMP_NUM_THREADS=2 run "$work/test_openmp" $shapes --expect-kernel=neon | tee "$work/openmp.log"
if ! grep -qx "selected kernel: neon" "$work/openmp.log"; then
  echo "arm64: the NEON kernel was not selected" >&2
  exit 1
fi
echo "== aarch64, serial build under qemu"
# shellcheck disable=SC2086
run "$work/test_serial" $shapes --expect-kernel=neon
echo "== aarch64, AddressSanitizer + UBSan build under qemu"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run "$work/test_sanitized" --quick --expect-kernel=neon
echo "== aarch64, TINYGRAD_EDU_KERNEL=generic selects the portable kernel"
TINYGRAD_EDU_KERNEL=generic run "$work/test_serial" --quick --expect-kernel=generic
echo "arm64: ok"
