"""SQL functions and operators mapped onto ``pyarrow.compute`` kernels.

Kernels that take their parameters as options (``match_like``, ``utf8_slice_codeunits``...)
need those arguments to be constants; we say so in the error instead of falling back to a
row-by-row implementation.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from .errors import BindError, NotSupportedError, SqlTypeError, suggest
from .expr import Call, Expr, Lit, call, cast, is_const, lit
from .types import common_type, is_numeric, is_string, is_temporal, sql_name

# ---------------------------------------------------------------------------- coercion


def _is_null_lit(e: Expr) -> bool:
    return is_const(e) and e.value is None


def coerce_literal(e: Expr, to: pa.DataType) -> Expr:
    """Cast a string literal to ``to`` as SQL does for ``date_col = '1998-01-01'``."""
    if isinstance(e, Lit) and is_string(e.type) and not is_string(to):
        return cast(e, to)
    return e


def unify(args: list[Expr], what: str) -> list[Expr]:
    """Cast every argument to their common type (CASE branches, COALESCE, IN lists...)."""
    t = pa.null()
    for a in args:
        if isinstance(a, Lit) and is_string(a.type) and not is_string(t) and not \
                pa.types.is_null(t):
            continue
        t = common_type(t, a.type, what)
    if pa.types.is_null(t):
        return args
    return [cast(coerce_literal(a, t), t) for a in args]


def _narrow_int_literal(e: Expr) -> Expr:
    if isinstance(e, Lit) and pa.types.is_integer(e.type) and e.value is not None:
        return Lit(Decimal(e.value), pa.decimal128(max(1, len(str(abs(e.value)))), 0))
    return e


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """``a op b`` for op in equal/not_equal/less/... after SQL's implicit casts."""
    if _is_null_lit(a) or _is_null_lit(b) or pa.types.is_null(a.type) or \
            pa.types.is_null(b.type):
        return Lit(None, pa.bool_())  # anything compared with NULL is NULL
    a, b = coerce_literal(a, b.type), coerce_literal(b, a.type)
    if a.type != b.type:
        if pa.types.is_decimal(a.type) or pa.types.is_decimal(b.type):
            a, b = _narrow_int_literal(a), _narrow_int_literal(b)
        t = common_type(a.type, b.type, f"comparison {_OPNAME.get(op, op)}")
        a, b = cast(a, t), cast(b, t)
    return call(op, [a, b], what=f"comparison {_OPNAME.get(op, op)}")


_OPNAME = {"equal": "=", "not_equal": "<>", "less": "<", "less_equal": "<=", "greater": ">",
           "greater_equal": ">=", "add_checked": "+", "subtract_checked": "-",
           "multiply_checked": "*", "divide": "/", "modulo": "%"}


def _interval_parts(e: Lit) -> tuple[int, int, int]:
    v = e.value
    return (v.months, v.days, v.nanoseconds) if v is not None else (0, 0, 0)


def _add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return d.replace(year=y, month=m, day=min(d.day, calendar.monthrange(y, m)[1]))


def _date_interval(op: str, d: Expr, iv: Expr) -> Expr:
    sign = 1 if op == "add" else -1
    if not isinstance(iv, Lit):
        raise NotSupportedError("interval arithmetic needs a constant interval")
    months, days, nanos = (sign * p for p in _interval_parts(iv))
    if isinstance(d, Lit):
        if d.value is None:
            return Lit(None, d.type)
        v = d.value
        if months:
            v = _add_months(v, months)
        v = v + dt.timedelta(days=days, microseconds=nanos // 1000)
        if pa.types.is_date(d.type) and nanos == 0:
            return Lit(v, d.type)
        return Lit(v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time()),
                   d.type if pa.types.is_timestamp(d.type) else pa.timestamp("us"))
    if months:
        if pa.types.is_date(d.type):
            d = add_months(d, months)
        elif pa.types.is_timestamp(d.type):
            day = cast(d, pa.date32())
            time_of_day = call("subtract", [d, cast(day, d.type)])
            d = call("add", [cast(add_months(day, months), d.type), time_of_day])
        else:
            raise NotSupportedError(f"cannot add a month interval to {sql_name(d.type)}")
        if not days and not nanos:
            return d
    if pa.types.is_date(d.type) and nanos == 0:
        days_since = cast(cast(d, pa.int32()), pa.int64())
        return cast(cast(call("add_checked", [days_since, lit(days, pa.int64())]), pa.int32()),
                    pa.date32())
    ts = d if pa.types.is_timestamp(d.type) else cast(d, pa.timestamp("us"))
    unit = ts.type.unit
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    delta = days * 86400 * 10**9 // per + nanos // per
    return call("add_checked", [ts, Lit(delta, pa.duration(unit))])


