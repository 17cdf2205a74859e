"""Hash functions: ``md5``, ``sha1`` and ``sha256`` (lower-case hex digests of the text's
UTF-8 bytes, as DuckDB gives) and ``hash`` (a UBIGINT). Arrow has no such kernels, so the
digests are written here in numpy, every row's padded message processed block by block in
lockstep (no loop over rows). ``hash`` is DuckDB's MurmurHash64 finaliser for integers,
booleans, dates and timestamps and NULL (the same values DuckDB gives); other types hash
their bytes' MD5, which is not DuckDB's value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SqlTypeError
from ..expr import Expr, Lit, cast
from ..types import is_string, sql_name
from .registry import SCALAR, Function, register
from .udf import udf

_U32 = np.uint32

# ---------------------------------------------------------------------------- padding


def _blocks(data: pa.Array, big_endian: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The messages of binary array ``data`` padded as MD5/SHA-2 pad them: all words (uint32,
    in the digest's byte order), each row's first word and its number of 64-byte blocks."""
    bufs = data.buffers()
    offs = np.frombuffer(bufs[1], dtype=np.int32)[data.offset:data.offset + len(data) + 1
                                                   ].astype(np.int64)
    buf = bufs[2]
    raw = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    length = offs[1:] - offs[:-1]
    nblocks = (length + 8) // 64 + 1
    start = np.concatenate([[0], np.cumsum(nblocks * 64)])[:-1]
    out = np.zeros(int((nblocks * 64).sum()), dtype=np.uint8)
    total = int(length.sum())
    if total:
        rows = np.repeat(np.arange(len(length)), length)
        within = np.arange(total) - np.repeat(np.cumsum(length) - length, length)
        out[start[rows] + within] = raw[offs[:-1][rows] + within]
    out[start + length] = 0x80
    bits = (length * 8).astype(">u8" if big_endian else "<u8").view(np.uint8).reshape(-1, 8)
    last = start + nblocks * 64 - 8
    out[last[:, None] + np.arange(8)] = bits
    words = out.view(">u4" if big_endian else "<u4").astype(_U32)
    return words, start // 4, nblocks


def _rotl(x: np.ndarray, n: int) -> np.ndarray:
    return (x << _U32(n)) | (x >> _U32(32 - n))


def _rotr(x: np.ndarray, n: int) -> np.ndarray:
    return (x >> _U32(n)) | (x << _U32(32 - n))


def _digest_rounds(data: pa.Array, big_endian: bool, init: list[int], compress
                   ) -> np.ndarray:
    words, first, nblocks = _blocks(data, big_endian)
    state = np.tile(np.array(init, dtype=_U32), (len(first), 1))
    for k in range(int(nblocks.max()) if len(nblocks) else 0):
        active = np.nonzero(nblocks > k)[0]
        m = words[(first[active] + 16 * k)[:, None] + np.arange(16)]
        state[active] += compress(state[active], m)
    return state


# ---------------------------------------------------------------------------- MD5

_MD5_S = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_MD5_K = [int(abs(np.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]


def _md5_rounds(state: np.ndarray, m: np.ndarray) -> np.ndarray:
    """MD5's 64 steps over one block per row: the words added to the state."""
    a, b, c, d = (state[:, i].copy() for i in range(4))
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        f = f + a + _U32(_MD5_K[i]) + m[:, g]
        a, d, c = d, c, b
        b = b + _rotl(f, _MD5_S[i])
    return np.stack([a, b, c, d], axis=1)


# ---------------------------------------------------------------------------- SHA-256

_SHA_K = np.array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2], dtype=_U32)
_SHA_INIT = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
             0x1f83d9ab, 0x5be0cd19]


