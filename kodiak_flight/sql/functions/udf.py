"""Kernels Arrow lacks (list_value, list_contains, md5...), written as vectorised numpy /
pyarrow code and registered with Arrow's function registry, so a bound expression calls them
like any Arrow kernel: in an Acero projection, in the small-table evaluator and when folding
constants.

Arrow's Python UDFs take exact argument types, so each kernel is registered once per
signature it is called with, under a name that spells the signature
(``kodiak_list_contains(list<item: int32>,int32)``). A kernel gets whole batches, never rows:
it must not loop over rows in Python.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Expr, call, repeated

Kernel = Callable[..., pa.Array]  # (arrays of one batch, all of its length) -> array

_lock = threading.Lock()
_registered: set[str] = set()


def _as_array(v: pa.Array | pa.Scalar, n: int) -> pa.Array:
    if isinstance(v, pa.Scalar):
        return repeated(v, n)
    if isinstance(v, pa.ChunkedArray):
        return v.combine_chunks()
    return v


def _wrap(kernel: Kernel, out: pa.DataType, scalars: bool) -> Callable[..., pa.Array]:
    def run(ctx: pc.UdfContext, *args: pa.Array | pa.Scalar) -> pa.Array:
        n = ctx.batch_length
        res = kernel(*[a if scalars and i and isinstance(a, pa.Scalar) else _as_array(a, n)
                       for i, a in enumerate(args)])
        return res if res.type == out else res.cast(out)
    return run


def constant_of(x: pa.Scalar | pa.Array) -> pa.Scalar:
    """A constant argument as a ``scalars`` kernel receives it: a scalar, or (when Arrow
    folds a call of constants) an array repeating it."""
    return x if isinstance(x, pa.Scalar) else x[0]


def signature(name: str, types: list[pa.DataType], out: pa.DataType) -> str:
    """The Arrow function name of kernel ``name`` over ``types``."""
    return f"kodiak_{name}({','.join(str(t) for t in types)})->{out}"


def is_kernel(fn: str, name: str) -> bool:
    """Whether the Arrow function name ``fn`` calls the kernel ``name`` (any signature)."""
    return fn.startswith(f"kodiak_{name}(")


def udf(name: str, kernel: Kernel, args: list[Expr], out: pa.DataType,
        what: str | None = None, scalars: bool = False) -> Expr:
    """A call of the vectorised kernel ``kernel`` over ``args`` giving ``out``, registered
    with Arrow for these argument types the first time it is used. With ``scalars`` a
    constant argument reaches the kernel as a scalar (else as an array of the batch's
    length)."""
    types = [a.type for a in args]
    fn = signature(name, types, out)
    with _lock:
        if fn not in _registered:
            try:
                pc.get_function(fn)
            except pa.ArrowKeyError:
                pc.register_scalar_function(
                    _wrap(kernel, out, scalars), fn,
                    {"summary": name, "description": f"Kodiak's {name} kernel"},
                    {f"a{i}": t for i, t in enumerate(types)}, out)
            _registered.add(fn)
    return call(fn, args, what=what or name)
