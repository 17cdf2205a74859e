"""Aggregations of decimals computed on their unscaled integers.

Arrow's ``decimal128`` arithmetic and sums go through 128-bit operations with overflow checks
in generic code: TPC-H Q1 spent about 40 % of its CPU in them (sums, products, the casts of
its charge to double). A decimal of precision <= 18 is an int64 unscaled value, and ``+``,
``-`` and ``*`` of such values are integer operations whose result scales are known, so an
aggregation whose sums, minima and maxima read such expressions can run on int64 columns:
each decimal column it reads gets an unscaled twin, made per batch from each value's low 64
bits (``Unscale``, placed over the scan and the filters that run on its batches), each
expression is rewritten over the twins, and the results are converted back at the end.

Exactness rests on int64 never overflowing, which the plan cannot know: ``IntegerDecimals``
keeps the original aggregation and, at execution, bounds every integer computed from the
bounds of the columns read in the snapshot being read (``Snapshot.column_bounds``: exact,
from segment statistics and the write buffer). The lowered aggregation runs only when no
intermediate value can leave int64 and every value cast to double stays under 2**53 (where
Arrow's decimal cast is the same multiplication by 10**-scale); its sums are kept only when
the largest group's row count times the summed values' bound stays under 2**63. Otherwise
the original runs (``executor/integer_decimals.py``).

The same alternative groups a string key whose sampled values are all one byte (flags such
as Q1's) by those bytes: a ``uint8`` view of the string array's data buffer, which Acero
hashes as a fixed-width value. Each batch is checked as it is coded; any other value sends
the work to the original aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ..binder.context import new_id
from ..expr import Call, Col, Expr, Lit, is_const
from ..plan import (
    AggCall,
    Aggregate,
    Filter,
    IntegerDecimals,
    Node,
    Project,
    SameColumns,
    Scan,
    Unscale,
)
from .cardinality import estimate
from .plan_copy import copy_plan
from .prune import prune
from .util import column_source, rewrite_aggregates

UNSCALED = "unscaled"  # the call an Unscale projection computes a decimal's twin with
BYTE_CODE = "byte_code"  # ... and a one-byte string key's
TWIN_TYPES = {UNSCALED: pa.int64(), BYTE_CODE: pa.uint8()}
PRECISION = 18  # decimals up to this precision hold int64 unscaled values
INT64_MAX = (1 << 63) - 1
EXACT_DOUBLE = 1 << 53  # integers a double holds exactly

ADD = {"add", "add_checked"}
SUBTRACT = {"subtract", "subtract_checked"}
MULTIPLY = {"multiply", "multiply_checked"}
NEGATE = {"negate", "negate_checked"}
LOWERED = ("sum", "min", "max")
# Aggregations expected to read fewer rows stay decimal: the twins cost tens of µs a batch
# in Python however few rows a batch keeps, more than 128-bit arithmetic on few rows (TPC-H
# Q6 and Q14, ~100 K rows after their filters: 3-5 ms slower lowered; Q1, 5.9 M: 15 % faster)
MIN_ROWS = 1_000_000


def integer_decimals(node: Node) -> Node:
    """The rule: every aggregation that sums (or takes the least or greatest of) decimal
    expressions it can compute on unscaled integers gets an ``IntegerDecimals`` alternative."""
    return rewrite_aggregates(node, lowered)


def small_decimal(t: pa.DataType) -> bool:
    """A column type whose values' low 64 bits are their unscaled integers."""
    return pa.types.is_decimal128(t) and t.precision <= PRECISION


def decimal(t: pa.DataType) -> bool:
    """A computed type an int64 can stand for (its values' bounds decide, at execution)."""
    return pa.types.is_decimal128(t)


@dataclass(frozen=True)
class Low:
    """An expression rewritten over twins: ``expr`` (int64 unscaled at ``scale``, or of the
    original's own type when ``scale`` is None) and, for an integer, its value over the
    leaf twins (``value``), which execution bounds."""

    expr: Expr
    scale: int | None
    value: Expr | None