def _sha256_rounds(state: np.ndarray, m: np.ndarray) -> np.ndarray:
    """SHA-256's message schedule and 64 rounds over one block per row."""
    w = [m[:, i] for i in range(16)]
    for i in range(16, 64):
        s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> _U32(3))
        s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> _U32(10))
        w.append(w[i - 16] + s0 + w[i - 7] + s1)
    a, b, c, d, e, f, g, h = (state[:, i].copy() for i in range(8))
    for i in range(64):
        t1 = h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + \
            _SHA_K[i] + w[i]
        t2 = (_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))
        h, g, f, e, d, c, b, a = g, f, e, d + t1, c, b, a, t1 + t2
    return np.stack([a, b, c, d, e, f, g, h], axis=1)


# ---------------------------------------------------------------------------- SHA-1

_SHA1_INIT = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
_SHA1_K = (0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6)


def _sha1_rounds(state: np.ndarray, m: np.ndarray) -> np.ndarray:
    """SHA-1's message schedule and 80 rounds over one block per row."""
    w = [m[:, i] for i in range(16)]
    for i in range(16, 80):
        w.append(_rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1))
    a, b, c, d, e = (state[:, i].copy() for i in range(5))
    for i in range(80):
        if i < 20:
            f = (b & c) | (~b & d)
        elif i < 40 or i >= 60:
            f = b ^ c ^ d
        else:
            f = (b & c) | (b & d) | (c & d)
        t = _rotl(a, 5) + f + e + _U32(_SHA1_K[i // 20]) + w[i]
        a, b, c, d, e = t, a, _rotl(b, 30), c, d
    return np.stack([a, b, c, d, e], axis=1)


# ---------------------------------------------------------------------------- hex output

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_digits(raw: np.ndarray) -> np.ndarray:
    """Rows of bytes (uint8, n x w) as the ASCII codes of their lower-case hex digits
    (n x 2w)."""
    n, width = raw.shape
    chars = np.empty((n, width * 2), dtype=np.uint8)
    chars[:, 0::2] = _HEX[raw >> 4]
    chars[:, 1::2] = _HEX[raw & 15]
    return chars


def _hex(digest: np.ndarray, valid: pa.Array) -> pa.Array:
    """Rows of digest bytes as lower-case hex strings."""
    n, width = digest.shape
    chars = hex_digits(digest)
    offsets = (np.arange(n + 1, dtype=np.int32) * width * 2)
    validity = None
    if valid.null_count:
        validity = pa.array(valid.is_valid().to_numpy(zero_copy_only=False)).buffers()[1]
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets.tobytes()),
                                                  pa.py_buffer(chars.tobytes())])


def _as_bytes(a: pa.Array) -> pa.Array:
    b = a.cast(pa.binary()) if not pa.types.is_binary(a.type) else a
    return pc.fill_null(b, b"")


def _md5_kernel(a: pa.Array) -> pa.Array:
    state = _digest_rounds(_as_bytes(a), False,
                           [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476], _md5_rounds)
    return _hex(state.astype("<u4").view(np.uint8).reshape(len(a), 16), a)


def _sha1_kernel(a: pa.Array) -> pa.Array:
    state = _digest_rounds(_as_bytes(a), True, _SHA1_INIT, _sha1_rounds)
    return _hex(state.astype(">u4").view(np.uint8).reshape(len(a), 20), a)


def _sha256_kernel(a: pa.Array) -> pa.Array:
    state = _digest_rounds(_as_bytes(a), True, _SHA_INIT, _sha256_rounds)
    return _hex(state.astype(">u4").view(np.uint8).reshape(len(a), 32), a)


# ---------------------------------------------------------------------------- hash

_NULL_HASH = 13787848793156543929
_M = np.uint64(0xD6E8FEB86659FD93)


def murmur64(x: np.ndarray) -> np.ndarray:
    """DuckDB's ``MurmurHash64`` finaliser on uint64 values."""
    x = x.astype(np.uint64)
    x ^= x >> np.uint64(32)
    x *= _M
    x ^= x >> np.uint64(32)
    x *= _M
    x ^= x >> np.uint64(32)
    return x