def _i(v: int) -> Lit:
    return Lit(v, pa.int64())


def _ops(fn: str, *args: Expr) -> Expr:
    return call(fn, list(args))


def _days_from_civil(y: Expr, m: Expr, d: Expr) -> Expr:
    """Days since 1970-01-01 of the proleptic Gregorian date (y >= 1), vectorised
    (H. Hinnant's ``days_from_civil``)."""
    early = cast(_ops("less_equal", m, _i(2)), pa.int64())
    y = _ops("subtract", y, early)
    era = _ops("divide", y, _i(400))
    yoe = _ops("subtract", y, _ops("multiply", era, _i(400)))
    mp = _ops("subtract", _ops("add", m, _i(9)),
              _ops("multiply", _ops("divide", _ops("add", m, _i(9)), _i(12)), _i(12)))
    doy = _ops("add", _ops("divide", _ops("add", _ops("multiply", mp, _i(153)), _i(2)), _i(5)),
               _ops("subtract", d, _i(1)))
    doe = _ops("add", _ops("subtract", _ops("add", _ops("multiply", yoe, _i(365)),
                                              _ops("divide", yoe, _i(4))),
                           _ops("divide", yoe, _i(100))), doy)
    return _ops("subtract", _ops("add", _ops("multiply", era, _i(146097)), doe), _i(719468))


def add_months(d: Expr, months: int) -> Expr:
    """``date + INTERVAL months MONTH`` on a column: the same day in the target month,
    clamped to its last day (Jan 31 + 1 month = Feb 28/29), as DuckDB does."""
    y = cast(call("year", [d]), pa.int64())
    m = cast(call("month", [d]), pa.int64())
    day = cast(call("day", [d]), pa.int64())
    total = _ops("add", _ops("add", _ops("multiply", y, _i(12)), _ops("subtract", m, _i(1))),
                 _i(months))
    ny = _ops("divide", total, _i(12))
    nm = _ops("add", _ops("subtract", total, _ops("multiply", ny, _i(12))), _i(1))
    first = _days_from_civil(ny, nm, _i(1))
    ny2 = _ops("add", ny, cast(_ops("equal", nm, _i(12)), pa.int64()))
    nm2 = _ops("add", _ops("subtract", nm, _ops("multiply", _ops("divide", nm, _i(12)),
                                                 _i(12))), _i(1))
    month_len = _ops("subtract", _days_from_civil(ny2, nm2, _i(1)), first)
    clamped = call("min_element_wise", [day, month_len])
    days = _ops("add", first, _ops("subtract", clamped, _i(1)))
    return cast(cast(days, pa.int32()), pa.date32())


