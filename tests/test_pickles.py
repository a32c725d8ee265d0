import builtins
import collections
import os
import pickle

import numpy as np
import pytest

from stackgan_lite.data.pickles import UnsafePickleError, load_legacy_pickle

# What Python 2 + numpy 1.x wrote for (["a", "\xe9"], np.array([0.5, -1, 3e9], "<f4")) at
# protocol 2: `U` opcodes are Python-2 byte strings, including the array's raw data.
_PY2_ARRAY = (
    b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
    b"(K\x01K\x03\x85cnumpy\ndtype\nU\x02f4K\x00K\x01\x87R"
    b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    b"\x89U\x0c" + np.array([0.5, -1, 3e9], "<f4").tobytes() + b"tb"
)
PY2_PICKLE = b"\x80\x02(]q\x00(U\x01aU\x01\xe9e" + _PY2_ARRAY + b"t."


def _write(tmp_path, obj, name="data.pickle"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def test_round_trip_of_lists_dicts_and_arrays(tmp_path):
    data = {
        "keys": ["001.Black_footed_Albatross/Black_Footed_Albatross_0046_18", "jpg/image_00001"],
        "classes": [1, 200],
        "embeddings": np.random.default_rng(0).standard_normal((3, 10, 8), dtype=np.float32),
        "ids": np.arange(5, dtype=np.int64),
        "scalar": np.int64(7),
        "nested": (1, 2.5, None, True, b"\x00\xff raw", {"a": [()]}),
    }
    loaded = load_legacy_pickle(_write(tmp_path, data))
    assert loaded.keys() == data.keys()
    for name in ("keys", "classes", "nested"):
        assert loaded[name] == data[name]
    for name in ("embeddings", "ids"):
        assert loaded[name].dtype == data[name].dtype
        np.testing.assert_array_equal(loaded[name], data[name])
    assert loaded["scalar"] == 7 and isinstance(loaded["scalar"], np.int64)


def test_reads_python2_strings_and_numpy1_arrays_as_latin1(tmp_path):
    path = tmp_path / "py2.pickle"
    path.write_bytes(PY2_PICKLE)
    keys, array = load_legacy_pickle(path)
    assert keys == ["a", "é"]
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, [0.5, -1, 3e9])


class _Exploit:
    """Unpickling this runs `func(*args)`, the classic pickle attack."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    ("func", "refused"), [(os.system, r"\.system"), (builtins.eval, r"__builtin__\.eval")]
)
def test_refuses_a_pickle_that_would_run_code(tmp_path, func, refused):
    def exploit(marker):
        command = f"touch {marker}" if func is os.system else f"open({str(marker)!r}, 'w')"
        return _write(tmp_path, ["innocent", _Exploit(func, command)], f"{marker.name}.pickle")

    # The exploit works on a plain unpickler: the marker file appears...
    with open(exploit(tmp_path / "plain"), "rb") as f:
        pickle.Unpickler(f).load()
    assert (tmp_path / "plain").exists()
    # ...and not on the restricted one, which names the file and the refused global.
    with pytest.raises(UnsafePickleError, match=rf"restricted\.pickle: refused .*{refused}"):
        load_legacy_pickle(exploit(tmp_path / "restricted"))
    assert not (tmp_path / "restricted").exists()
    assert issubclass(UnsafePickleError, pickle.UnpicklingError)


def test_refuses_harmless_globals_too_it_is_an_allowlist(tmp_path):
    path = _write(tmp_path, collections.OrderedDict(a=1))
    with pytest.raises(UnsafePickleError, match=r"collections\.OrderedDict"):
        load_legacy_pickle(path)
