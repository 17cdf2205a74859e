"""Aggregate functions: their argument and result-type rules (DuckDB's result types) and
the ``AggregateSpec`` the binder, the executor's aggregate node and the window code read:
which Acero hash kernel computes each, how DISTINCT, ORDER BY and a constant parameter
apply, and how it is computed over a window frame."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError, NotSupportedError, SqlTypeError
from ..expr import Expr, Lit, cast, is_text
from ..types import groupable, is_numeric, is_temporal, sortable, sql_name
from .operators import as_condition
from .registry import AGGREGATE, AggregateSpec, Function, first_type, register, returns
from .strings import to_string

_SKIP_NULLS = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)
_COUNT_VALID = pc.CountOptions("only_valid")


def parameter(fn: Function, extra: list[Expr]) -> object:
    """The constant parameter of aggregate ``fn`` from its bound arguments after the first:
    the separator (',' by default; NULL makes every result NULL, as in DuckDB) or the
    quantile; None for an aggregate with none."""
    spec = fn.aggregate
    assert spec is not None
    if spec.runs_as is not None:
        return spec.runs_as[1]
    if spec.parameter == "separator":
        sep = extra[0] if extra else Lit(",", pa.string())
        if not isinstance(sep, Lit):
            raise NotSupportedError(f"{fn.name}'s separator must be a constant")
        if sep.value is not None and not is_text(sep.type):
            raise SqlTypeError(f"{fn.name}'s separator must be text, not {sql_name(sep.type)}")
        return sep.value
    if spec.parameter == "quantile":
        if not extra:
            raise BindError(f"{fn.name} needs a quantile argument")
        if not isinstance(extra[0], Lit):
            raise NotSupportedError("quantile must be a constant")
        q = float(extra[0].value)
        if not 0 <= q <= 1:  # (DuckDB reads a negative one from the top: not taken)
            raise BindError(f"{fn.name}'s quantile must be from 0 to 1, not {q:g}")
        return q
    return None


def _sum_type(types: list[pa.DataType]) -> pa.DataType:
    t = types[0]
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pa.int64() if not pa.types.is_unsigned_integer(t) else pa.uint64()
    if pa.types.is_decimal(t):
        return pa.decimal128(38, t.scale)
    return pa.float64()  # floating (``_summable`` let nothing else through)


def _summable(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t) or \
        pa.types.is_floating(t)


def _numeric(t: pa.DataType) -> bool:
    return is_numeric(t) or pa.types.is_null(t)


def _ordered(t: pa.DataType) -> bool:
    """min/max: values with an order Arrow's kernels compare (not durations either)."""
    return sortable(t) and not pa.types.is_duration(t)


def _numeric_or_temporal(t: pa.DataType) -> bool:
    return _numeric(t) or is_temporal(t)


def _interpolated_type(types: list[pa.DataType]) -> pa.DataType:
    """quantile_cont / median: numbers become DOUBLE, a date a TIMESTAMP (the midpoint of
    two dates may fall between them, as in DuckDB), a time or timestamp keeps its type."""
    if pa.types.is_date(types[0]):
        return pa.timestamp("us")
    return types[0] if is_temporal(types[0]) else pa.float64()


def _to_float(e: Expr) -> Expr:
    return e if pa.types.is_floating(e.type) else cast(e, pa.float64())


def _decimal_to_float(e: Expr) -> Expr:
    return cast(e, pa.float64()) if pa.types.is_decimal(e.type) else e


_INT64, _FLOAT64 = returns(pa.int64()), returns(pa.float64())


def _agg(name: str, spec: AggregateSpec, result: Callable[[list[pa.DataType]], pa.DataType],
         window: str, *, lo: int = 1, hi: int = 1, aliases: tuple[str, ...] = (),
         accepts: Callable[[pa.DataType], bool] | None = None, doc: str = "") -> None:
    register(Function(name, AGGREGATE, None, lo, hi, aliases, accepts, result,
                      aggregate=spec, window=window, doc=doc))


