"""Bound scalar expressions: the typed IR between the binder and Arrow.

Every node carries its Arrow type, found by asking the real kernel (``call``) rather than
re-deriving Arrow's promotion rules, so binding fails exactly where execution would. Columns
are referred to by globally unique ids (``c17``), never by user names, which lets plans be
rearranged freely without name clashes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, TypeGuard

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ExecutionError, SqlTypeError
from .types import sql_name


class Expr:
    """Base class of bound expressions."""

    type: pa.DataType

    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        yield self
        for c in self.children():
            yield from c.walk()

    def col_ids(self) -> set[str]:
        return {e.id for e in self.walk() if isinstance(e, Col)}


@dataclass(eq=False)
class Col(Expr):
    id: str
    type: pa.DataType

    def __repr__(self) -> str:
        return self.id


@dataclass(eq=False)
class Lit(Expr):
    value: Any
    type: pa.DataType

    def __repr__(self) -> str:
        return repr(self.value)

    def scalar(self) -> pa.Scalar:
        return pa.scalar(self.value, type=self.type)


class ParamProbe:
    """Records whether binding looked at any parameter's value.

    A plan bound without looking is the same plan for every value of that type, so a prepared
    statement can keep it and substitute values per execution (``session.Prepared``).
    """

    read = False


class Param(Lit):
    """A statement parameter while binding a reusable plan: typed, its value per execution.

    It is a ``Lit`` so that every type rule applies to it, but ``call`` and ``cast`` never fold
    it, and reading ``value`` marks the plan as value-dependent (not reusable).
    """

    def __init__(self, index: int, value: Any, type: pa.DataType, probe: ParamProbe) -> None:
        self.index = index
        self._value = value
        self.type = type
        self._probe = probe

    @property  # type: ignore[override]
    def value(self) -> Any:
        self._probe.read = True
        return self._value

    @property
    def is_null(self) -> bool:
        """Whether the value is NULL, without marking the plan value-dependent: an optimised
        template is kept per NULL pattern of its values (``plancache.planned``)."""
        return self._value is None

    def __repr__(self) -> str:
        return f"${self.index}"


class VariableParam(Param):
    """A ``$name`` variable in a reusable plan: a parameter slot after the positional ones,
    filled with the variable's value per execution (a script's loop reuses the plan)."""

    def __init__(self, index: int, name: str, value: Any, type: pa.DataType,
                 probe: ParamProbe) -> None:
        super().__init__(index, value, type, probe)
        self.name = name

    def __repr__(self) -> str:
        return f"${self.name}"


class Hidden(Lit):
    """A value that must not show in a plan (a revealed secret, ``secrets/reveal.py``): it
    prints as the call that made it and is never folded into a literal that would print it."""

    def __init__(self, value: Any, type: pa.DataType, shown: str) -> None:
        self.value = value
        self.type = type
        self.shown = shown

    def __repr__(self) -> str:
        return self.shown


def is_const(e: Expr) -> TypeGuard[Lit]:
    """A literal whose value may be used now (not a per-execution parameter, not a hidden
    value)."""
    return isinstance(e, Lit) and not isinstance(e, Param | Hidden)


@dataclass(eq=False)
class Call(Expr):
    fn: str
    args: tuple[Expr, ...]
    options: Any
    type: pa.DataType

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __repr__(self) -> str:
        return f"{self.fn}({', '.join(map(repr, self.args))})"


@dataclass(eq=False)
class SubqueryValue(Expr):
    """An uncorrelated subquery, evaluated once before the query runs.

    ``kind`` is ``scalar`` (one value), ``exists`` (bool) or ``set`` (its distinct values, for
    ``x IN (SELECT ...)`` in positions that cannot become a semi-join).
    """

    plan: Any
    kind: str
    type: pa.DataType
    out_id: str = ""
    key: int = field(default_factory=lambda: next(_subquery_ids))

    def __repr__(self) -> str:
        return f"<{self.kind} subquery #{self.key}>"


_subquery_ids = itertools.count(1)


def lit(value: Any, type: pa.DataType | None = None) -> Lit:
    if type is None:
        type = pa.scalar(value).type if value is not None else pa.null()
    return Lit(value, type)


def infer_type(fn: str, arg_types: list[pa.DataType], options: Any = None) -> pa.DataType:
    """Output type of ``fn`` by running the kernel on empty inputs (cheap, and exact)."""
    arrays = [pa.array([], type=t) for t in arg_types]
    return pc.call_function(fn, arrays, options).type


def _no_kernel(e: Exception) -> bool:
    """Whether Arrow's error only says it has no kernel (or cast) for these types: the
    types named in SQL's words are the whole message then."""
    return "no kernel" in str(e) or str(e).startswith("Unsupported cast")


