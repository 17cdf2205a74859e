"""An integer SUM that leaves its type raises instead of wrapping around.

Arrow's sum kernels (Acero's ``hash_sum`` and ``sum``, ``pc.sum``) add integers in 64 bits
and wrap on overflow: five rows of 2**62 summed to 2**62, a wrong answer given as a right
one. Each SUM of 64-bit integers is computed a second time over its values as doubles
(narrower integers are added in 64 bits, which more than 2**32 rows of one group would be
needed to leave: they are not checked, and so cost nothing more); where the two
differ by more than 2**62 the integer sum wrapped (a double's rounding over any number of
int64 values stays far below that, a wrap moves the sum by 2**64), and the query stops
with an error that says so. DuckDB widens such sums to HUGEINT instead; here the user
casts the argument (``sum(x::HUGEINT)``, ``sum(x::DOUBLE)``). The sums of unscaled
decimals the ``integer_decimals`` lowering makes are bounded by the data's statistics and
checked there (``AggCall.bounded``); the grouping by runs (``runs``) keeps its own bound
and hands a batch that could overflow to the hash aggregation, whose merge is checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..plan import AggCall, Aggregate
from ..types import sql_name

WRAPPED = float(2 ** 62)
SUFFIX = "__fsum"


def checked(node: Aggregate) -> list[AggCall]:
    """The non-DISTINCT SUMs of 64-bit integers in ``node`` (the ones whose kernel can
    wrap: a sum of INTEGER values or narrower, added in 64 bits, would need more than
    2**32 rows in one group to leave BIGINT)."""
    types = dict(node.input.output)
    return [a for a in node.aggs if a.func == "sum" and not a.distinct and a.arg is not None
            and not a.bounded and wide(types.get(a.arg, pa.null()))]


def wide(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) and t.bit_width == 64


def float_inputs(node: Aggregate) -> list[tuple[str, Any]]:
    """(name, Arrow expression) of each checked SUM's argument as doubles."""
    return [(a.arg + SUFFIX, pc.field(a.arg).cast(pa.float64(), safe=False))
            for a in checked(node)]


def float_specs(node: Aggregate, kernel: str, options: Any) -> list[tuple]:
    """The aggregate specs summing those doubles (``kernel``: "hash_sum" or "sum")."""
    return [(a.arg + SUFFIX, kernel, options, a.id + SUFFIX) for a in checked(node)]


def verify(node: Aggregate, sums: dict[str, Any], floats: dict[str, Any]) -> None:
    """Raise if any checked SUM's integer result (``sums[id]``) wrapped, going by its double
    twin (``floats[id]``)."""
    for a in checked(node):
        exact = _numbers(sums[a.id])
        approx = _numbers(floats[a.id])
        if wrapped(exact, approx):
            raise overflow(a.type)


def verify_table(node: Aggregate, t: pa.Table) -> None:
    """``verify`` over an aggregation's output holding each aggregate under its id and each
    checked SUM's double twin under its id + SUFFIX (``float_specs``' names)."""
    verify(node, {a.id: t.column(a.id) for a in checked(node)},
           {a.id: t.column(a.id + SUFFIX) for a in checked(node)})


def wrapped(exact: np.ndarray, approx: np.ndarray) -> bool:
    """Whether integer sums ``exact`` differ from their double twins by a wrap."""
    ok = ~(np.isnan(approx))
    return bool((np.abs(exact[ok].astype(np.float64) - approx[ok]) > WRAPPED).any())


def overflow(t: pa.DataType) -> ExecutionError:
    return ExecutionError(f"SUM overflowed {sql_name(t)}: the total is out of its range "
                          "(sum a wider type: sum(x::HUGEINT) or sum(x::DOUBLE))")


def _numbers(col: Any) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if isinstance(arr, pa.Scalar):
        arr = pa.array([arr.as_py()], arr.type)
    return pc.fill_null(arr.cast(pa.float64(), safe=False), float("nan")) \
        .to_numpy(zero_copy_only=False)