def lowered(agg: Aggregate) -> IntegerDecimals | None:
    """``agg``'s alternative on unscaled integers, or None where nothing would change."""
    types = dict(agg.input.output)
    if not (any(lowerable_call(a, types) for a in agg.aggs) or
            any(types[k] in STRINGS for k in agg.keys)) or \
            estimate(agg.input) < MIN_ROWS or by_runs(agg, types):
        return None
    new = copy_plan(agg)
    assert isinstance(new, Aggregate)
    low = Lowering()
    aggs: list[AggCall] = []
    results: list[tuple[str, str]] = []
    values: dict[str, Expr] = {}
    for a in agg.aggs:
        got = low.column(new.input, a.arg) if lowerable_call(a, types) else None
        if got is None:
            aggs.append(a)
            continue
        assert isinstance(got.expr, Col)
        if got.scale is None:  # a double computed from twins: the same values
            aggs.append(AggCall(a.id, a.func, got.expr.id, a.type))
            continue
        if not pa.types.is_decimal(a.type) or got.scale != a.type.scale or got.value is None:
            aggs.append(a)
            continue
        lid = new_id()
        aggs.append(AggCall(lid, a.func, got.expr.id, pa.int64(), bounded=True))
        results.append((lid, a.id))
        low.checks.append((got.value, INT64_MAX))
        if a.func == "sum":
            values[got.expr.id] = got.value
    codes = [(tid, k) for k in agg.keys if (tid := low.key(new.input, k)) is not None]
    if not results and not low.checks and not codes:
        return None
    coded = {k: tid for tid, k in codes}
    new.keys = [coded.get(k, k) for k in agg.keys]
    aggs = [counted(a, low, new.input, types) for a in aggs]
    rows_id = next((a.id for a in aggs if a.func == "count_star"), "") if values else ""
    if values and not rows_id:
        rows_id = new_id()
        aggs.append(AggCall(rows_id, "count_star", None, pa.int64()))
    new.aggs = aggs
    low.place_unscales(new)
    prune(new, set(new.out_ids()))
    return IntegerDecimals(new, agg, results, low.leaves, low.checks, values, rows_id, codes)


def by_runs(agg: Aggregate, types: dict[str, pa.DataType]) -> bool:
    """The shape ``executor/runs.py`` folds in numpy when its key comes in runs (one integer
    key, plain decimal columns): it reads their low words itself, so twins only add a copy
    (TPC-H Q18's sum of ``l_quantity`` by ``l_orderkey``: 146 -> 180 ms lowered)."""
    if len(agg.keys) != 1 or not pa.types.is_integer(types[agg.keys[0]]):
        return False
    return all(column_source(agg.input, a.arg) is not None
               for a in agg.aggs if a.arg is not None and decimal(types[a.arg]))


def lowerable_call(a: AggCall, types: dict[str, pa.DataType]) -> bool:
    if a.func not in LOWERED or a.distinct or a.order or a.arg is None:
        return False
    t = types.get(a.arg)
    return t is not None and (decimal(t) or (a.func == "sum" and t == pa.float64()))


def counted(a: AggCall, low: Lowering, node: Node, types: dict[str, pa.DataType]) -> AggCall:
    """``count(x)`` of a decimal column whose twin exists already counts the twin (the same
    NULLs), so the decimal need not be carried for it."""
    if a.func != "count" or a.distinct or a.arg is None or not decimal(types[a.arg]):
        return a
    made = set(low.leaves)
    twin = low.column(node, a.arg)
    if twin is None or twin.scale is None or not (twin.value.col_ids() <= made):  # type: ignore[union-attr]
        return a  # (a twin made only for the count: pruned again)
    return AggCall(a.id, a.func, twin.expr.id, a.type)  # type: ignore[attr-defined]