def call(fn: str, args: list[Expr] | tuple[Expr, ...], options: Any = None,
         what: str | None = None) -> Expr:
    """A typed call; folds it to a literal when every argument is a literal."""
    args = tuple(args)
    try:
        t = infer_type(fn, [a.type for a in args], options)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid) as e:
        if str(e).startswith("Invalid regular expression"):  # not the operands' types
            raise ExecutionError(f"{what or fn}: {str(e)[0].lower()}{str(e)[1:]}") from None
        shown = ", ".join(sql_name(a.type) for a in args)
        raise SqlTypeError(
            f"{what or fn} is not defined for operand types ({shown})"
            + ("" if _no_kernel(e) else f": {e}")) from None
    if args and all(is_const(a) for a in args):
        try:
            value = pc.call_function(fn, [a.scalar() for a in args], options)
        except pa.ArrowException:
            # leave it to run time: an unreached CASE branch must not fail
            return Call(fn, args, options, t)
        if isinstance(value, pa.Array):
            return Lit(value, value.type)
        try:
            return Lit(value.as_py(), value.type)
        except (OverflowError, ValueError):  # a date past Python's (year 10000 or more)
            return Call(fn, args, options, t)
    return Call(fn, args, options, t)


def cast(e: Expr, to: pa.DataType, safe: bool = True) -> Expr:
    if e.type == to:
        return e
    if is_const(e) and e.value is None:
        return Lit(None, to)
    if is_const(e) and pa.types.is_decimal(to) and isinstance(e.value, (int, Decimal)) \
            and not isinstance(e.value, bool):
        with localcontext() as ctx:
            ctx.prec = 80  # 38 digits at any scale: the default 28 refuses DECIMAL(38, 35)
            v = Decimal(e.value).quantize(Decimal(1).scaleb(-to.scale), ROUND_HALF_UP)
        if len(v.as_tuple().digits) > to.precision:
            raise ExecutionError(f"{e.value} does not fit in {sql_name(to)}")
        return Lit(v, to)
    if is_text(to) and (pa.types.is_timestamp(e.type) and e.type.tz is None
                        or pa.types.is_time(e.type)) and e.type.unit != "s":
        # Arrow writes every fractional digit of the unit ('00:00:00.500000'); SQL's text
        # (DuckDB's) drops the zeros at the end, and the point with them ('00:00:00.5')
        return call("replace_substring_regex", [call("cast", [e], pc.CastOptions(to))],
                    pc.ReplaceSubstringOptions(r"\.?0+$", ""))
    if is_text(to) and pa.types.is_decimal(e.type) and e.type.scale > 6:
        return decimal_text(e, to)
    if is_text(to) and pa.types.is_interval(e.type):  # (Arrow's cast has none)
        from .functions.interval_text import interval_to_text  # (functions build on this)

        return call("cast", [interval_to_text(e)], pc.CastOptions(to))
    if to == pa.float32() and pa.types.is_decimal(e.type):
        if is_const(e):
            return Lit(nearest_float32(Decimal(e.value)), to)
        e = call("cast", [e], pc.CastOptions(pa.float64()))  # Arrow's direct cast misrounds
    if is_text(e.type) and not is_text(to) and not pa.types.is_binary(to):
        e = _text_source(e, to)
        if e.type == to:
            return e
        if pa.types.is_decimal(to) and to.scale < 38:
            # one digit more than the target keeps, to round on below ('9.99' is 10 as a
            # DECIMAL(2, 0); Arrow's cast of the text would truncate it to 9)
            wide = pa.decimal256(76, to.scale + 1)
            e = call("cast", [e], pc.CastOptions(wide, allow_decimal_truncate=True),
                     what=f"CAST to {sql_name(to)}")
    if pa.types.is_integer(to) and (pa.types.is_floating(e.type) or pa.types.is_decimal(e.type)):
        mode = "half_to_even" if pa.types.is_floating(e.type) else "half_towards_infinity"
        e = call("round", [headroom(e)], pc.RoundOptions(0, mode))  # SQL rounds (as DuckDB)
    if pa.types.is_decimal(to) and pa.types.is_integer(e.type):
        e = call("cast", [e], pc.CastOptions(pa.decimal128(38, to.scale)))
    if pa.types.is_decimal(to) and pa.types.is_floating(e.type):
        # round half away from zero at the target scale, on the scaled value (as DuckDB)
        scale = 10.0 ** to.scale
        e = call("multiply", [e, Lit(scale, pa.float64())]) if e.type == pa.float64() else \
            call("multiply", [call("cast", [e], pc.CastOptions(pa.float64())),
                              Lit(scale, pa.float64())])
        e = call("round", [e], pc.RoundOptions(0, "half_towards_infinity"))
        e = call("round", [call("divide", [e, Lit(scale, pa.float64())])],
                 pc.RoundOptions(to.scale, "half_towards_infinity"))
    if pa.types.is_decimal(to) and pa.types.is_decimal(e.type) and to.scale < e.type.scale:
        # to fewer decimals: round half away from zero (Arrow's cast truncates 1.005 to 1.00),
        # with a digit of headroom for a carry (99.995 -> 100.00)
        e = call("round", [headroom(e)], pc.RoundOptions(to.scale, "half_towards_infinity"))
    # a float is rounded above: what truncation could lose now is a value out of the
    # integer's range (inf, NaN, 1e300), which must fail, not become its least value; a
    # decimal, rounded to the target's scale, must fit its precision (10**18 AS DECIMAL(18,3))
    exact = pa.types.is_floating(e.type) and pa.types.is_integer(to)
    fits = pa.types.is_decimal(to) and (pa.types.is_decimal(e.type) or  # (rounded above)
                                        pa.types.is_floating(e.type))
    return call("cast", [e], pc.CastOptions(to, allow_int_overflow=not safe,
                                            allow_decimal_truncate=not fits,
                                            allow_float_truncate=not exact),
                what=f"CAST to {sql_name(to)}")


