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


def test_tensors_come_back_as_tensors_and_numpy_scalars_as_scalars(tmp_path):
    weights = tg.Tensor(np.array([[1.5, -2.0]]), requires_grad=True)
    save({"w": weights, "step": np.int64(3)}, tmp_path / "t.npz")
    loaded = load(str(tmp_path / "t.npz"))
    assert isinstance(loaded["w"], tg.Tensor) and loaded["w"].requires_grad
    np.testing.assert_array_equal(loaded["w"].data, weights.data)
    assert type(loaded["step"]) is np.int64 and loaded["step"] == 3


def test_numpy_savez_files_load(tmp_path):
    np.savez_compressed(tmp_path / "np.npz", a=np.arange(3.0), b=np.eye(2, dtype=np.float32))
    loaded = load(tmp_path / "np.npz")
    np.testing.assert_array_equal(loaded["b"], np.eye(2))


def test_save_refuses_what_cannot_round_trip_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(ValueError, match="objects"):
        save({"ok": np.ones(2), "bad": np.array([{"x": 1}], dtype=object)}, path)
    with pytest.raises(TypeError, match=r"checkpoint\['bad'\]\[1\] is a set"):
        save({"bad": [1.0, {2}]}, path)
    with pytest.raises(TypeError, match="keys must be str or int, got float"):
        save({"model": {1.5: np.ones(1)}}, path)
    with pytest.raises(TypeError, match="keys must be str or int, got bool"):
        save({True: 1}, path)
    with pytest.raises(TypeError, match="is a object"):
        save([object()], path)
    looped = []
    looped.append(looped)
    with pytest.raises(ValueError, match="nested more than"):
        save({"loop": looped}, path)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_save_leaves_the_old_checkpoint_intact(saved):
    before = saved.read_bytes()
    with pytest.raises(TypeError, match="keys"):
        save({"fine": np.ones(2), "later": {("a", 1): np.ones(1)}}, saved)
    assert saved.read_bytes() == before
    assert list(saved.parent.iterdir()) == [saved]


@pytest.mark.parametrize("key", ["a\0b", "\0", "\ud800", "back\\slash", "", "é/ü"])
def test_keys_a_zip_cannot_name_still_round_trip(tmp_path, key):
    """A NUL cut the entry name short: the save "succeeded" and the file never loaded."""
    path = tmp_path / "keys.npz"
    save({key: np.arange(3.0), "plain": np.ones(2)}, path)
    loaded = load(path)
    assert list(loaded) == [key, "plain"]
    np.testing.assert_array_equal(loaded[key], np.arange(3.0))


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
    with pytest.raises(ValueError, match="is a Python pickle"):
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


# ---- whole checkpoints --------------------------------------------------------------------


