"""Text read as a TIME of day ('12:11:49.5'), which Arrow's cast does not do: a vectorised
kernel over whole batches (a regular expression takes the text apart, numpy checks and
adds the parts)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..expr import Expr, call
from .udf import udf

_TIME_TEXT = (r"^\s*(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,9}))?)?"
              r"\s*$")
_US_PER_DAY = 86_400_000_000


def group_number(parts: pa.StructArray, name: str) -> np.ndarray:
    """A regular expression's captured group ``name`` as integers (0 where it took nothing)."""
    text = pc.if_else(pc.equal(parts.field(name), ""), "0", parts.field(name))
    return pc.cast(pc.fill_null(text, "0"), pa.int64()).to_numpy(zero_copy_only=False)


def _microseconds(s: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Microseconds since midnight of each text 'H:MM[:SS[.fraction]]' (before 24:00), and
    which non-NULL texts are not such a time."""
    parts = pc.extract_regex(s, _TIME_TEXT)
    h, m, sec = (group_number(parts, k) for k in ("h", "m", "s"))
    frac = pc.utf8_rpad(pc.fill_null(parts.field("f"), ""), 6, "0")
    us = pc.cast(pc.utf8_slice_codeunits(frac, 0, 6), pa.int64()).to_numpy(zero_copy_only=False)
    total = ((h * 60 + m) * 60 + sec) * 1_000_000 + us
    out_of_range = pa.array((m > 59) | (sec > 59) | (total >= _US_PER_DAY))
    bad = pc.or_(pc.and_(pc.is_valid(s), pc.invert(pc.is_valid(parts))),
                 pc.and_(pc.is_valid(parts), out_of_range))
    valid = pc.and_(pc.is_valid(parts), pc.invert(out_of_range))
    return pa.array(total, pa.int64(), mask=~valid.to_numpy(zero_copy_only=False)), bad


def time_kernel(s: pa.Array) -> pa.Array:
    """The microseconds of each time; a text that is no time is an error."""
    us, bad = _microseconds(s)
    if pc.any(bad).as_py():
        raise ExecutionError(f"could not convert string '{s.filter(bad)[0].as_py()}' to TIME")
    return us


def try_time_kernel(s: pa.Array) -> pa.Array:
    """The microseconds of each time; NULL for a text that is no time."""
    return _microseconds(s)[0]


def time_from_text(e: Expr, to: pa.DataType, lenient: bool = False) -> Expr:
    """``CAST(e AS TIME)`` for text ``e`` (``TRY_CAST`` with ``lenient``)."""
    us = udf("try_time_from_text", try_time_kernel, [e], pa.int64(), "TRY_CAST to TIME") \
        if lenient else udf("time_from_text", time_kernel, [e], pa.int64(), "CAST to TIME")
    return call("cast", [call("cast", [us], pc.CastOptions(pa.time64("us")))],
                pc.CastOptions(to, allow_time_truncate=True))