def _text_source(e: Expr, to: pa.DataType) -> Expr:
    """Text to be cast to ``to``, in the forms Arrow's cast reads (or, where Arrow has no
    cast, such as to TIME, already cast): PostgreSQL and DuckDB read ' 12 ', '+12',
    '1900-1-1' and a timestamp with a zone offset, which Arrow refuses."""
    if pa.types.is_time(to):
        from .functions.times import time_from_text  # (functions build on this module)

        return time_from_text(e, to)
    if pa.types.is_interval(to):
        from .functions.interval_text import interval_from_text

        return interval_from_text(e)
    e = call("utf8_trim_whitespace", [e])
    if pa.types.is_integer(to) or pa.types.is_decimal(to):
        e = call("replace_substring_regex", [e], pc.ReplaceSubstringOptions(r"^\+", ""))
    if pa.types.is_integer(to) and to.bit_width < 64:
        e = _hex_as_decimal(e)
    if pa.types.is_timestamp(to) and to.tz is None:  # a zone offset or Z is dropped
        e = call("replace_substring_regex", [e], pc.ReplaceSubstringOptions(
            r"(\d:\d\d(?::\d\d(?:\.\d*)?)?)\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)$", r"\1"))
    if pa.types.is_date(to) or pa.types.is_timestamp(to):
        e = _short_date_parts(e)
    return e


def _short_date_parts(e: Expr) -> Expr:
    """A date's one-digit month or day written with two ('1900-1-1' is '1900-01-01')."""
    for pattern, written in ((r"^(\d{4})-(\d)([^\d]|$)", r"\1-0\2\3"),
                             (r"^(\d{4}-\d\d)-(\d)([^\d]|$)", r"\1-0\2\3")):
        e = call("replace_substring_regex", [e], pc.ReplaceSubstringOptions(pattern, written))
    return e


def _hex_as_decimal(e: Expr) -> Expr:
    """Hexadecimal texts ('0x80') written in decimal ('128'): Arrow's cast to a narrow
    integer wraps them (-128 as a TINYINT); in decimal they are range-checked."""
    hexa = call("match_substring_regex", [e], pc.MatchSubstringOptions(r"^[+-]?0[xX]"))
    wide = call("cast", [call("if_else", [hexa, e, Lit(None, e.type)])],
                pc.CastOptions(pa.int64()))
    return call("if_else", [hexa, call("cast", [wide], pc.CastOptions(e.type)), e])


def decimal_text(e: Expr, to: pa.DataType) -> Expr:
    """A decimal as SQL writes it, every digit of its scale after the point. Arrow writes a
    value under 1e-6 in scientific notation ('0E-10', '1.200E-7'); such a text's digits,
    padded to the scale, are the fraction of a plain '0.<digits>'."""
    text = call("cast", [e], pc.CastOptions(to))
    digits = call("replace_substring_regex", [text],
                  pc.ReplaceSubstringOptions(r"^-?(\d)\.?(\d*)E-\d+$", r"\1\2"))
    plain = call("binary_join_element_wise", [
        call("replace_substring_regex", [text], pc.ReplaceSubstringOptions(r"^(-?).*$", r"\1")),
        Lit("0.", to), call("utf8_lpad", [digits], pc.PadOptions(e.type.scale, "0")),
        Lit("", to)])
    scientific = call("match_substring", [text], pc.MatchSubstringOptions("E"))
    return call("if_else", [scientific, plain, text])


