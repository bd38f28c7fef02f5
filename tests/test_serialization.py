"""save/load: exact round trips, and damaged or hostile files rejected without running code."""

import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.serialization import load, save


def state():
    rng = np.random.default_rng(0)
    return {
        "0.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "0.bias": rng.standard_normal(4),  # float64
        "1.num_batches_tracked": np.array(7, dtype=np.int64),
        "z_first_in_order_not_alphabet": np.arange(6, dtype=">i4").reshape(2, 3),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2))),
        "empty": np.zeros((0, 5), dtype=np.float32),
        "flags": np.array([True, False]),
        "file": np.ones(1),  # names that clash with np.savez's own arguments are fine
    }


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    save(state(), path)
    return path


def test_round_trip_is_exact(saved):
    original, loaded = state(), load(saved)
    assert list(loaded) == list(original)
    for key, array in original.items():
        assert loaded[key].dtype == array.dtype, key
        assert loaded[key].shape == array.shape, key
        np.testing.assert_array_equal(loaded[key], array)
        assert loaded[key].flags.writeable


def test_tensors_are_saved_as_arrays(tmp_path):
    weights = tg.Tensor(np.array([[1.5, -2.0]]), requires_grad=True)
    save({"w": weights, "step": np.int64(3)}, tmp_path / "t.npz")
    loaded = load(str(tmp_path / "t.npz"))
    np.testing.assert_array_equal(loaded["w"], weights.data)
    assert loaded["step"] == 3 and loaded["step"].dtype == np.int64


def test_numpy_savez_files_load(tmp_path):
    np.savez_compressed(tmp_path / "np.npz", a=np.arange(3.0), b=np.eye(2, dtype=np.float32))
    loaded = load(tmp_path / "np.npz")
    np.testing.assert_array_equal(loaded["b"], np.eye(2))


def test_save_refuses_bad_values_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(ValueError, match="objects"):
        save({"ok": np.ones(2), "bad": np.array([{"x": 1}], dtype=object)}, path)
    with pytest.raises(TypeError, match="'bad'"):
        save({"bad": [1.0, 2.0]}, path)
    with pytest.raises(TypeError, match="keys"):
        save({3: np.ones(1)}, path)
    with pytest.raises(TypeError, match="mapping"):
        save([np.ones(1)], path)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_old_file(saved, monkeypatch):
    before = saved.read_bytes()

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", broken_write)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.ones(3)}, saved)
    assert saved.read_bytes() == before
    assert list(saved.parent.iterdir()) == [saved]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_pickled_content_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pickle ran",))

    plain_pickle = tmp_path / "plain.pkl"
    plain_pickle.write_bytes(pickle.dumps({"w": Exploit()}))
    with pytest.raises(ValueError, match="not a valid"):
        load(plain_pickle)
    object_array = tmp_path / "objects.npz"
    np.savez(object_array, w=np.array([Exploit()], dtype=object))
    with pytest.raises(ValueError, match="Python objects"):
        load(object_array)


def test_foreign_and_single_array_files_are_refused(tmp_path):
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="not a valid"):
        load(single)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="readme.txt"):
        load(tmp_path / "other.zip")


def test_header_that_lies_about_the_size_is_refused(tmp_path):
    # A well-formed zip (right CRC) whose .npy header claims 81 float64s for 4 stored.
    path = tmp_path / "lie.npz"
    save({"w": np.ones((2, 2))}, path)
    with zipfile.ZipFile(path) as archive:
        entry = archive.read("w.npy").replace(b"(2, 2)", b"(9, 9)")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", entry)
    with pytest.raises(ValueError, match="needs 648 bytes"):
        load(path)


@pytest.mark.parametrize("keep", [0, 1, 10, 30, 100, 200, -30, -1])
def test_truncated_files_are_refused(saved, keep):
    content = saved.read_bytes()
    saved.write_bytes(content[:keep])
    with pytest.raises(ValueError, match="not a valid"):
        load(saved)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.data())
def test_fuzzed_files_load_exactly_or_raise_value_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.npz"
    save({"w": np.arange(6.0).reshape(2, 3), "b": np.ones(2, np.float32)}, path)
    content = bytearray(path.read_bytes())
    choice = data.draw(st.sampled_from(["flip", "truncate", "random"]))
    if choice == "flip":
        for position in data.draw(
            st.lists(st.integers(0, len(content) - 1), min_size=1, max_size=8)
        ):
            content[position] = data.draw(st.integers(0, 255))
    elif choice == "truncate":
        content = content[: data.draw(st.integers(0, len(content) - 1))]
    else:
        content = bytearray(data.draw(st.binary(max_size=600)))
    path.write_bytes(bytes(content))
    try:
        loaded = load(path)
    except ValueError:
        return
    # A change the format cannot detect (e.g. inside array data) still gives plain arrays.
    assert all(
        isinstance(array, np.ndarray) and not array.dtype.hasobject for array in loaded.values()
    )