class Lowering:
    """The twins made in one copied aggregation input: per (node, column id) the twin
    column, where ``Unscale`` projections go, and the bounds execution must check."""

    def __init__(self) -> None:
        self.made: dict[tuple[int, str], Low | None] = {}
        self.unscales: dict[int, list[tuple[str, str, str]]] = {}  # id -> (column, twin, call)
        self.keys: dict[tuple[int, str], str | None] = {}
        self.leaves: dict[str, tuple[str, str, int]] = {}
        self.checks: list[tuple[Expr, int]] = []

    def column(self, node: Node, cid: str) -> Low | None:
        """The twin of column ``cid`` of ``node``'s output (a column ``node`` now outputs)."""
        k = (id(node), cid)
        if k not in self.made:
            self.made[k] = self._column(node, cid)
        return self.made[k]

    def _column(self, node: Node, cid: str) -> Low | None:
        t = dict(node.output).get(cid)
        if t is None or not (decimal(t) or t == pa.float64()):
            return None
        if batch_leaf(node):
            return self.leaf(node, cid) if small_decimal(t) else None
        if isinstance(node, Project) and not isinstance(node, Unscale):
            e = dict(node.exprs)[cid]
            got = self.expr(node.input, e)
            if got is None:
                return None
            if isinstance(got.expr, Col):  # a rename: the twin below, passed on
                if got.expr.id not in dict(node.exprs):
                    node.exprs.append((got.expr.id, got.expr))
                return got
            tid = new_id()
            node.exprs.append((tid, got.expr))
            return Low(Col(tid, got.expr.type), got.scale, got.value)
        if isinstance(node, SameColumns):
            return self.column(node.input, cid)
        # Not through joins: twins made under one are made for every row it reads, however
        # few it keeps (TPC-H Q18's outer sum: 6 M lineitem rows for 399 joined ones)
        return None

    def leaf(self, node: Node, cid: str) -> Low | None:
        """A twin made by an ``Unscale`` over ``node`` (a scan, or filters on its batches)."""
        scan, source = scan_source(node, cid)
        if source is None:
            return None
        tid = new_id()
        self.unscales.setdefault(id(node), []).append((cid, tid, UNSCALED))
        t = dict(node.output)[cid]
        self.leaves[tid] = (scan.table, source, t.scale)
        return Low(Col(tid, pa.int64()), t.scale, Col(tid, pa.int64()))

    def key(self, node: Node, cid: str) -> str | None:
        """The one-byte code twin of string group key ``cid`` (a scan's column, renamed or
        filtered on the way) when the scan's sampled values are all one byte (flags); its
        batches are checked as they are coded (``executor/integer_decimals.py``)."""
        k = (id(node), cid)
        if k not in self.keys:
            self.keys[k] = self._key(node, cid)
        return self.keys[k]

    def _key(self, node: Node, cid: str) -> str | None:
        if dict(node.output).get(cid) not in STRINGS:
            return None
        if batch_leaf(node):
            scan, source = scan_source(node, cid)
            if source is None or scan.stats is None or not scan.stats.single_bytes(source):
                return None
            tid = new_id()
            self.unscales.setdefault(id(node), []).append((cid, tid, BYTE_CODE))
            return tid
        if isinstance(node, Project) and not isinstance(node, Unscale):
            e = dict(node.exprs)[cid]
            tid = self.key(node.input, e.id) if isinstance(e, Col) else None
            if tid is not None and tid not in dict(node.exprs):
                node.exprs.append((tid, Col(tid, pa.uint8())))
            return tid
        if isinstance(node, SameColumns):
            return self.key(node.input, cid)
        return None

    def expr(self, node: Node, e: Expr) -> Low | None:
        """``e`` (over ``node``'s columns) rewritten over twins, or None."""
        if isinstance(e, Col):
            return self.column(node, e.id)
        if is_const(e) and decimal(e.type) and e.value is not None:
            v = Decimal(e.value).scaleb(e.type.scale)
            if v != v.to_integral_value() or abs(v) > INT64_MAX:
                return None
            return Low(Lit(int(v), pa.int64()), e.type.scale, Lit(int(v), pa.int64()))
        if not isinstance(e, Call):
            return None
        if decimal(e.type):
            return self.decimal_call(node, e)
        if e.type == pa.float64():
            return self.double_call(node, e)
        return None

    def decimal_call(self, node: Node, e: Call) -> Low | None:
        args = [self.expr(node, a) for a in e.args]
        if any(a is None or a.scale is None for a in args):
            return None
        scale = e.type.scale
        if e.fn in ADD | SUBTRACT and len(args) == 2:
            x, y = (rescaled(a, scale) for a in args)  # type: ignore[arg-type]
            if x is None or y is None:
                return None
            fn = "add_checked" if e.fn in ADD else "subtract_checked"
            return self.made_int(fn, x, y, scale)
        if e.fn in MULTIPLY and len(args) == 2:
            x, y = args
            if x.scale + y.scale != scale:  # type: ignore[union-attr,operator]
                return None
            return self.made_int("multiply_checked", x, y, scale)  # type: ignore[arg-type]
        if e.fn in NEGATE and len(args) == 1:
            x = args[0]
            assert x is not None
            return Low(Call("negate_checked", (x.expr,), None, pa.int64()), scale,
                       Call("negate_checked", (x.value,), None, pa.int64()))  # type: ignore[arg-type]
        if e.fn == "cast" and len(args) == 1 and decimal(e.args[0].type):
            src = e.args[0].type
            if e.type.precision - scale < src.precision - src.scale:
                return None  # a cast that may overflow: Arrow's error stays Arrow's
            return rescaled(args[0], scale)  # type: ignore[arg-type]
        return None

    @staticmethod
    def made_int(fn: str, x: Low, y: Low, scale: int) -> Low:
        """(Execution bounds every call of a checked value, not only its root.)"""
        return Low(Call(fn, (x.expr, y.expr), None, pa.int64()), scale,
                   Call(fn, (x.value, y.value), None, pa.int64()))  # type: ignore[arg-type]

    def double_call(self, node: Node, e: Call) -> Low | None:
        """A double computed from decimals: the same double from their twins (Arrow casts a
        decimal to double as its unscaled integer times 10**-scale, which for integers
        under 2**53 is exactly the double of the integer times the same constant)."""
        if e.fn == "cast" and len(e.args) == 1 and decimal(e.args[0].type):
            x = self.expr(node, e.args[0])
            if x is None or x.scale is None:
                return None
            self.checks.append((x.value, EXACT_DOUBLE))  # type: ignore[arg-type]
            as_double = Call("cast", (x.expr,), pc.CastOptions(pa.float64()), pa.float64())
            return Low(Call("multiply", (as_double, Lit(10.0 ** -x.scale, pa.float64())),
                            None, pa.float64()), None, None)
        if e.fn not in ADD | SUBTRACT | MULTIPLY | NEGATE:
            return None
        args = []
        for a in e.args:
            got = self.expr(node, a) if a.type == pa.float64() else None
            if got is not None and got.scale is not None:
                return None
            args.append(got.expr if got is not None else a)
        if all(x is y for x, y in zip(args, e.args, strict=True)):
            return None  # nothing computed from twins (the other arguments stay as they are)
        return Low(Call(e.fn, tuple(args), e.options, e.type), None, None)

    def place_unscales(self, root: Node) -> None:
        """Put each ``Unscale`` over the node its twins come from."""
        stack = [root]
        while stack:
            n = stack.pop()
            for attr in ("input", "left", "right"):
                child = getattr(n, attr, None)
                if isinstance(child, Node) and id(child) in self.unscales:
                    pairs = self.unscales.pop(id(child))
                    exprs: list[tuple[str, Expr]] = [(i, Col(i, t)) for i, t in child.output]
                    exprs += [(tid, Call(fn, (Col(cid, dict(child.output)[cid]),), None,
                                         TWIN_TYPES[fn])) for cid, tid, fn in pairs]
                    setattr(n, attr, Unscale(child, exprs))
            stack.extend(n.children())