_agg("count", AggregateSpec("hash_count", _COUNT_VALID, distinct_kernel="hash_count_distinct",
                            plain_distinct=True, empty=0, window_distinct=True),
     _INT64, "prefix", lo=0, doc="non-NULL values (count(*): rows)")
_agg("count_star", AggregateSpec("hash_count_all", empty=0), _INT64, "prefix", lo=0, hi=0,
     doc="rows")
_agg("sum", AggregateSpec("hash_sum", _SKIP_NULLS, window_distinct=True), _sum_type, "prefix",
     accepts=_summable)
_agg("avg", AggregateSpec("hash_mean", _SKIP_NULLS, prepare=_decimal_to_float,
                          window_distinct=True),
     _FLOAT64, "prefix", aliases=("mean",), accepts=_numeric)
_agg("min", AggregateSpec("hash_min", _SKIP_NULLS, plain_distinct=True, window_distinct=True),
     first_type, "extreme", accepts=_ordered)
_agg("max", AggregateSpec("hash_max", _SKIP_NULLS, plain_distinct=True, window_distinct=True),
     first_type, "extreme", accepts=_ordered)
for _name, _fn, _ddof, _aliases in (
        ("stddev_samp", "hash_stddev", 1, ("stddev",)),
        ("stddev_pop", "hash_stddev", 0, ()),
        ("var_samp", "hash_variance", 1, ("variance", "variance_samp")),
        ("var_pop", "hash_variance", 0, ("variance_pop",))):
    _agg(_name, AggregateSpec(_fn, pc.VarianceOptions(ddof=_ddof, min_count=1),
                              prepare=_to_float),
         _FLOAT64, "prefix", aliases=_aliases, accepts=_numeric)
_agg("product", AggregateSpec("hash_product", _SKIP_NULLS, prepare=_to_float,
                              window_distinct=True),
     _FLOAT64, "generic", accepts=_numeric)
_agg("bool_and", AggregateSpec("hash_all", _SKIP_NULLS, plain_distinct=True,
                               prepare=as_condition),
     returns(pa.bool_()), "extreme", aliases=("every", "logical_and"))
_agg("bool_or", AggregateSpec("hash_any", _SKIP_NULLS, plain_distinct=True,
                              prepare=as_condition),
     returns(pa.bool_()), "extreme", aliases=("logical_or",))
# any value will do; hash_first would need single-threaded ordering
_agg("any_value", AggregateSpec("hash_min", _SKIP_NULLS, plain_distinct=True,
                                order_by="refused"),
     first_type, "value", aliases=("first", "arbitrary"), accepts=_ordered)
_agg("approx_count_distinct", AggregateSpec("hash_count_distinct", _COUNT_VALID,
                                            plain_distinct=True, empty=0),
     _INT64, "generic", aliases=("approx_distinct",), accepts=groupable, doc="exact, in fact")
_agg("string_agg", AggregateSpec("hash_list", prepare=to_string, parameter="separator",
                                 order_by="used", window_distinct=True),
     returns(pa.string()), "generic", hi=2, aliases=("group_concat", "listagg"),
     doc="string_agg(x[, separator ORDER BY ...])")
_agg("list", AggregateSpec("hash_list", order_by="used", window_distinct=True),
     lambda types: pa.list_(types[0]), "generic", aliases=("array_agg",))
_agg("quantile_cont", AggregateSpec("hash_list", parameter="quantile", distinct=False),
     _interpolated_type, "generic", hi=2, aliases=("percentile_cont",),
     accepts=_numeric_or_temporal, doc="interpolated quantile_cont(x, q)")
_agg("quantile_disc", AggregateSpec("hash_list", parameter="quantile", distinct=False),
     first_type, "generic", hi=2, aliases=("quantile", "percentile_disc"),
     doc="quantile_disc(x, q): a value of x")
_agg("median", AggregateSpec("hash_list", distinct=False, runs_as=("quantile_cont", 0.5)),
     _interpolated_type, "generic", accepts=_numeric_or_temporal)
