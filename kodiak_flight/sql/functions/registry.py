"""The function registry: one ``Function`` record per SQL function, found by name or alias.

The binder resolves every call through ``lookup``; the executor and the window code read the
aggregate data (``AggregateSpec``) and the window method from the same record, so a function
is declared once, in the module of its family (``strings``, ``math``, ``aggregates``...),
with one ``register`` call. User-defined functions register here too, at runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import BindError, NotSupportedError, SqlError, SqlTypeError, suggest
from ..expr import Expr, Lit, call
from ..types import sql_name

# kinds
SCALAR = "scalar"  # build(args: list[Expr]) -> Expr
AGGREGATE = "aggregate"  # no builder: ``aggregate`` (an AggregateSpec) says how it is computed
WINDOW = "window"  # build(args: list[Expr]) -> (args, constant parameter); needs OVER
TABLE = "table"  # build(name, args: list[sqlglot Expression]) -> (path, format, options)
KINDS = (SCALAR, AGGREGATE, WINDOW, TABLE)

# volatility: whether a plan holding the call may be reused by a later execution
IMMUTABLE = "immutable"  # same arguments, same result, forever
STABLE = "stable"  # fixed for one statement, not across statements (now(), current_date)
VOLATILE = "volatile"  # may differ on every call


@dataclass(frozen=True)
class AggregateSpec:
    """How an aggregate is bound and computed: the data the aggregate binder, the executor's
    aggregate node and the window code share."""

    kernel: str  # Acero's hash kernel; "hash_list": finished from per-group value lists
    options: Any = None  # the kernel's FunctionOptions
    distinct_kernel: str | None = None  # a kernel that does DISTINCT itself (count)
    plain_distinct: bool = False  # DISTINCT needs no value lists (it changes nothing, or
    #                               the kernel does it)
    empty: Any = None  # the value over no rows (counts: 0)
    prepare: Callable[[Expr], Expr] | None = None  # the input cast to what it computes in
    window_prepare: Callable[[Expr], Expr] | None = None  # over a window, where that differs
    parameter: str | None = None  # the constant second argument: "separator" | "quantile"
    order_by: str = "ignored"  # agg(x ORDER BY y): "used" | "ignored" | "refused"
    distinct: bool = True  # agg(DISTINCT x) allowed in a grouped aggregate
    window_distinct: bool = False  # ... and over a window
    runs_as: tuple[str, Any] | None = None  # computed as (aggregate, parameter): median
    by_argument: bool = False  # the second argument is read beside the first, as the
    #                             aggregate's sort key (arg_min(x, by))
    by_accepts: Callable[[pa.DataType], bool] | None = None  # the second argument's types
    # finishes a "hash_list" aggregate: (group of each value, the values, the sort keys'
    # values, number of groups, parameter) -> one value per group (mode, histogram, arg_min)
    finish: Callable[[Any, Any, list, int, Any], Any] | None = None

    @property
    def via_list(self) -> bool:
        return self.kernel == "hash_list"


@dataclass(frozen=True)
class Function:
    """One SQL function.

    ``build`` depends on ``kind`` (see the kind constants). ``accepts`` checks the first
    argument's type, ``result`` gives the result type from the argument types (aggregates and
    window functions; a scalar's type is its built expression's, which Arrow's kernel
    decides). ``window`` says how ``window.py`` computes it over a frame (None: no OVER):
    rank | offset | value | prefix | extreme | generic."""

    name: str
    kind: str
    build: Callable[..., Any] | None = None
    min_args: int = 1
    max_args: int | None = 1  # None: any number
    aliases: tuple[str, ...] = ()
    accepts: Callable[[pa.DataType], bool] | None = None
    result: Callable[[list[pa.DataType]], pa.DataType] | None = None
    volatility: str = IMMUTABLE
    aggregate: AggregateSpec | None = None
    window: str | None = None
    doc: str = ""
    # a VOLATILE function computed row by row (random()): the binder passes it a column of
    # the rows (whose length its kernel reads) as its last argument, or none where the rows
    # are one (``functions/random_values.py``)
    rows: bool = False

    @property
    def immutable(self) -> bool:
        return self.volatility == IMMUTABLE

    def expected(self) -> str:
        """The accepted argument count, in words."""
        lo, hi = self.min_args, self.max_args
        if hi is None:
            return f"at least {lo}"
        if lo == hi:
            return str(lo)
        return f"{lo} or {hi}" if hi == lo + 1 else f"{lo} to {hi}"


_lock = threading.Lock()
_by_name: dict[str, Function] = {}  # names and aliases, lower case
_generation = 0


def register(fn: Function) -> Function:
    """Add ``fn`` under its name and aliases; ValueError if one of them is taken."""
    global _generation
    if fn.kind not in KINDS or fn.volatility not in (IMMUTABLE, STABLE, VOLATILE):
        raise ValueError(f"function {fn.name}: bad kind or volatility")
    if fn.kind in (SCALAR, WINDOW, TABLE) and fn.build is None:
        raise ValueError(f"{fn.kind} function {fn.name} needs a builder")
    if fn.kind == AGGREGATE and (fn.aggregate is None or fn.result is None):
        raise ValueError(f"aggregate {fn.name} needs an AggregateSpec and a result rule")
    keys = [k.lower() for k in (fn.name, *fn.aliases)]
    with _lock:
        taken = [k for k in keys if k in _by_name]
        if taken:
            raise ValueError(f"function name(s) already registered: {', '.join(taken)}")
        for k in keys:
            _by_name[k] = fn
        _generation += 1
    return fn


def unregister(name: str) -> None:
    """Remove the function called (or aliased) ``name``, with all its names."""
    global _generation
    with _lock:
        fn = _by_name.get(name.lower())
        if fn is None:
            raise KeyError(name)
        for k, v in list(_by_name.items()):
            if v is fn:
                del _by_name[k]
        _generation += 1


def generation() -> int:
    """A counter that changes whenever a function is registered or removed (for caches of
    bound plans)."""
    return _generation


def lookup(name: str) -> Function | None:
    """The function called ``name`` (any case, or one of its aliases), or None."""
    return _by_name.get(name.lower())


def functions(kind: str | None = None) -> list[Function]:
    """Every registered function (of ``kind``), by name."""
    seen = {id(f): f for f in _by_name.values() if kind is None or f.kind == kind}
    return sorted(seen.values(), key=lambda f: f.name)


def require(name: str, typed: str | None = None) -> Function:
    """``lookup(name)``, or a BindError that suggests the closest names (``typed``: the
    name as the user wrote it, when sqlglot renamed it)."""
    fn = lookup(name) or (lookup(typed) if typed else None)
    if fn is None:
        shown = typed or name
        names = [k for k, f in _by_name.items() if f.kind in (SCALAR, AGGREGATE)]
        raise BindError(f"unknown function {shown}()" + suggest(shown, names))
    return fn


def check_arity(fn: Function, n: int, name: str | None = None) -> None:
    """BindError unless ``fn`` takes ``n`` arguments."""
    if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
        raise BindError(f"wrong number of arguments to {name or fn.name}(): expected "
                        f"{fn.expected()}, got {n}")


def apply(fn: Function, args: list[Expr], name: str | None = None,
          carrier: Expr | None = None) -> Expr:
    """The bound expression of scalar function ``fn`` over ``args``; ``carrier`` is the
    column of the rows a ``rows`` function is computed for."""
    check_arity(fn, len(args), name)
    assert fn.build is not None
    if fn.rows:
        return fn.build(args + ([carrier] if carrier is not None else []))
    return strict(fn.build, args)


def result_type(fn: Function, types: list[pa.DataType], name: str | None = None
                ) -> pa.DataType:
    """The result type of ``fn`` over arguments of ``types``, after its type check."""
    if fn.accepts is not None and types and not fn.accepts(types[0]):
        raise SqlTypeError(f"{name or fn.name} is not defined for {sql_name(types[0])}")
    assert fn.result is not None, fn.name
    return fn.result(types)


def aggregate_spec(name: str) -> AggregateSpec:
    """The AggregateSpec of aggregate ``name`` (the executor's question)."""
    fn = lookup(name)
    if fn is None or fn.aggregate is None:
        raise NotSupportedError(f"aggregate {name}() is not supported")
    return fn.aggregate


# helpers for builders ----------------------------------------------------------------


class NullConstant(Exception):  # noqa: N818 - a signal, not an error a user sees
    """A constant argument that a kernel takes as an option is NULL: the call is NULL
    (``strict`` answers it)."""


def constant(e: Expr, what: str) -> Any:
    """The value of an argument that a kernel takes as an option (a constant); raises
    ``NullConstant`` for NULL (Arrow's options take no NULL; str(None) is 'None')."""
    if not isinstance(e, Lit):
        raise NotSupportedError(f"{what} must be a constant")
    if e.value is None:
        raise NullConstant
    return e.value


# values tried in place of a NULL constant to learn the call's result type
_STAND_INS = (1, "day")


def strict(build: Callable[[list[Expr]], Expr], args: list[Expr]) -> Expr:
    """``build(args)``; where a constant it reads is NULL, a NULL of the type the call has
    for a non-NULL constant (SQL: a NULL argument gives NULL), the type of the call built
    with a stand-in for each NULL constant (NULL's own type where none builds)."""
    try:
        return build(args)
    except NullConstant:
        return _null_call(build, args)


def _null_call(build: Callable[[list[Expr]], Expr], args: list[Expr]) -> Lit:
    """The NULL ``strict`` gives: typed as the call built with stand-ins for its NULLs."""
    for value in _STAND_INS:
        stand_in = [Lit(value, pa.scalar(value).type) if _null_lit(a) else a for a in args]
        try:
            return Lit(None, build(stand_in).type)
        except SqlTypeError:
            raise  # an argument other than the NULL one has a type the call does not take
        except (NullConstant, SqlError, ValueError, TypeError, pa.ArrowException):
            continue
    return Lit(None, pa.null())


def _null_lit(e: Expr) -> bool:
    return isinstance(e, Lit) and e.value is None


def kernel(fn: str, prep: Callable[[Expr], Expr] | None = None
           ) -> Callable[[list[Expr]], Expr]:
    """A builder calling Arrow kernel ``fn`` on the arguments (each through ``prep``)."""
    def build(args: list[Expr]) -> Expr:
        return call(fn, [prep(a) if prep else a for a in args], what=fn)
    return build


def returns(t: pa.DataType) -> Callable[[list[pa.DataType]], pa.DataType]:
    """A result rule: always ``t``."""
    return lambda types: t


def first_type(types: list[pa.DataType]) -> pa.DataType:
    """A result rule: the first argument's type."""
    return types[0]