def arith(op: str, a: Expr, b: Expr) -> Expr:
    """Arithmetic with DuckDB's result types (``/`` is true division, decimals stay exact)."""
    name = {"+": "add_checked", "-": "subtract_checked", "*": "multiply_checked",
            "/": "divide", "//": "divide", "%": "modulo"}[op]
    a, b = coerce_literal(a, b.type), coerce_literal(b, a.type)
    ta, tb = a.type, b.type
    if op in "+-" and (is_temporal(ta) or is_temporal(tb) or pa.types.is_interval(ta)
                       or pa.types.is_interval(tb)):
        if pa.types.is_interval(tb) and is_temporal(ta):
            return _date_interval("add" if op == "+" else "sub", a, b)
        if pa.types.is_interval(ta) and is_temporal(tb) and op == "+":
            return _date_interval("add", b, a)
        if pa.types.is_date(ta) and pa.types.is_integer(tb):
            return _date_plus_days(a, b if op == "+" else call("negate_checked", [b]))
        if pa.types.is_date(ta) and pa.types.is_date(tb) and op == "-":
            return call("subtract_checked", [cast(cast(a, pa.int32()), pa.int64()),
                                             cast(cast(b, pa.int32()), pa.int64())])
    if pa.types.is_null(ta) or pa.types.is_null(tb):
        other = tb if pa.types.is_null(ta) else ta
        return Lit(None, other if is_numeric(other) else pa.int32())
    if not (is_numeric(ta) and is_numeric(tb)):
        raise SqlTypeError(f"operator {op} is not defined for operand types "
                           f"({sql_name(ta)}, {sql_name(tb)})")
    if op == "/":  # IEEE: x / 0 is +-Infinity, 0 / 0 is NaN (DuckDB's default)
        a, b = cast(a, pa.float64()), cast(b, pa.float64())
        return call("divide", [a, b], what="/")
    if op == "//":  # integer division for integers, else division; zero divisor is an error
        t = common_type(ta, tb)
        if not pa.types.is_integer(t):
            a, b = cast(a, pa.float64()), cast(b, pa.float64())
            return call("divide_checked", [a, b], what="//")
        return call("divide_checked", [cast(a, t), cast(b, t)], what="//")
    if pa.types.is_decimal(ta) or pa.types.is_decimal(tb):
        if pa.types.is_floating(ta) or pa.types.is_floating(tb):
            a, b = cast(a, pa.float64()), cast(b, pa.float64())
        else:
            a, b = _narrow_int_literal(a), _narrow_int_literal(b)
            a = cast(a, pa.decimal128(19, 0)) if pa.types.is_integer(a.type) else a
            b = cast(b, pa.decimal128(19, 0)) if pa.types.is_integer(b.type) else b
            pa_, pb = a.type, b.type
            if op == "*":
                prec = pa_.precision + pb.precision + 1
            else:
                prec = max(pa_.precision - pa_.scale, pb.precision - pb.scale) + \
                    max(pa_.scale, pb.scale) + 1
            if prec > 38:
                a, b = cast(a, pa.float64()), cast(b, pa.float64())
    elif ta != tb:
        t = common_type(ta, tb)
        a, b = cast(a, t), cast(b, t)
    if op == "%":  # SQL's remainder takes the dividend's sign (truncated division)
        if pa.types.is_floating(a.type):  # IEEE fmod: x % 0 is NaN
            q = call("trunc", [call("divide", [a, b], what="%")])
            return call("subtract", [a, call("multiply", [q, b])], what="%")
        q = call("divide_checked", [a, b], what="%")  # zero divisor: error
        if not pa.types.is_integer(q.type):
            q = call("trunc", [q])
        return call("subtract_checked", [a, call("multiply_checked", [q, b])], what="%")
    return call(name, [a, b], what=op)


def _has_checked_division(e: Expr) -> bool:
    return any(isinstance(x, Call) and x.fn == "divide_checked" for x in e.walk())


def guard(e: Expr, needed: Expr) -> Expr:
    """``e`` evaluated only where ``needed`` holds, as far as errors go: divisors of checked
    divisions become 1 where ``needed`` is false, so rows a CASE branch, an AND/OR operand
    or a COALESCE argument does not reach cannot raise "division by zero" (Arrow evaluates
    every row; SQL evaluates only the rows that reach an expression)."""
    if not _has_checked_division(e):
        return e
    g = call("coalesce", [needed, lit(False)]) if not isinstance(needed, Lit) else needed
    if isinstance(g, Lit):
        if g.value:
            return e

    def rec(x: Expr) -> Expr:
        if not isinstance(x, Call):
            return x
        args = [rec(a) for a in x.args]
        if x.fn == "divide_checked":
            b = args[1]
            one = cast(lit(1), b.type)
            args[1] = Call("if_else", (g, b, one), None, b.type) if not isinstance(g, Lit) \
                else one
        return Call(x.fn, tuple(args), x.options, x.type)
    return rec(e)


def _date_plus_days(d: Expr, n: Expr) -> Expr:
    days = call("add_checked", [cast(cast(d, pa.int32()), pa.int64()), cast(n, pa.int64())])
    return cast(cast(days, pa.int32()), pa.date32())


# ---------------------------------------------------------------------------- logic


def and_(a: Expr, b: Expr) -> Expr:
    a, b = as_condition(a), as_condition(b)
    b = guard(b, call("coalesce", [a, lit(True)]))  # rows where a is false skip b
    return call("and_kleene", [a, b], what="AND")


def or_(a: Expr, b: Expr) -> Expr:
    a, b = as_condition(a), as_condition(b)
    b = guard(b, call("invert", [call("coalesce", [a, lit(False)])]))
    return call("or_kleene", [a, b], what="OR")


def not_(a: Expr) -> Expr:
    return call("invert", [as_condition(a)], what="NOT")