def _int_bits(a: pa.Array) -> np.ndarray:
    """Integer-like values as DuckDB hashes them: up to 32 bits as uint32, else uint64."""
    t = a.type
    if pa.types.is_boolean(t):
        a = a.cast(pa.uint8())
    elif pa.types.is_date32(t):
        a = a.cast(pa.int32())
    elif pa.types.is_timestamp(t) or pa.types.is_date64(t) or pa.types.is_time(t):
        a = a.cast(pa.int64())
    v = pc.fill_null(a, 0).to_numpy(zero_copy_only=False)
    if v.dtype.itemsize <= 4:
        return v.astype(np.int64).astype(np.uint32).astype(np.uint64) if v.dtype.kind == "i" \
            else v.astype(np.uint64)
    return v.view(np.uint64) if v.dtype.kind in "iu" else v.astype(np.int64).view(np.uint64)


def _hash_kernel(a: pa.Array) -> pa.Array:
    t = a.type
    if pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_temporal(t):
        h = murmur64(_int_bits(a))
    elif pa.types.is_floating(t):
        h = murmur64(pc.fill_null(a.cast(pa.float64()), 0).to_numpy(
            zero_copy_only=False).view(np.uint64))
    else:  # strings, blobs, decimals...: the first 8 bytes of the MD5 of their text
        text = a.cast(pa.string()) if not (is_string(t) or pa.types.is_binary(t)) else a
        state = _digest_rounds(_as_bytes(text), False,
                               [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476], _md5_rounds)
        h = murmur64(state[:, :2].astype("<u4").copy().view(np.uint64).ravel())
    null = a.is_null().to_numpy(zero_copy_only=False)
    return pa.array(np.where(null, np.uint64(_NULL_HASH), h), pa.uint64())


# ---------------------------------------------------------------------------- builders


def _text(e: Expr, what: str) -> Expr:
    if pa.types.is_null(e.type):
        return Lit(None, pa.string())
    if is_string(e.type) or pa.types.is_binary(e.type):
        return cast(e, pa.string()) if not pa.types.is_binary(e.type) else e
    raise SqlTypeError(f"{what} needs VARCHAR or BLOB, got {sql_name(e.type)}")


def _md5(args: list[Expr]) -> Expr:
    return udf("md5", _md5_kernel, [_text(args[0], "md5")], pa.string(), "md5")


def _sha1(args: list[Expr]) -> Expr:
    return udf("sha1", _sha1_kernel, [_text(args[0], "sha1")], pa.string(), "sha1")


def _sha256(args: list[Expr]) -> Expr:
    if len(args) > 1:  # sha2(x, bits)
        bits = args[1]
        if not isinstance(bits, Lit) or bits.value != 256:
            raise SqlTypeError("only sha2(x, 256) is supported")
    return udf("sha256", _sha256_kernel, [_text(args[0], "sha256")], pa.string(), "sha256")


def _hash(args: list[Expr]) -> Expr:
    e = args[0]
    if pa.types.is_null(e.type):
        return Lit(_NULL_HASH, pa.uint64())
    if pa.types.is_nested(e.type) or pa.types.is_interval(e.type):  # (no text to hash)
        raise SqlTypeError(f"hash is not defined for {sql_name(e.type)}")
    return udf("hash", _hash_kernel, [e], pa.uint64(), "hash")


register(Function("md5", SCALAR, _md5, 1, 1, doc="MD5 digest as 32 hex digits"))
register(Function("sha1", SCALAR, _sha1, 1, 1, doc="SHA-1 digest as 40 hex digits"))
register(Function("sha256", SCALAR, _sha256, 1, 2, aliases=("sha2",),
                  doc="SHA-256 digest as 64 hex digits"))
register(Function("hash", SCALAR, _hash, 1, 1,
                  doc="a UBIGINT hash (DuckDB's values for integers, dates, timestamps)"))