STRINGS = (pa.string(), pa.large_string())


def rescaled(x: Low, scale: int) -> Low | None:
    """``x`` at a scale not below its own (times a power of ten)."""
    assert x.scale is not None
    if scale < x.scale:
        return None
    if scale == x.scale:
        return x
    k = Lit(10 ** (scale - x.scale), pa.int64())
    if isinstance(x.expr, Lit):
        if abs(x.expr.value * k.value) > INT64_MAX:
            return None
        v = Lit(x.expr.value * k.value, pa.int64())
        return Low(v, scale, v)
    return Low(Call("multiply_checked", (x.expr, k), None, pa.int64()), scale,
               Call("multiply_checked", (x.value, k), None, pa.int64()))  # type: ignore[arg-type]


def scan_source(node: Node, cid: str) -> tuple[Scan, str | None]:
    """The scan under ``node`` (filters on its batches, or itself) and the table column its
    column ``cid`` reads (None: one it computes)."""
    while isinstance(node, Filter):
        node = node.input
    assert isinstance(node, Scan)
    return node, {i: s for s, i, _ in node.columns}.get(cid)


def batch_leaf(node: Node) -> bool:
    """A scan, or filters on one: where the twins are made, from the batches read."""
    while isinstance(node, Filter):
        node = node.input
    return isinstance(node, Scan)