def as_condition(e: Expr) -> Expr:
    if pa.types.is_boolean(e.type):
        return e
    if pa.types.is_null(e.type):
        return Lit(None, pa.bool_())
    if isinstance(e, Lit) and is_string(e.type):
        return cast(e, pa.bool_())
    raise SqlTypeError(f"expected a BOOLEAN condition, got {sql_name(e.type)}")


def case_when(conds: list[Expr], values: list[Expr], default: Expr | None) -> Expr:
    vals = unify(values + ([default] if default is not None else [lit(None)]), "CASE branches")
    if pa.types.is_null(vals[0].type):
        vals = [cast(v, pa.int32()) for v in vals]
    conds = [as_condition(c) for c in conds]
    if any(_has_checked_division(v) for v in vals):
        taken: Expr = lit(False)  # some earlier branch already matched
        for i, c in enumerate(conds):
            hit = call("and_kleene", [call("invert", [taken]),
                                      call("coalesce", [c, lit(False)])])
            vals[i] = guard(vals[i], hit)
            taken = call("or_kleene", [taken, call("coalesce", [c, lit(False)])])
        vals[-1] = guard(vals[-1], call("invert", [taken]))
    names = [f"c{i}" for i in range(len(conds))]
    struct = call("make_struct", conds, pc.MakeStructOptions(names))
    return call("case_when", [struct, *vals], what="CASE")


def coalesce(args: list[Expr]) -> Expr:
    args = unify(args, "COALESCE arguments")
    if len(args) == 1:
        return args[0]
    if any(_has_checked_division(x) for x in args[1:]):
        out = [args[0]]
        for x in args[1:]:  # later arguments only matter where the earlier ones are NULL
            before = call("is_null", [out[0]])
            for y in out[1:]:
                before = call("and_kleene", [before, call("is_null", [y])])
            out.append(guard(x, before))
        args = out
    return call("coalesce", args, what="COALESCE")


def in_list(x: Expr, items: list[Expr]) -> Expr:
    if _is_null_lit(x) or pa.types.is_null(x.type):
        return Lit(None, pa.bool_())
    vals = unify([x, *items], "IN list")
    x, items = vals[0], vals[1:]
    if all(isinstance(i, Lit) for i in items):
        values = pa.array([i.value for i in items if i.value is not None], type=x.type)
        res = call("is_in", [x], pc.SetLookupOptions(values, skip_nulls=True), what="IN")
        if not isinstance(res, Lit):
            res._values = tuple(values.to_pylist())  # type: ignore[attr-defined]
        if any(i.value is None for i in items):  # x IN (.., NULL) is NULL when not found
            res = call("if_else", [res, lit(True), Lit(None, pa.bool_())])
        return call("if_else", [call("is_null", [x]), Lit(None, pa.bool_()), res]) \
            if not isinstance(res, Lit) else res
    out: Expr | None = None
    for i in items:
        eq = compare("equal", x, i)
        out = eq if out is None else or_(out, eq)
    assert out is not None
    return out


# ---------------------------------------------------------------------------- functions


def _const(e: Expr, what: str) -> object:
    if not isinstance(e, Lit):
        raise NotSupportedError(f"{what} must be a constant")
    return e.value


def _str(e: Expr) -> Expr:
    if is_string(e.type):
        return e
    if pa.types.is_null(e.type):
        return Lit(None, pa.string())
    return cast(e, pa.string())


def _substring(args: list[Expr]) -> Expr:
    s = _str(args[0])
    start = int(_const(args[1], "substring start"))
    length = int(_const(args[2], "substring length")) if len(args) > 2 else None
    begin = start - 1 if start > 0 else start - 1  # SQL 1-based; 0 behaves like 1 with len-1
    if start < 0:  # counts from the end
        stop = start + length if length is not None else None
        if stop is not None and stop >= 0:
            stop = None
        opts = pc.SliceOptions(start, stop) if stop is not None else pc.SliceOptions(start)
        return call("utf8_slice_codeunits", [s], opts, what="substring")
    if start <= 0:
        stop = begin + length if length is not None else None
        begin = 0
        if stop is not None and stop <= 0:
            return call("utf8_slice_codeunits", [s], pc.SliceOptions(0, 0))
    else:
        stop = begin + length if length is not None else None
    opts = pc.SliceOptions(begin, stop) if stop is not None else pc.SliceOptions(begin)
    return call("utf8_slice_codeunits", [s], opts, what="substring")


