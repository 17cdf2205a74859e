"""``engine.minmax.min_max``: the numpy routes for fixed-width strings and small decimals
must give exactly what ``pc.min_max`` gives (values, and for decimals the same digits and
exponent, since statistics are stored as text), and leave every other array to the kernel."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine import minmax
from engine.minmax import NUMPY_FROM, min_max

N = NUMPY_FROM + 100
rng = np.random.default_rng(7)


def _kernel(arr: pa.Array) -> tuple:
    mm = pc.min_max(arr)
    return mm["min"].as_py(), mm["max"].as_py()


def _same(arr: pa.Array) -> None:
    got, want = min_max(arr), _kernel(arr)
    assert got == want
    assert [type(v) for v in got] == [type(v) for v in want]
    assert [str(v) for v in got] == [str(v) for v in want]  # the stored text, exponent too


def _words(alphabet: list[str], n: int = N) -> list[str]:
    return [alphabet[i] for i in rng.integers(0, len(alphabet), n)]


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("alphabet", [["N", "A", "R"], ["AIR", "FOB", "zzz", "éa", "\x00ab"],
                                      ["abcdefgh", "abcdefgi", "ABCDEFGH", "ÿÿÿÿ"]])
def test_fixed_width_strings_agree_with_the_kernel(typ, alphabet):
    arr = pa.array(_words(alphabet), typ)
    assert minmax._fixed_width(arr) is not None  # the numpy route is the one taken
    _same(arr)
    _same(arr.slice(37, N - 100))  # an offset into the buffers


@pytest.mark.parametrize("typ", [pa.binary(), pa.large_binary()])
def test_fixed_width_binary_agrees_with_the_kernel(typ):
    arr = pa.array([bytes(r) for r in rng.integers(0, 256, (N, 5), dtype=np.uint8)], typ)
    assert minmax._fixed_width(arr) is not None
    _same(arr)


@pytest.mark.parametrize("values", [
    _words(["AIR", "TRUCK", "MAIL"]),  # mixed lengths
    _words(["123456789", "abcdefghi"]),  # one length, longer than 8
    _words(["a", "b"]) + [None],  # a NULL
    ["x" * (i % 3) for i in range(N)],  # empty strings
])
def test_other_strings_go_to_the_kernel(values):
    arr = pa.array(values, pa.string())
    _same(arr)


@pytest.mark.parametrize("typ", [pa.decimal128(15, 2), pa.decimal128(18, 0),
                                 pa.decimal128(18, 18), pa.decimal128(7, 3)])
def test_small_decimals_agree_with_the_kernel(typ):
    limit = 10 ** typ.precision - 1
    raw = rng.integers(-limit, limit, N, dtype=np.int64, endpoint=True)
    raw[:2] = [limit, -limit]
    vals = [decimal.Decimal(int(v)).scaleb(-typ.scale) for v in raw]
    arr = pa.array(vals, typ)
    assert minmax._small_decimal(arr) is not None
    _same(arr)
    _same(arr.slice(11, 5000))
    _same(pa.array([decimal.Decimal(0)] * N, typ))  # zero keeps its exponent


@pytest.mark.parametrize("typ", [pa.decimal128(38, 2), pa.decimal128(5, -2)])
def test_other_decimals_go_to_the_kernel(typ):
    arr = pa.array([decimal.Decimal(int(v)).scaleb(max(0, -typ.scale))
                    for v in rng.integers(-999, 999, N)], typ)
    assert minmax._small_decimal(arr) is None
    _same(arr)


def test_short_arrays_and_chunked_arrays_go_to_the_kernel():
    _same(pa.array(["b", "a", "c"]))
    chunked = pa.chunked_array([pa.array(_words(["N", "A"])), pa.array(["R"] * 10)])
    mm = pc.min_max(chunked)
    assert min_max(chunked) == (mm["min"].as_py(), mm["max"].as_py())
