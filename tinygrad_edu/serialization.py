"""Saving and loading state dicts as .npz files that cannot run code when loaded.

A .npz is a zip of .npy arrays. Pickle files execute code on load; here no entry may
hold Python objects, and every size is checked before it is trusted, so a damaged or
hostile file raises ValueError. Read nn/ (Module.state_dict) next.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .tensor import Tensor

_SUFFIX = ".npy"


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write name -> array (or Tensor) pairs to `path` as an .npz, keeping order and dtypes.

    Values that are not plain arrays of numbers (object arrays, other types) raise
    before anything is written; the file is replaced in one step, so a failed save
    never leaves a half-written checkpoint behind.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"state_dict must be a mapping of name -> array, got {type(state_dict).__name__}"
        )
    arrays = {_checked_key(key): _as_saveable(key, value) for key, value in state_dict.items()}
    path = os.fspath(path)
    temporary = path + ".partial"
    try:
        with open(temporary, "wb") as file, zipfile.ZipFile(file, "w") as archive:
            for key, array in arrays.items():
                with archive.open(key + _SUFFIX, "w", force_zip64=True) as entry:
                    np.lib.format.write_array(entry, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a file written by `save` (or numpy's savez) into an ordered dict of arrays.

    Never unpickles: object arrays, malformed, truncated or foreign files raise
    ValueError naming the path. A missing file raises FileNotFoundError.
    """
    with open(path, "rb") as file:
        content = file.read()
    try:
        return _read_archive(content)
    except Exception as error:  # the bytes are in memory: any parse failure is bad content
        raise ValueError(
            f"{os.fspath(path)} is not a valid tinygrad_edu save file: {error}"
        ) from error


def _read_archive(content: bytes) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(_SUFFIX):
                raise ValueError(f"entry {info.filename!r} is not an .npy array")
            key = info.filename[: -len(_SUFFIX)]
            if key in arrays:
                raise ValueError(f"entry {info.filename!r} appears twice")
            with archive.open(info) as entry:
                arrays[key] = _read_array(entry, info.file_size)
    return arrays


def _read_array(entry: Any, entry_size: int) -> np.ndarray:
    """One .npy entry: parse the header, refuse objects, check the size, then read the bytes."""
    version = np.lib.format.read_magic(entry)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(entry)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(entry)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        raise ValueError("the file holds Python objects (pickled data), which are never loaded")
    n_bytes = math.prod(shape) * dtype.itemsize
    header_size = entry.tell()
    if header_size + n_bytes != entry_size:
        raise ValueError(
            f"an array of shape {shape} and dtype {dtype} needs {n_bytes} bytes, "
            f"the entry holds {entry_size - header_size}"
        )
    data = entry.read(n_bytes)
    if len(data) != n_bytes:
        raise ValueError(f"truncated array data: expected {n_bytes} bytes, got {len(data)}")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return array.copy(order="K")  # own, writable memory instead of a view of the file


def _checked_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise TypeError(f"state_dict keys must be non-empty str, got {key!r}")
    return key


def _as_saveable(key: str, value: Any) -> np.ndarray:
    array = value.data if isinstance(value, Tensor) else value
    if isinstance(array, np.generic):
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"state_dict[{key!r}] must be an array or Tensor, got {type(value).__name__}"
        )
    if array.dtype.hasobject:
        raise ValueError(
            f"state_dict[{key!r}] holds Python objects (dtype {array.dtype}); only numbers are saved"
        )
    return array