def _concat(args: list[Expr], skip_nulls: bool) -> Expr:
    strs = [_str(a) for a in args]
    opts = pc.JoinOptions("skip" if skip_nulls else "emit_null")
    return call("binary_join_element_wise", [*strs, lit("")], opts, what="concat")


def _round(args: list[Expr]) -> Expr:
    nd = int(_const(args[1], "round digits")) if len(args) > 1 else 0
    x = args[0]
    if pa.types.is_integer(x.type):
        return x
    return call("round", [x], pc.RoundOptions(nd, "half_towards_infinity"), what="round")


def _float(e: Expr) -> Expr:
    return cast(e, pa.float64())


def _log(args: list[Expr]) -> Expr:
    if len(args) == 2:
        return arith("/", call("ln", [_float(args[1])]), call("ln", [_float(args[0])]))
    return call("log10", [_float(args[0])])


def _like(args: list[Expr], ignore_case: bool = False) -> Expr:
    pat = _const(args[1], "LIKE pattern")
    if pat is None:  # x LIKE NULL is NULL (and a prepared pattern is unknown until bound)
        return Lit(None, pa.bool_())
    return call("match_like", [_str(args[0])], pc.MatchSubstringOptions(pat, ignore_case=ignore_case),
                what="LIKE")


def _strpos(args: list[Expr]) -> Expr:
    pat = _const(args[1], "strpos needle")
    idx = call("find_substring", [_str(args[0])], pc.MatchSubstringOptions(pat))
    return call("add_checked", [idx, cast(lit(1), idx.type)])


def _left(args: list[Expr]) -> Expr:
    n = int(_const(args[1], "left length"))
    return call("utf8_slice_codeunits", [_str(args[0])], pc.SliceOptions(0, n))


def _right(args: list[Expr]) -> Expr:
    n = int(_const(args[1], "right length"))
    if n == 0:
        return call("utf8_slice_codeunits", [_str(args[0])], pc.SliceOptions(0, 0))
    return call("utf8_slice_codeunits", [_str(args[0])], pc.SliceOptions(-n))


def _pad(fn: str) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        width = int(_const(args[1], f"{fn} width"))
        padding = str(_const(args[2], f"{fn} padding")) if len(args) > 2 else " "
        return call(fn, [_str(args[0])], pc.PadOptions(width, padding))
    return build


def _trim(fn_ws: str, fn_chars: str) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        if len(args) == 1:
            return call(fn_ws, [_str(args[0])])
        return call(fn_chars, [_str(args[0])],
                    pc.TrimOptions(str(_const(args[1], "trim characters"))))
    return build


def _regexp_replace(args: list[Expr]) -> Expr:
    flags = str(_const(args[3], "regexp flags")) if len(args) > 3 else ""
    opts = pc.ReplaceSubstringOptions(str(_const(args[1], "regexp pattern")),
                                      str(_const(args[2], "regexp replacement")),
                                      max_replacements=None if "g" in flags else 1)
    return call("replace_substring_regex", [_str(args[0])], opts)


def _extract(part: str, e: Expr) -> Expr:
    part = part.lower()
    if pa.types.is_date(e.type) and part in ("hour", "minute", "second"):
        return cast(lit(0), pa.int64())
    fn = {"year": "year", "month": "month", "day": "day", "quarter": "quarter",
          "doy": "day_of_year", "dayofyear": "day_of_year", "week": "iso_week",
          "hour": "hour", "minute": "minute", "second": "second", "isoyear": "iso_year",
          "dow": "day_of_week", "dayofweek": "day_of_week", "isodow": "day_of_week",
          "millisecond": "millisecond", "microsecond": "microsecond",
          "epoch": "epoch"}.get(part)
    if fn is None:
        raise NotSupportedError(f"EXTRACT({part.upper()}) is not supported")
    if fn == "epoch":
        secs = cast(cast(e, pa.timestamp("s")), pa.int64())
        return secs
    if fn == "day_of_week":
        if part == "isodow":
            return call(fn, [e], pc.DayOfWeekOptions(count_from_zero=False, week_start=1))
        return call(fn, [e], pc.DayOfWeekOptions(count_from_zero=True, week_start=7))
    return call(fn, [e], what=f"EXTRACT({part.upper()})")


