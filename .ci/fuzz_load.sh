#!/usr/bin/env bash
# Coverage-guided fuzzing of tg.load with atheris (libFuzzer for Python), for a bounded
# time: FUZZ_SECONDS (default 45; about a minute in all). Seeds are real files: a state dict written by tg.save,
# a nested training checkpoint, numpy's savez and savez_compressed, and a torch.save-like
# zip. Every input must load as plain data or raise ValueError; any other exception, a
# crash, or more than 2 GB of memory (a decompression bomb getting through) fails the run
# and leaves the input in the printed folder. Needs `pip install atheris` (skips without).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python -c "import atheris" 2>/dev/null; then
  echo "fuzz_load: atheris is not installed (pip install atheris); skipped"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seeds" "$work/found" "$work/corpus"

PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}" python - "$work/seeds" <<'PY'
"""The seed corpus: files real users load."""
import sys, zipfile
import numpy as np
import tinygrad_edu as tg
from tinygrad_edu import nn

seeds = sys.argv[1]
tg.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
tg.save(model.state_dict(), f"{seeds}/state_dict.npz")
tg.save(
    {"model": model.state_dict(), "optimizer": {"state": {0: {"step": 3, "m": np.ones(2)}},
     "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}]},
     "epoch": 3, "note": "x", "best": None, "w": tg.Tensor([1.0], requires_grad=True)},
    f"{seeds}/checkpoint.npz",
)
np.savez(f"{seeds}/savez.npz", a=np.arange(6).reshape(2, 3), b=np.eye(2, dtype=np.float32))
np.savez_compressed(f"{seeds}/compressed.npz", z=np.zeros(1000), f=np.asfortranarray(np.eye(3)))
with zipfile.ZipFile(f"{seeds}/torch_like.pt", "w") as archive:
    archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
PY

cat > "$work/fuzz_target.py" <<'PY'
import os, sys
import atheris

# coverage of the code load runs (not of all of numpy: instrumenting that takes minutes)
with atheris.instrument_imports(include=["tinygrad_edu.serialization", "zipfile", "json"]):
    import json, zipfile
    import tinygrad_edu as tg
import numpy as np

path = os.path.join(os.environ["FUZZ_WORK"], "input.npz")


def plain(value):
    """Everything load returns is data: containers, arrays, Tensors, numbers, str, None."""
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, (np.ndarray, np.generic)):
        return not value.dtype.hasobject
    return value is None or isinstance(value, (bool, int, float, str, tg.Tensor))


def test_one_input(data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
    try:
        loaded = tg.load(path)
    except ValueError:
        return
    assert plain(loaded), repr(loaded)[:200]


atheris.Setup(sys.argv, test_one_input)
atheris.Fuzz()
PY

seconds="${FUZZ_SECONDS:-45}"
echo "fuzz_load: fuzzing tg.load for ${seconds}s (findings go to $work/found)"
status=0
FUZZ_WORK="$work" PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 \
  python "$work/fuzz_target.py" "$work/corpus" "$work/seeds" \
  -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -timeout=20 \
  -artifact_prefix="$work/found/" -print_final_stats=1 >"$work/log.txt" 2>&1 || status=$?
tail -n 15 "$work/log.txt"
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/found")" ]; then
  echo "fuzz_load: FAILED (exit $status); the inputs that failed, base64-encoded:"
  for found in "$work"/found/*; do
    [ -f "$found" ] && { echo "== $found"; base64 -w0 "$found"; echo; }
  done
  exit 1
fi
echo "fuzz_load: clean"
