"""Functions whose value is new on every row: ``random()`` (a DOUBLE from 0 up to 1) and
``gen_random_uuid()`` / ``uuid()`` (a version 4 UUID, as text).

Acero computes a call without column arguments once, as a constant, so the binder hands
these functions a column of the rows they are computed for (the *carrier*, whose values
are not read, only its length); where the statement's rows are one (no FROM, an aggregate
without GROUP BY) there is none, and the value is drawn when the statement is bound. Their
kernels' names start with ``volatile_``: ``expr.volatile`` tells the optimizer not to move
or copy them (a filter on ``random() AS r`` must see the r it returns)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..expr import Expr, Lit
from .hashing import hex_digits
from .registry import SCALAR, VOLATILE, Function, register
from .udf import udf

# where a UUID's 32 digits go in its 36 characters (dashes after 8, 12, 16 and 20)
_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def _doubles(n: int) -> np.ndarray:
    return np.random.default_rng().random(n)


def _uuids(n: int) -> pa.Array:
    """``n`` random version 4 UUIDs (RFC 9562) as text, built in numpy."""
    raw = np.frombuffer(np.random.default_rng().bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    raw = raw.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC's variant
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _DIGITS] = hex_digits(raw)
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(36), n,
                                                 [None, pa.py_buffer(text.tobytes())])
    return fixed.cast(pa.binary()).cast(pa.string())


def _random(args: list[Expr]) -> Expr:
    if not args:  # one row: drawn now
        return Lit(float(_doubles(1)[0]), pa.float64())
    return udf("volatile_random", lambda rows: pa.array(_doubles(len(rows))), args,
               pa.float64(), what="random")


def _uuid(args: list[Expr]) -> Expr:
    if not args:
        return Lit(_uuids(1)[0].as_py(), pa.string())
    return udf("volatile_uuid", lambda rows: _uuids(len(rows)), args, pa.string(),
               what="gen_random_uuid")


register(Function("random", SCALAR, _random, 0, 0, volatility=VOLATILE, rows=True,
                  doc="random(): a DOUBLE from 0 up to (not including) 1, new on every row"))
register(Function("gen_random_uuid", SCALAR, _uuid, 0, 0, aliases=("uuid",),
                  volatility=VOLATILE, rows=True,
                  doc="gen_random_uuid() / uuid(): a random version 4 UUID as text, new on "
                      "every row"))