def extract(part: str, e: Expr) -> Expr:
    if not is_temporal(e.type):
        if isinstance(e, Lit) and is_string(e.type):
            e = cast(e, pa.timestamp("us"))
        else:
            raise SqlTypeError(f"EXTRACT needs a date or timestamp, got {sql_name(e.type)}")
    return _extract(part, e)


def _date_part(args: list[Expr]) -> Expr:
    return extract(str(_const(args[0], "date part")), args[1])


def _date_trunc(args: list[Expr]) -> Expr:
    unit = str(_const(args[0], "date_trunc unit")).lower()
    unit = {"mon": "month", "yr": "year", "y": "year", "d": "day", "w": "week"}.get(unit, unit)
    e = args[1]
    if isinstance(e, Lit) and is_string(e.type):
        e = cast(e, pa.timestamp("us"))
    opts = pc.RoundTemporalOptions(1, unit, week_starts_monday=True)
    return call("floor_temporal", [e], opts, what="date_trunc")


def _greatest(fn: str) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        return call(fn, unify(args, fn), pc.ElementWiseAggregateOptions(skip_nulls=True))
    return build


def _nullif(args: list[Expr]) -> Expr:
    a, b = args
    eq = call("coalesce", [compare("equal", a, b), lit(False)])
    return call("if_else", [eq, Lit(None, a.type), a])


def _if(args: list[Expr]) -> Expr:
    return case_when([args[0]], [args[1]], args[2] if len(args) > 2 else None)


def _simple(fn: str, prep: Callable[[Expr], Expr] | None = None) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        return call(fn, [prep(a) if prep else a for a in args], what=fn)
    return build


def _make_date(args: list[Expr]) -> Expr:
    y, m, d = (cast(a, pa.int64()) for a in args)
    if all(isinstance(a, Lit) for a in (y, m, d)):
        return Lit(dt.date(y.value, m.value, d.value), pa.date32())  # type: ignore[union-attr]
    raise NotSupportedError("make_date needs constant arguments")


def _length(args: list[Expr]) -> Expr:
    e = args[0]
    if pa.types.is_binary(e.type):
        return call("binary_length", [e])
    return call("utf8_length", [_str(e)], what="length")


def _ifnull(args: list[Expr]) -> Expr:
    return coalesce(args)


def _sign(args: list[Expr]) -> Expr:
    return call("sign", [args[0]])


def _starts_with(fn: str) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        pat = _const(args[1], f"{fn} argument")
        return call(fn, [_str(args[0])], pc.MatchSubstringOptions(pat))
    return build


def _current_date(args: list[Expr]) -> Expr:
    return Lit(dt.date.today(), pa.date32())


def _now(args: list[Expr]) -> Expr:
    return Lit(dt.datetime.now(dt.UTC), pa.timestamp("us", tz="UTC"))


