"""Operators: comparisons, arithmetic, AND/OR/NOT, CASE, COALESCE and IN lists, with SQL's
implicit casts (``coerce_literal``, ``unify``). The binder calls these directly for operator
syntax; they are not named functions, so they are not in the registry (the functions built
on them, ``coalesce``, ``nullif``, ``mod``..., register in their family's module).

Arrow evaluates every row of an expression; SQL only the rows that reach it. ``guard`` keeps
the difference from raising "division by zero" on rows a CASE branch, an AND/OR operand or a
COALESCE argument never sees.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError, NotSupportedError, SqlTypeError
from ..expr import Call, Expr, Lit, Param, call, cast, is_const, lit
from ..types import common_type, float_type, holds, is_numeric, is_string, is_temporal, sql_name
from . import durations, interval_parts
from .dates import add_days, add_interval

# ---------------------------------------------------------------------------- coercion


def is_null_literal(e: Expr) -> bool:
    return is_const(e) and e.value is None


def coerce_literal(e: Expr, to: pa.DataType) -> Expr:
    """Cast a string literal to ``to`` as SQL does for ``date_col = '1998-01-01'``."""
    if isinstance(e, Lit) and is_string(e.type) and not is_string(to):
        return cast(e, to)
    return e


def fit_int_literal(e: Expr, to: Expr) -> Expr:
    """An integer literal compared with a narrower integer expression, as that expression's
    type when it holds the value: ``smallint_col = 0`` then compares the column's own
    values instead of widening every row to INTEGER first, and the scan can take it as an
    engine predicate (batch statistics, no cast). A parameter is left as it is: its value
    comes per execution."""
    if type(e) is not Lit or isinstance(to, Lit) or e.value is None or e.type == to.type:
        return e
    if not (pa.types.is_integer(e.type) and pa.types.is_integer(to.type)) or \
            isinstance(e.value, bool):
        return e
    return Lit(e.value, to.type) if holds(to.type, e.value) else e


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


def narrow_int_literal(e: Expr) -> Expr:
    """An integer literal as the narrowest decimal holding it (for decimal arithmetic)."""
    if isinstance(e, Lit) and pa.types.is_integer(e.type) and e.value is not None:
        return Lit(Decimal(e.value), pa.decimal128(max(1, len(str(abs(e.value)))), 0))
    return e


OPERATOR_NAMES = {"equal": "=", "not_equal": "<>", "less": "<", "less_equal": "<=",
                  "greater": ">", "greater_equal": ">=", "add_checked": "+",
                  "subtract_checked": "-", "multiply_checked": "*", "divide": "/",
                  "modulo": "%"}


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """``a op b`` for op in equal/not_equal/less/... after SQL's implicit casts."""
    if is_null_literal(a) or is_null_literal(b) or pa.types.is_null(a.type) or \
            pa.types.is_null(b.type):
        return Lit(None, pa.bool_())  # anything compared with NULL is NULL
    a, b = coerce_literal(a, b.type), coerce_literal(b, a.type)
    a, b = fit_int_literal(a, b), fit_int_literal(b, a)
    what = f"comparison {OPERATOR_NAMES.get(op, op)}"
    if pa.types.is_duration(a.type) or pa.types.is_duration(b.type):
        a, b = durations.comparable(a, b)
    if pa.types.is_interval(a.type) and pa.types.is_interval(b.type):
        return interval_parts.compare(op, a, b)
    if a.type != b.type:
        if pa.types.is_decimal(a.type) or pa.types.is_decimal(b.type):
            a, b = narrow_int_literal(a), narrow_int_literal(b)
        t = common_type(a.type, b.type, what)
        a, b = cast(a, t), cast(b, t)
    return call(op, [a, b], what=what)


# ---------------------------------------------------------------------------- arithmetic