def nearest_float32(d: Decimal) -> float:
    """The FLOAT (float32) nearest to ``d``, ties to even: SQL's value of a decimal literal
    stored in or compared with a FLOAT. (Arrow's decimal-to-float32 cast divides in float32
    and is off by an ulp: 89.2 became 89.20000457763672, not 89.19999694824219.)"""
    with np.errstate(over="ignore"):
        f = np.float32(float(d))
    if not np.isfinite(f):
        return float(f)
    with localcontext() as ctx:
        ctx.prec = 1100  # exact for every float32 and the literal

        def key(x: np.float32) -> tuple:
            return abs(Decimal(float(x)) - d), int(np.array(x).view(np.uint32)) & 1

        return float(min((np.nextafter(f, np.float32(-np.inf)), f,
                          np.nextafter(f, np.float32(np.inf))), key=key))


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def headroom(e: Expr) -> Expr:
    """A decimal with one more digit of precision (exact) to round in: rounding 99999999.99
    up gives 100000000.00, a digit more than DECIMAL(10,2) holds, and Arrow's ceil, floor
    and round return 0 for a result that leaves the precision instead of raising. Any
    other value as it is."""
    t = e.type
    if pa.types.is_decimal(t) and t.precision < 38:
        return call("cast", [e], pc.CastOptions(pa.decimal128(t.precision + 1, t.scale)))
    return e


def cast_array(a: pa.Array | pa.ChunkedArray, to: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """``a`` cast to ``to`` as ``cast`` does for an expression (DECIMAL to FLOAT through
    DOUBLE: Arrow's direct cast misrounds)."""
    if to == pa.float32() and pa.types.is_decimal(a.type):
        a = a.cast(pa.float64())
    return a.cast(to)


def to_arrow(e: Expr, resolve: Callable[[Expr], Expr] | None = None) -> pc.Expression:
    """Compile to a ``pyarrow.compute.Expression`` over columns named by id."""
    if resolve is not None:
        e = resolve(e)
    if isinstance(e, Col):
        return pc.field(e.id)
    if isinstance(e, Lit):
        return pc.scalar(e.scalar())
    if isinstance(e, Call):
        return pc.Expression._call(e.fn, [to_arrow(a, resolve) for a in e.args], e.options)
    raise TypeError(f"cannot compile {e!r}")  # pragma: no cover


def repeated(value: pa.Scalar, n: int) -> pa.Array:
    """``value`` ``n`` times (Arrow's ``repeat`` of a nested value fails for n = 0)."""
    return pa.repeat(value, n) if n else pa.array([], value.type)


def volatile(e: Expr) -> bool:
    """Whether ``e`` calls a function whose value is new on every row (random(); their
    kernels are named ``volatile_...``, ``functions/random_values.py``): it must be computed
    once where it stands, never moved below a filter or copied."""
    if isinstance(e, Call):
        return e.fn.startswith("kodiak_volatile_") or any(volatile(a) for a in e.args)
    return False


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace column references by the expressions ``mapping`` gives for their ids."""
    if isinstance(e, Col):
        return mapping.get(e.id, e)
    if isinstance(e, Call):
        args = tuple(substitute(a, mapping) for a in e.args)
        if all(a is b for a, b in zip(args, e.args, strict=True)):
            return e
        return Call(e.fn, args, e.options, e.type)
    return e


def fold(e: Expr) -> Expr:
    """Evaluate calls whose arguments are (after folding) all literals."""
    if isinstance(e, Call) and not isinstance(e.options, SubqueryValue):
        args = [fold(a) for a in e.args]
        if all(is_const(a) for a in args):
            try:
                return call(e.fn, args, e.options)
            except Exception:
                return e
        return Call(e.fn, tuple(args), e.options, e.type)
    return e


def conjuncts(e: Expr | None) -> list[Expr]:
    if e is None:
        return []
    if isinstance(e, Call) and e.fn == "and_kleene":
        return [c for a in e.args for c in conjuncts(a)]
    return [e]


def and_all(parts: list[Expr]) -> Expr | None:
    out: Expr | None = None
    for p in parts:
        out = p if out is None else Call("and_kleene", (out, p), None, pa.bool_())
    return out


def render(e: Expr) -> str:
    return repr(e)