def assert_same(got, expected, where="checkpoint"):
    """Equal values of exactly the same types, all the way down (NaN equals NaN); any
    mapping (an OrderedDict state dict) comes back as a dict in the same order."""
    expected_type = dict if isinstance(expected, dict) else type(expected)
    assert type(got) is expected_type, (where, type(got), type(expected))
    if isinstance(expected, dict):
        assert list(got) == list(expected), where
        for key in expected:
            assert_same(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for i, (a, b) in enumerate(zip(got, expected)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(expected, tg.Tensor):
        assert got.requires_grad == expected.requires_grad, where
        assert_same(got.data, expected.data, where)
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert got.dtype == expected.dtype and np.shape(got) == np.shape(expected), where
        np.testing.assert_array_equal(got, expected)
    elif isinstance(expected, float):
        assert got == expected or (got != got and expected != expected), where
        assert str(got) == str(expected), where  # -0.0 stays -0.0
    else:
        assert got == expected, where


def training_checkpoint():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(4, 3), tg.nn.BatchNorm1d(3), tg.nn.Linear(3, 2))
    rng = np.random.default_rng(1)
    return {
        "model": model.state_dict(),
        "optimizer": {
            "state": {
                0: {"momentum_buffer": rng.standard_normal((3, 4)).astype(np.float32), "step": 7},
                3: {"exp_avg": np.zeros(2), "exp_avg_sq": np.ones(2), "step": np.float32(7.0)},
            },
            "param_groups": [
                {
                    "lr": 0.1,
                    "betas": (0.9, 0.999),
                    "eps": 1e-8,
                    "weight_decay": 0.0,
                    "nesterov": False,
                    "maximize": None,
                    "params": [0, 1, 2, 3],
                }
            ],
        },
        "scheduler": {"step_size": 30, "gamma": 0.1, "last_epoch": 3, "base_lrs": [0.1]},
        "epoch": 3,
        "odd values": [float("nan"), float("inf"), -0.0, 1 / 3, 2**70, -(2**63), "", "\0 é"],
        "nested": ((), [], {}, [[[(1, None)]]]),
        "tensor": tg.Tensor(rng.standard_normal(5), requires_grad=True),
        "constant": tg.Tensor([1, 2, 3]),
        -1: "int keys keep their type",
        "1": "and str keys theirs",
    }


def test_a_whole_training_checkpoint_round_trips_exactly(tmp_path):
    checkpoint = training_checkpoint()
    save(checkpoint, tmp_path / "run.ckpt")
    assert_same(load(tmp_path / "run.ckpt"), checkpoint)


@pytest.mark.parametrize("value", [[], {}, (), 3, 2.5, None, "text", [np.ones(2), 1]])
def test_any_supported_value_round_trips_at_the_top(tmp_path, value):
    save(value, tmp_path / "v.npz")
    assert_same(load(tmp_path / "v.npz"), value)


def test_a_state_dict_stays_a_plain_npz_that_numpy_reads(tmp_path):
    save(state(), tmp_path / "flat.npz")
    with np.load(tmp_path / "flat.npz") as archive:
        assert archive.files == list(state())


HOSTILE_STRUCTURES = [
    b'{"format": "tinygrad_edu checkpoint 1", "root": {"pickle": "gASV"}}',
    b'{"format": "tinygrad_edu checkpoint 1", "root": {"__reduce__": ["os.system", ["ls"]]}}',
    b'{"format": "tinygrad_edu checkpoint 1", "root": {"array": "arrays/7"}}',
    b'{"format": "tinygrad_edu checkpoint 1", "root": {"dict": [[[1], 2]]}}',
    b'{"format": "tinygrad_edu checkpoint 1", "root": 1.5}',
    b'{"format": "something else", "root": 1}',
    b'{"format": "tinygrad_edu checkpoint 1", "root": ' + b'{"list": [' * 500 + b"]}" * 500 + b"}",
    b"[" * 100000,
    b"not json",
]


@pytest.mark.parametrize("structure", HOSTILE_STRUCTURES)
def test_structures_that_are_not_plain_data_are_refused(tmp_path, structure):
    path = tmp_path / "hostile.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("structure.json", structure)
    with pytest.raises(ValueError, match="not a valid"):
        load(path)


def test_a_pytorch_file_is_named_with_the_way_to_convert_it(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match=r"PyTorch file \(torch.save\).*v.numpy\(\)"):
        load(path)


# ---- decompression bombs --------------------------------------------------------------------


def zeros_bomb(path, mebibytes: int) -> None:
    """A deflated .npz whose one array of zeros unpacks to `mebibytes` MiB (1,000x smaller)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("w.npy", "w", force_zip64=True) as entry:
            np.lib.format.write_array(entry, np.zeros(mebibytes << 17))


def test_a_small_file_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    zeros_bomb(path, 128)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"entry 'w.npy' declares 134217856 bytes.*max_bytes"):
        load(path)
    with pytest.raises(ValueError, match="over the limit of 1000"):
        load(tmp_path / "bomb.npz", max_bytes=1000)
    loaded = load(path, max_bytes=200 << 20)  # the caller vouches for it
    assert loaded["w"].shape == (128 << 17,) and not loaded["w"].any()


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_max_bytes_must_be_a_count(saved, bad):
    with pytest.raises(ValueError, match="max_bytes"):
        load(saved, max_bytes=bad)


def test_arrays_are_read_into_their_final_memory_without_a_second_copy(tmp_path):
    import tracemalloc

    array = np.random.default_rng(0).standard_normal(4 << 20)  # 32 MiB
    save({"w": array}, tmp_path / "big.npz")
    tracemalloc.start()
    try:
        loaded = load(tmp_path / "big.npz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(loaded["w"], array)
    assert peak < 1.25 * array.nbytes, f"peak {peak / array.nbytes:.2f}x the array"