SCALAR: dict[str, Callable[[list[Expr]], Expr]] = {
    "upper": _simple("utf8_upper", _str), "ucase": _simple("utf8_upper", _str),
    "lower": _simple("utf8_lower", _str), "lcase": _simple("utf8_lower", _str),
    "length": _length, "char_length": _length, "character_length": _length,
    "len": _length, "strlen": _length,
    "trim": _trim("utf8_trim_whitespace", "utf8_trim"),
    "ltrim": _trim("utf8_ltrim_whitespace", "utf8_ltrim"),
    "rtrim": _trim("utf8_rtrim_whitespace", "utf8_rtrim"),
    "substring": _substring, "substr": _substring,
    "concat": lambda a: _concat(a, skip_nulls=True),
    "replace": lambda a: call("replace_substring", [_str(a[0])], pc.ReplaceSubstringOptions(
        str(_const(a[1], "replace pattern")), str(_const(a[2], "replacement")))),
    "starts_with": _starts_with("starts_with"), "prefix": _starts_with("starts_with"),
    "ends_with": _starts_with("ends_with"), "suffix": _starts_with("ends_with"),
    "contains": _starts_with("match_substring"),
    "strpos": _strpos, "instr": _strpos, "position": _strpos,
    "left": _left, "right": _right, "reverse": _simple("utf8_reverse", _str),
    "lpad": _pad("utf8_lpad"), "rpad": _pad("utf8_rpad"),
    "regexp_matches": lambda a: call("match_substring_regex", [_str(a[0])],
                                     pc.MatchSubstringOptions(_const(a[1], "regexp pattern"))),
    "regexp_replace": _regexp_replace,
    "repeat": lambda a: call("binary_repeat", [_str(a[0]), cast(a[1], pa.int64())]),
    "abs": _simple("abs_checked"), "ceil": _simple("ceil"), "ceiling": _simple("ceil"),
    "floor": _simple("floor"), "round": _round, "trunc": _simple("trunc"),
    "sqrt": _simple("sqrt", _float), "exp": _simple("exp", _float),
    "ln": _simple("ln", _float), "log10": _simple("log10", _float),
    "log2": _simple("log2", _float), "log": _log,
    "power": lambda a: call("power", [_float(a[0]), _float(a[1])]),
    "pow": lambda a: call("power", [_float(a[0]), _float(a[1])]),
    "sin": _simple("sin", _float), "cos": _simple("cos", _float), "tan": _simple("tan", _float),
    "atan": _simple("atan", _float), "asin": _simple("asin", _float),
    "acos": _simple("acos", _float),
    "sign": _sign, "pi": lambda a: lit(3.141592653589793),
    "greatest": _greatest("max_element_wise"), "least": _greatest("min_element_wise"),
    "nullif": _nullif, "ifnull": _ifnull, "nvl": _ifnull, "if": _if, "iff": _if,
    "date_part": _date_part, "datepart": _date_part, "date_trunc": _date_trunc,
    "datetrunc": _date_trunc, "year": lambda a: extract("year", a[0]),
    "month": lambda a: extract("month", a[0]), "day": lambda a: extract("day", a[0]),
    "quarter": lambda a: extract("quarter", a[0]), "dayofweek": lambda a: extract("dow", a[0]),
    "make_date": _make_date, "current_date": _current_date, "today": _current_date,
    "now": _now, "current_timestamp": _now,
    "like": _like, "ilike": lambda a: _like(a, True),
    "mod": lambda a: arith("%", a[0], a[1]),
}

# evaluated once at bind time: a plan holding one must not be reused by a later execution
VOLATILE = {"now", "current_timestamp", "current_date", "today"}

AGGREGATES = {"count", "sum", "avg", "mean", "min", "max", "stddev", "stddev_samp",
              "stddev_pop", "variance", "var_samp", "var_pop", "median", "quantile",
              "quantile_cont", "quantile_disc", "string_agg", "group_concat", "listagg",
              "bool_and", "bool_or", "every", "any_value", "first", "arbitrary", "count_star",
              "list", "array_agg", "product", "approx_count_distinct"}

WINDOW_ONLY = {"row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value",
               "ntile", "percent_rank", "cume_dist", "nth_value"}


def scalar_function(name: str, args: list[Expr]) -> Expr:
    fn = SCALAR.get(name.lower())
    if fn is None:
        raise BindError(f"unknown function {name}()" + suggest(name, list(SCALAR) +
                                                               list(AGGREGATES)))
    try:
        return fn(args)
    except IndexError:
        raise BindError(f"wrong number of arguments to {name}()") from None


def agg_type(func: str, t: pa.DataType) -> pa.DataType:
    """Result type of an aggregate over a column of type ``t`` (DuckDB's choices)."""
    if func in ("count", "count_star", "approx_count_distinct"):
        return pa.int64()
    if func == "sum":
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            return pa.int64() if not pa.types.is_unsigned_integer(t) else pa.uint64()
        if pa.types.is_decimal(t):
            return pa.decimal128(38, t.scale)
        if pa.types.is_floating(t):
            return pa.float64()
        raise SqlTypeError(f"sum is not defined for {sql_name(t)}")
    if func in ("avg", "stddev_samp", "stddev_pop", "var_samp", "var_pop", "product",
                "quantile_cont", "median"):
        if func in ("median", "quantile_cont") and is_temporal(t):
            return t
        if not is_numeric(t) and not pa.types.is_null(t):
            raise SqlTypeError(f"{func} is not defined for {sql_name(t)}")
        return pa.float64()
    if func in ("bool_and", "bool_or"):
        return pa.bool_()
    if func == "string_agg":
        return pa.string()
    if func == "list":
        return pa.list_(t)
    return t  # min, max, any_value, quantile_disc


def canonical_agg(name: str) -> str:
    return {"mean": "avg", "stddev": "stddev_samp", "variance": "var_samp", "every": "bool_and",
            "group_concat": "string_agg", "listagg": "string_agg", "first": "any_value",
            "arbitrary": "any_value", "array_agg": "list", "quantile": "quantile_disc"}.get(
                name, name)

