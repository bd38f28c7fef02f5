"""Saving and loading checkpoints as .npz files that cannot run code when loaded.

A .npz is a zip of .npy arrays. Pickle files execute code on load; here arrays are
.npy entries without objects, and the nesting of a whole checkpoint (dicts, lists,
numbers, strings) is a JSON entry, which only describes data. Every size is checked
before memory is given to it, so a damaged or hostile file raises ValueError.
Read nn/ (Module.state_dict) next.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .tensor import Tensor

_SUFFIX = ".npy"
# A checkpoint that is more than a flat {name: array} dict keeps its nesting here;
# its arrays are the entries arrays/0.npy, arrays/1.npy, ...
_STRUCTURE = "structure.json"
_FORMAT = "tinygrad_edu checkpoint 1"
MAX_DEPTH = 100  # containers nested deeper (or a container holding itself) are refused
# Without max_bytes, load trusts a file to unpack to at most this much more than its
# own size: tg.save stores arrays uncompressed, numpy's savez_compressed rarely gains
# 10x on weights; a "zip bomb" declares gigabytes of zeros in a few kilobytes.
_DEFAULT_EXPANSION = 100
_DEFAULT_ALLOWANCE = 64 << 20
_CHUNK = 1 << 20  # arrays are filled from the file 1 MiB at a time
_TORCH_ADVICE = (
    "convert it once, where you trust the file: state = torch.load(path, map_location='cpu'); "
    "tg.save({k: v.numpy() for k, v in state.items()}, 'model.npz')"
)


# ---------------------------------------------------------------- save


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a checkpoint to `path`: a {name: array} state dict, or any nesting of dicts
    (str or int keys), lists, tuples, arrays, Tensors, ints, floats, bools, str and None.

    Everything is checked before anything is written (what could not be loaded back
    exactly raises TypeError or ValueError naming where it is), and the file is
    replaced in one step, so a failed save leaves the previous checkpoint intact. A
    flat dict of arrays is a plain .npz that numpy.load reads too; load gives back
    dicts as dicts (order kept), Tensors as Tensors, numpy scalars as numpy scalars.
    """
    if _is_flat_state_dict(obj):
        arrays, structure = obj, None
    else:
        arrays = {}
        structure = json.dumps(
            {"format": _FORMAT, "root": _encode(obj, arrays, "checkpoint", 0)},
            ensure_ascii=True,  # any key, lone surrogates and NUL included, survives as text
        )
    entries = {name: _as_saveable(name, value) for name, value in arrays.items()}
    path = os.fspath(path)
    temporary = path + ".partial"
    try:
        with open(temporary, "wb") as file, zipfile.ZipFile(file, "w") as archive:
            if structure is not None:
                archive.writestr(_STRUCTURE, structure)
            for name, array in entries.items():
                with archive.open(name + _SUFFIX, "w", force_zip64=True) as entry:
                    np.lib.format.write_array(entry, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _is_flat_state_dict(obj: Any) -> bool:
    """A mapping of plain names to numpy arrays: saved as entries named after its keys."""
    return (
        isinstance(obj, Mapping)
        and all(_is_entry_name(key) for key in obj)
        and all(isinstance(value, np.ndarray) for value in obj.values())
    )


def _is_entry_name(key: Any) -> bool:
    """True if `key + ".npy"` comes back from a zip as itself (no NUL, encodable, not ours)."""
    if not isinstance(key, str) or not key:
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return zipfile.ZipInfo(key + _SUFFIX).filename == key + _SUFFIX and "\\" not in key


def _encode(value: Any, arrays: dict, where: str, depth: int) -> Any:
    """`value` as JSON data; arrays go to `arrays` and are named in their place."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested more than {MAX_DEPTH} deep (does it contain itself?)")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) or isinstance(value, (np.ndarray, Tensor)):
        name = f"arrays/{len(arrays)}"
        if isinstance(value, Tensor):
            arrays[name] = value.data
            return {"tensor": name, "requires_grad": bool(value.requires_grad)}
        if isinstance(value, np.generic):
            arrays[name] = np.asarray(value)
            return {"scalar": name}
        arrays[name] = value
        return {"array": name}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return {"float": float(value).hex()}  # exact, and NaN and inf are not JSON numbers
    if isinstance(value, (list, tuple)):
        items = [_encode(item, arrays, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        return {"list" if isinstance(value, list) else "tuple": items}
    if isinstance(value, Mapping):
        pairs = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"{where}: dict keys must be str or int, got {type(key).__name__} {key!r}"
                )
            pairs.append([key, _encode(item, arrays, f"{where}[{key!r}]", depth + 1)])
        return {"dict": pairs}
    raise TypeError(
        f"{where} is a {type(value).__name__}; a checkpoint holds only dicts, lists, tuples, "
        f"arrays, Tensors, int, float, bool, str and None"
    )


def _as_saveable(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value) if isinstance(value, np.generic) else value
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"state_dict[{name!r}] must be an array or Tensor, got {type(value).__name__}"
        )
    if array.dtype.hasobject:
        raise ValueError(
            f"array {name!r} holds Python objects (dtype {array.dtype}); only numbers are saved"
        )
    return array


# ---------------------------------------------------------------- load


def load(path: str | os.PathLike, max_bytes: int | None = None) -> Any:
    """Read a file written by `save` (or numpy's savez) back into what was saved.

    Never unpickles: object arrays, malformed, truncated or foreign files (a PyTorch
    file included) raise ValueError naming the path. Before any array is allocated,
    the sizes the file declares must fit in `max_bytes` (default: 64 MiB plus 100
    times the file's size), so a small file cannot claim gigabytes.
    A missing file raises FileNotFoundError.
    """
    path = os.fspath(path)
    if max_bytes is not None and (
        not isinstance(max_bytes, (int, np.integer)) or isinstance(max_bytes, bool) or max_bytes < 0
    ):
        raise ValueError(f"max_bytes must be an integer >= 0 or None, got {max_bytes!r}")
    with open(path, "rb") as file:
        file_size = os.fstat(file.fileno()).st_size
        limit = _DEFAULT_ALLOWANCE + _DEFAULT_EXPANSION * file_size
        limit = limit if max_bytes is None else int(max_bytes)
        if file.read(1) == b"\x80":  # pickle's first opcode (PROTO): an old torch.save file too
            raise ValueError(
                f"{path} is a Python pickle (perhaps an old torch.save file), which can run code "
                f"when loaded and is never read here; {_TORCH_ADVICE}"
            )
        file.seek(0)
        try:
            return _read_archive(file, limit)
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as error:  # any parse failure is bad content
            raise ValueError(f"{path} is not a valid tinygrad_edu save file: {error}") from error


def _read_archive(file: Any, limit: int) -> Any:
    with zipfile.ZipFile(file) as archive:
        infos = archive.infolist()
        _refuse_pickles(infos)
        _check_declared_sizes(infos, limit)
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise ValueError("an entry appears twice")
        if _STRUCTURE in names:
            return _read_checkpoint(archive, infos)
        arrays = {}
        for info in infos:
            if not info.filename.endswith(_SUFFIX):
                raise ValueError(f"entry {info.filename!r} is not an .npy array")
            with archive.open(info) as entry:
                arrays[info.filename[: -len(_SUFFIX)]] = _read_array(entry, info)
        return arrays


def _refuse_pickles(infos: list) -> None:
    for info in infos:
        if info.filename.endswith(".pkl"):
            raise ValueError(
                f"entry {info.filename!r} is a Python pickle: this is a PyTorch file "
                f"(torch.save), and pickles run code when loaded, so they are never read here; "
                f"{_TORCH_ADVICE}"
            )


def _check_declared_sizes(infos: list, limit: int) -> None:
    """Refuse before allocating anything if the entries declare more than `limit` bytes."""
    total = 0
    for info in infos:
        total += info.file_size
        if total > limit:
            raise ValueError(
                f"entry {info.filename!r} declares {info.file_size} bytes, bringing the total "
                f"to {total}, over the limit of {limit} (pass max_bytes= to load a larger file)"
            )


def _read_checkpoint(archive: zipfile.ZipFile, infos: list) -> Any:
    arrays = {}
    for info in infos:
        if info.filename == _STRUCTURE:
            continue
        name = info.filename[: -len(_SUFFIX)]
        if not (info.filename.endswith(_SUFFIX) and name.startswith("arrays/")):
            raise ValueError(f"entry {info.filename!r} is not an array of this checkpoint")
        with archive.open(info) as entry:
            arrays[name] = _read_array(entry, info)
    document = json.loads(archive.read(_STRUCTURE).decode("ascii"))
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise ValueError(f"{_STRUCTURE} is not a {_FORMAT!r} description")
    return _decode(document.get("root"), arrays, 0)


def _decode(node: Any, arrays: dict, depth: int) -> Any:
    """The value a JSON node describes; only the node kinds `_encode` writes are accepted."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{_STRUCTURE} is nested more than {MAX_DEPTH} deep")
    if node is None or isinstance(node, (bool, int, str)):
        return node
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise ValueError(f"unexpected node {str(node)[:80]!r} in {_STRUCTURE}")
    kind, content = next(iter(node.items()))
    if kind == "float" and isinstance(content, str):
        return float.fromhex(content)
    if kind in ("list", "tuple") and isinstance(content, list):
        items = [_decode(item, arrays, depth + 1) for item in content]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and isinstance(content, list):
        result = {}
        for pair in content:
            if not (isinstance(pair, list) and len(pair) == 2) or isinstance(pair[0], bool):
                raise ValueError(f"bad dict item {str(pair)[:80]!r} in {_STRUCTURE}")
            if not isinstance(pair[0], (str, int)):
                raise ValueError(f"bad dict key {pair[0]!r} in {_STRUCTURE}")
            result[pair[0]] = _decode(pair[1], arrays, depth + 1)
        return result
    if kind in ("array", "scalar", "tensor") and content in arrays:
        array = arrays[content]
        if kind == "scalar":
            return array[()]
        if kind == "tensor":
            return Tensor(array, requires_grad=node.get("requires_grad") is True)
        return array
    raise ValueError(f"unexpected node {str(node)[:80]!r} in {_STRUCTURE}")


def _read_array(entry: Any, info: zipfile.ZipInfo) -> np.ndarray:
    """One .npy entry: parse the header, refuse objects, check the size, then fill the array."""
    version = np.lib.format.read_magic(entry)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(entry)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(entry)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        raise ValueError("the file holds Python objects (pickled data), which are never loaded")
    if any(size < 0 for size in shape):
        raise ValueError(f"entry {info.filename!r}: negative size in shape {shape}")
    n_bytes = math.prod(shape) * dtype.itemsize
    header_size = entry.tell()
    if header_size + n_bytes != info.file_size:
        raise ValueError(
            f"entry {info.filename!r}: an array of shape {shape} and dtype {dtype} needs "
            f"{n_bytes} bytes, the entry holds {info.file_size - header_size}"
        )
    order = "F" if fortran_order else "C"
    if n_bytes == 0:
        return np.empty(shape, dtype=dtype, order=order)
    raw = np.empty(n_bytes, dtype=np.uint8)  # preallocated: no second copy of the data
    filled = 0
    while filled < n_bytes:
        chunk = entry.read(min(_CHUNK, n_bytes - filled))
        if not chunk:
            raise ValueError(f"entry {info.filename!r}: truncated array data")
        raw[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        filled += len(chunk)
    return raw.view(dtype).reshape(shape, order=order)