def _temporal(op: str, a: Expr, b: Expr) -> Expr | None:
    """``date/timestamp +- interval``, ``date +- integer``, ``date - date``; else None."""
    ta, tb = a.type, b.type
    if pa.types.is_interval(tb) and is_temporal(ta):
        return add_interval("add" if op == "+" else "sub", a, b)
    if pa.types.is_interval(ta) and is_temporal(tb) and op == "+":
        return add_interval("add", b, a)
    if pa.types.is_date(ta) and pa.types.is_integer(tb):
        return add_days(a, b if op == "+" else call("negate_checked", [b]))
    if pa.types.is_date(ta) and pa.types.is_date(tb) and op == "-":
        return call("subtract_checked", [cast(cast(a, pa.int32()), pa.int64()),
                                         cast(cast(b, pa.int32()), pa.int64())])
    return None


def _decimal_operands(op: str, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """Decimal arithmetic stays exact while the result fits 38 digits, else goes float."""
    if pa.types.is_floating(a.type) or pa.types.is_floating(b.type):
        t = float_type(a.type, b.type)
        return cast(a, t), cast(b, t)
    a, b = narrow_int_literal(a), narrow_int_literal(b)
    a = cast(a, pa.decimal128(19, 0)) if pa.types.is_integer(a.type) else a
    b = cast(b, pa.decimal128(19, 0)) if pa.types.is_integer(b.type) else b
    pa_, pb = a.type, b.type
    if op == "*":
        prec = pa_.precision + pb.precision + 1
    else:
        prec = max(pa_.precision - pa_.scale, pb.precision - pb.scale) + \
            max(pa_.scale, pb.scale) + 1
    if prec > 38:
        return cast(a, pa.float64()), cast(b, pa.float64())
    return a, b


def _remainder(a: Expr, b: Expr) -> Expr:
    """SQL's remainder takes the dividend's sign (truncated division)."""
    if pa.types.is_floating(a.type):  # IEEE fmod: x % 0 is NaN
        q = call("trunc", [call("divide", [a, b], what="%")])
        return call("subtract", [a, call("multiply", [q, b])], what="%")
    q = call("divide_checked", [a, b], what="%")  # zero divisor: error
    if not pa.types.is_integer(q.type):
        q = call("trunc", [q])
    return call("subtract_checked", [a, call("multiply_checked", [q, b])], what="%")


def _decimal_remainder(a: Expr, b: Expr) -> Expr | None:
    """``a % b`` of decimals on their unscaled BIGINTs at the larger scale, where they fit
    18 digits (the quotient's decimal, at Arrow's scale for division, leaves 38 digits
    when multiplied back); a DECIMAL of that scale. None where they do not fit."""
    ta, tb = (_as_decimal_type(x.type) for x in (a, b))
    scale = max(ta.scale, tb.scale)
    whole = max(ta.precision - ta.scale, tb.precision - tb.scale)
    if whole + scale > 18:
        return None
    wide = pa.decimal128(whole + scale, scale)
    power = Lit(10 ** scale, pa.decimal128(scale + 1, 0))
    unscaled = [call("cast", [call("multiply_checked", [cast(x, wide), power])],
                     pc.CastOptions(pa.int64())) for x in (a, b)]
    q = call("divide_checked", unscaled, what="%")  # (integers: truncated; 0 is an error)
    r = call("subtract_checked", [unscaled[0], call("multiply_checked", [q, unscaled[1]])])
    return cast(call("divide", [cast(r, pa.decimal128(18, 0)), power]), wide)


def _constant_remainder(a: Lit, b: Lit) -> Lit:
    """``a % b`` of two constants, exactly, with the dividend's sign."""
    if a.value is None or b.value is None:
        return Lit(None, pa.decimal128(38, max(_as_decimal_type(a.type).scale,
                                               _as_decimal_type(b.type).scale)))
    if b.value == 0:
        raise ExecutionError("division by zero")
    with localcontext() as ctx:
        ctx.prec = 80
        r = Decimal(a.value) % Decimal(b.value)  # (Decimal's % keeps the dividend's sign)
    scale = max(0, -r.as_tuple().exponent)
    return Lit(r, pa.decimal128(min(38, max(len(r.as_tuple().digits), scale, 1)), scale))


def _as_decimal_type(t: pa.DataType) -> pa.DataType:
    """The DECIMAL holding every value of an integer type (``t`` itself if a DECIMAL)."""
    if pa.types.is_decimal(t):
        return t
    return pa.decimal128(len(str(2 ** t.bit_width)) if t.bit_width < 64 else 20, 0)


def arith(op: str, a: Expr, b: Expr) -> Expr:
    """Arithmetic with DuckDB's result types (``/`` is true division, decimals stay exact)."""
    name = {"+": "add_checked", "-": "subtract_checked", "*": "multiply_checked",
            "/": "divide", "//": "divide", "%": "modulo"}[op]
    a, b = coerce_literal(a, b.type), coerce_literal(b, a.type)
    ta, tb = a.type, b.type
    if op in "+-" and (is_temporal(ta) or is_temporal(tb) or pa.types.is_interval(ta)
                       or pa.types.is_interval(tb)):
        out = _temporal(op, a, b)
        if out is not None:
            return out
    elapsed = durations.arith(op, a, b)
    if elapsed is not None:
        return elapsed
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
    if op == "%" and (pa.types.is_decimal(ta) or pa.types.is_decimal(tb)) and \
            not (pa.types.is_floating(ta) or pa.types.is_floating(tb)):
        exact = _decimal_remainder(narrow_int_literal(a), narrow_int_literal(b))
        if exact is not None:
            return exact
        if isinstance(a, Lit) and isinstance(b, Lit):  # (Python's decimals: exact)
            return _constant_remainder(a, b)
        raise NotSupportedError("% of DECIMAL values of more than 18 digits is not "
                                "supported (it would not be exact)")
    if pa.types.is_decimal(ta) or pa.types.is_decimal(tb):
        a, b = _decimal_operands(op, a, b)
    elif ta != tb:
        t = common_type(ta, tb)
        a, b = cast(a, t), cast(b, t)
    if op == "%":
        return _remainder(a, b)
    return call(name, [a, b], what=op)


def can_raise(e: Expr) -> bool:
    """Whether evaluating ``e`` may raise for some row: checked arithmetic (overflow,
    division by zero, a domain error) or a cast that can fail."""
    return any(isinstance(x, Call) and raises(x) for x in e.walk())


def raises(x: Call) -> bool:
    """Whether the call ``x`` itself may raise on some input values."""
    if x.fn.endswith("_checked") or x.fn == "strptime":
        return True
    return x.fn == "cast" and cast_can_fail(x.args[0].type, x.type)


def cast_can_fail(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether a cast from ``src`` to ``dst`` can fail for some value (overflow, a string
    that is no value of ``dst``...); widening casts cannot."""
    if src == dst or pa.types.is_null(src) or is_string(dst):
        return False
    if pa.types.is_integer(src) and pa.types.is_integer(dst):
        signed_src, signed_dst = pa.types.is_signed_integer(src), pa.types.is_signed_integer(dst)
        if signed_src == signed_dst:
            return dst.bit_width < src.bit_width
        return signed_src or dst.bit_width <= src.bit_width
    if (pa.types.is_integer(src) or pa.types.is_floating(src) or pa.types.is_decimal(src)) \
            and pa.types.is_floating(dst):
        return False  # a decimal128 (< 1e38) fits even a float32
    if pa.types.is_decimal(dst) and (pa.types.is_decimal(src) or pa.types.is_integer(src)):
        return not _decimal_widens(src, dst)
    return not (pa.types.is_date(src) and pa.types.is_timestamp(dst))


_INT_DIGITS = {8: 3, 16: 5, 32: 10, 64: 20}


def _decimal_widens(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether every value of integer or decimal ``src`` fits decimal ``dst`` exactly."""
    whole, scale = (_INT_DIGITS[src.bit_width], 0) if pa.types.is_integer(src) \
        else (src.precision - src.scale, src.scale)
    return dst.scale >= scale and dst.precision - dst.scale >= whole


def guard(e: Expr, needed: Expr) -> Expr:
    """``e`` evaluated only where ``needed`` holds, as far as errors go: the operands of
    every call that can raise (checked arithmetic, casts that can fail) become NULL where
    ``needed`` is false, so rows a CASE branch, an AND/OR operand or a COALESCE argument
    does not reach cannot raise "overflow" or "division by zero" (Arrow evaluates every row;
    SQL evaluates only the rows that reach an expression). Those rows' values are unused."""
    if not can_raise(e):
        return e
    g = call("coalesce", [needed, lit(False)]) if not isinstance(needed, Lit) else needed
    if isinstance(g, Lit) and g.value:
        return e

    def masked(a: Expr) -> Expr:
        if isinstance(g, Lit):
            return Lit(None, a.type)
        return Call("if_else", (g, a, Lit(None, a.type)), None, a.type)

    def rec(x: Expr) -> Expr:
        if not isinstance(x, Call):
            return x
        args = [rec(a) for a in x.args]
        if raises(x):
            args = [masked(a) for a in args]
        return Call(x.fn, tuple(args), x.options, x.type)
    return rec(e)


# ---------------------------------------------------------------------------- logic


def as_condition(e: Expr) -> Expr:
    if pa.types.is_boolean(e.type):
        return e
    if pa.types.is_null(e.type):
        return Lit(None, pa.bool_())
    if isinstance(e, Lit) and is_string(e.type):
        return cast(e, pa.bool_())
    raise SqlTypeError(f"expected a BOOLEAN condition, got {sql_name(e.type)}")


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


def case_when(conds: list[Expr], values: list[Expr], default: Expr | None) -> Expr:
    vals = unify(values + ([default] if default is not None else [lit(None)]), "CASE branches")
    if pa.types.is_null(vals[0].type):
        vals = [cast(v, pa.int32()) for v in vals]
    conds = [as_condition(c) for c in conds]
    if any(can_raise(v) for v in vals):
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
    if any(can_raise(x) for x in args[1:]):
        out = [args[0]]
        for x in args[1:]:  # later arguments only matter where the earlier ones are NULL
            before = call("is_null", [out[0]])
            for y in out[1:]:
                before = call("and_kleene", [before, call("is_null", [y])])
            out.append(guard(x, before))
        args = out
    return call("coalesce", args, what="COALESCE")


# Up to this many parameters an IN list binds as equalities, its values not read, so a
# prepared statement keeps one plan for every value; a longer list is read per execution.
MAX_PARAM_IN = 64


def in_list(x: Expr, items: list[Expr]) -> Expr:
    if not items:  # x IN (): no value to find, so false even for a NULL x (as SQLite)
        return Lit(False, pa.bool_())
    if is_null_literal(x) or pa.types.is_null(x.type):
        return Lit(None, pa.bool_())
    vals = unify([x, *(fit_int_literal(i, x) for i in items)], "IN list")
    x, items = vals[0], vals[1:]
    params = any(isinstance(i, Param) for i in items)
    if all(isinstance(i, Lit) for i in items) and (not params or len(items) > MAX_PARAM_IN):
        values = pa.array([i.value for i in items if i.value is not None], type=x.type)
        res = call("is_in", [x], pc.SetLookupOptions(values, skip_nulls=True), what="IN")
        if not isinstance(res, Lit):
            res._values = tuple(values.to_pylist())  # type: ignore[attr-defined]
        if any(i.value is None for i in items):  # x IN (.., NULL) is NULL when not found
            res = call("if_else", [res, lit(True), Lit(None, pa.bool_())])
        return call("if_else", [call("is_null", [x]), Lit(None, pa.bool_()), res]) \
            if not isinstance(res, Lit) else res
    return any_equal(x, items)


def any_equal(x: Expr, items: list[Expr]) -> Expr:
    """``x = i1 OR x = i2 OR ...`` as a balanced tree (a long list nests shallowly); the
    engine takes it as an IN when the items are values (``engine_predicates.one_in``)."""
    if len(items) == 1:
        return compare("equal", x, items[0])
    half = len(items) // 2
    return or_(any_equal(x, items[:half]), any_equal(x, items[half:]))

