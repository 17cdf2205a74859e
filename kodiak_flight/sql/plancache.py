"""Reusable plans for prepared statements.

Binding is most of the cost of a small prepared query (a primary-key lookup binds for about
half a millisecond and runs for less). A prepared statement therefore binds once per
parameter types with its parameters as ``Param`` nodes, keeps that *template*, and per
execution copies it with the values put in (``instantiate``), then optimises and runs the
copy as usual, so pushdown and B+ tree lookups see ordinary literals.

A template is kept only when binding never looked at a parameter's value (``ParamProbe``)
and fixed nothing at bind time (``now()``), and it is used only while the catalog and the
stored views are the ones it was bound against and the session's current schema is the same.

A kept template without parameters (a query text run again, ``Session.execute``) keeps its
optimised plan; one with joins keeps it with the row counts of the tables it scans, the one
input of its join order that changes, and reuses it while they are the same (``reused``).

A kept template without joins also keeps its *optimised* form (``planned``): the optimiser
runs once over a copy whose parameters are still ``Param`` nodes (an engine predicate then
holds the ``Param`` as its value), and later executions only copy that plan with the values
put in, the engine predicates' included: no optimising per execution (a point lookup's
instantiate and optimise were ~120 µs of its ~500 µs in the server). It is kept only when
the optimiser never read a parameter's value (the same ``ParamProbe``: a range's selectivity
reads it, so a range query is optimised per execution as before), per which parameters are
NULL (a NULL is never pushed into the engine), and when that plan with the first values put in
is the plan the usual path made of them (same operators and labels, no parameter left,
no subquery or shared CTE, whose plans the labels do not show).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from engine import predicate as P

from . import origins
from .expr import Call, Expr, Lit, Param, ParamProbe, SubqueryValue, is_const
from .optimizer import optimize
from .plan import Join, Node, Scan, Shared
from .types import holds, normalize

MAX_OPTIMIZED = 8  # optimised forms kept per template (one per NULL pattern of the values)


@dataclass
class Template:
    plan: Node
    names: list[str]
    catalog_key: tuple[int, int]  # (catalog version, function generation) it was bound at
    schema: str
    joins: bool = False  # whether row estimates steer its plan (join order, index joins)
    variables: list[str] = dataclasses.field(default_factory=list)  # slots after the params
    kept: bool = False  # kept for reuse (else bound for one execution: volatile)
    # the result fields (names, origins) by output types: the same for every execution
    fields: dict[tuple[pa.DataType, ...], list[pa.Field]] = dataclasses.field(
        default_factory=dict)
    # the optimised plan with its parameters in, by which values are NULL; None: the
    # optimiser reads values (or the check failed), so each execution optimises its copy
    optimized: dict[tuple[bool, ...], Form | None] = dataclasses.field(default_factory=dict)
    # a kept template without parameters: its optimised plan, with the row counts of the
    # tables it scans it was optimised for where it has joins (``reused``)
    planned_for: tuple[tuple[int, ...], Node] | None = None

    def result_fields(self, plan: Node, catalog: str) -> list[pa.Field]:
        """``origins.fields`` of ``plan`` (an instance of this template), worked out once
        per output types for a kept template (tracing origins cost a lookup ~30 µs)."""
        types = tuple(t for _, t in plan.output)
        found = self.fields.get(types)
        if found is None:
            found = origins.fields(plan, self.names, list(types), catalog)
            if self.kept:
                self.fields[types] = found
        return found


def plain(values: list[pa.Scalar]) -> list[Any]:
    """Parameter scalars as the Python values ``instantiate`` puts in (of the types the
    executor computes in, as the binder typed the ``Param`` nodes)."""
    out = []
    for s in values:
        t = normalize(s.type)
        out.append(s.cast(t).as_py() if t != s.type else s.as_py())
    return out


def planned(tpl: Template, values: list[Any], snap: Any) -> Node:
    """The optimised plan of template ``tpl`` with ``values`` (``plain``) put in: its kept
    optimised form copied with the values where there is one, else the template's copy
    optimised now (and, the first time per NULL pattern, the optimised form tried)."""
    if tpl.kept and not values:
        return reused(tpl, snap)
    if not tpl.kept or tpl.joins:  # join order follows today's row counts: plan each time
        plan = instantiate(tpl.plan, values)
        if tpl.joins:
            refresh_estimates(plan, snap)
        return optimize(plan)
    nulls = tuple(v is None for v in values)
    ready = tpl.optimized.get(nulls, _UNTRIED)
    if ready is not _UNTRIED:
        return ready.instance(values) if ready is not None else \
            optimize(instantiate(tpl.plan, values))
    plan = optimize(instantiate(tpl.plan, values))
    if len(tpl.optimized) < MAX_OPTIMIZED:
        tpl.optimized[nulls] = optimized_form(tpl.plan, values, plan)
    return plan


_UNTRIED = object()


@dataclass
class Form:
    """An optimised plan with its parameters in, and which of its parts hold one: an
    execution copies only those (an executor never rewrites a plan it runs; the rest is
    shared between executions)."""

    plan: Node
    holders: set[int]  # ids of the operators, expressions and lists a Param sits below

    def instance(self, values: list[Any]) -> Node:
        return _copy(self.plan, lambda p: Lit(values[p.index - 1], p.type), {}, self.holders)


def optimized_form(template: Node, values: list[Any], made: Node) -> Form | None:
    """``template`` optimised with its parameters still in, if that plan does not depend on
    their values: the optimiser never read one, and with ``values`` put in it is ``made``
    (the usual path's plan of the same values). None otherwise."""
    probe = ParamProbe()

    def fresh(p: Param) -> Expr:  # a Param that knows this execution's value and probe
        c = _shallow(p)
        c._value, c._probe = values[p.index - 1], probe
        return c

    plan = optimize(_copy(template, fresh, {}))
    if probe.read:
        return None
    holders: set[int] = set()
    _holds(plan, holders, set())
    form = Form(plan, holders)
    check = form.instance(values)
    if _any(plan, _folded_later, set()) or _any(check, _opaque, set()) or \
            _renumbered(_shape(check)) != _renumbered(_shape(made)):
        return None  # (column ids the optimiser made count by where they appear)
    return form


def same_plan(a: Node, b: Node) -> bool:
    """Whether two optimised plans, bound apart, are the same by what they show: operators
    and labels (expressions, scan predicates, literal values; column ids numbered by where
    they first appear) and output types. A plan holding a parameter, a subquery or a
    shared CTE, which labels do not show, is the same as none."""
    return not _any(a, _opaque, set()) and not _any(b, _opaque, set()) and \
        [t for _, t in a.output] == [t for _, t in b.output] and \
        _renumbered(_shape(a)) == _renumbered(_shape(b))


_COLUMN_ID = re.compile(r"\bc\d+\b")  # ``binder.context.new_id``'s


def _renumbered(shape: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(0), f"#{len(seen)}")

    return [(kind, _COLUMN_ID.sub(number, label)) for kind, label in shape]


def _holds(obj: Any, holders: set[int], seen: set[int]) -> bool:
    """Whether a Param sits in ``obj`` where ``_copy`` puts values (recording in ``holders``
    the ids of what holds one); walks what ``_copy`` walks."""
    if id(obj) in seen:
        return id(obj) in holders
    seen.add(id(obj))
    if isinstance(obj, Param):
        found = True
    elif isinstance(obj, Call):
        found = any([_holds(a, holders, seen) for a in obj.args])
    elif isinstance(obj, list | tuple):
        found = any([_holds(v, holders, seen) for v in obj])
    elif (spec := _spec(type(obj))) is not None:
        found = any([_holds(getattr(obj, name), holders, seen) for name, deep in spec if deep])
        if type(obj) is Scan and _param_in(obj.predicate):
            found = True
    else:
        found = False
    if found:
        holders.add(id(obj))
    return found


def _param_in(p: Any) -> bool:
    if isinstance(p, Param):
        return True
    if isinstance(p, tuple):
        return any(_param_in(x) for x in p)
    if isinstance(p, P.Predicate) and dataclasses.is_dataclass(p):
        return any(_param_in(getattr(p, f.name)) for f in dataclasses.fields(p))
    return False


def _shape(plan: Node) -> list[tuple[str, str]]:
    """Operators in preorder with their labels (expressions, scan predicates)."""
    out, stack = [], [plan]
    while stack:
        n = stack.pop()
        out.append((type(n).__name__, n.label()))
        stack.extend(reversed(n.children()))
    return out


def _any(obj: Any, test: Callable[[Any], bool], seen: set[int]) -> bool:
    """Whether ``test`` holds for anything in a plan: operators, expressions, engine
    predicates, their fields, data fields included."""
    if test(obj):
        return True
    if isinstance(obj, list | tuple):
        return any(_any(v, test, seen) for v in obj)
    if isinstance(obj, dict):
        return any(_any(v, test, seen) for v in obj.values())
    if isinstance(obj, Node | Expr | P.Predicate) or _spec(type(obj)) is not None:
        if id(obj) in seen:
            return False
        seen.add(id(obj))
        return any(_any(v, test, seen) for v in vars(obj).values())
    return False


def _opaque(obj: Any) -> bool:
    """A parameter (not put in), a subquery or a shared CTE: an instance holding one is not
    checked by its labels."""
    return isinstance(obj, Param | SubqueryValue | Shared)


def _folded_later(obj: Any) -> bool:
    """A call over parameters (and literals) only: ``instantiate`` folds it into a literal
    once the values are in, which the usual path does *before* optimising (a key compared
    with a cast parameter is then pushed into the engine); whether it folds can depend on
    the value ('2' casts to a BIGINT, 'abc' does not)."""
    return isinstance(obj, Call) and _constant(obj) and \
        any(isinstance(e, Param) for e in obj.walk())


def _constant(e: Expr) -> bool:
    if isinstance(e, Call):
        return bool(e.args) and not isinstance(e.options, SubqueryValue) and \
            all(_constant(a) for a in e.args)
    return isinstance(e, Param) or is_const(e)


def instantiate(plan: Node, values: list[Any]) -> Node:
    """A copy of ``plan`` whose operators may be rewritten, with parameter values put in.

    Operators are always copied (the optimiser rewrites them in place); expressions are
    immutable and copied only where a parameter sits below them. Calls whose arguments all
    became literals are folded, as the binder would have folded them. A scan's engine
    predicate holding a ``Param`` (an optimised template's) gets the value.
    """
    return _copy(plan, lambda p: Lit(values[p.index - 1], p.type), {})


Put = Callable[[Param], Expr]  # what takes a parameter's place


def _copy(obj: Any, put: Put, memo: dict[int, Any], holders: set[int] | None = None) -> Any:
    """``obj`` copied with ``put`` in place of its parameters; with ``holders`` (a
    ``Form``'s), what holds no parameter is not copied."""
    if holders is not None and id(obj) not in holders:
        return obj
    if isinstance(obj, Expr):
        return _expr(obj, put, memo)
    if isinstance(obj, list):
        return [_copy(v, put, memo, holders) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_copy(v, put, memo, holders) for v in obj)
    spec = _spec(type(obj))
    if spec is None:
        return obj
    done = memo.get(id(obj))
    if done is not None:
        return done
    c = _shallow(obj)
    memo[id(obj)] = c
    for name, deep in spec:
        v = getattr(obj, name)
        if deep:
            setattr(c, name, _copy(v, put, memo, holders))
        elif isinstance(v, list):
            setattr(c, name, list(v))
    if type(c) is Scan and c.predicate is not None:
        c.predicate = _predicate(c.predicate, put)
    return c


def _predicate(p: Any, put: Put) -> Any:
    """An engine predicate (or a part of one) with its ``Param`` values put in; unchanged
    parts are the same objects."""
    if isinstance(p, Param):
        new = put(p)
        return new if isinstance(new, Param) else new.value
    if isinstance(p, tuple):
        parts = tuple(_predicate(x, put) for x in p)
        return p if all(a is b for a, b in zip(parts, p, strict=True)) else parts
    if isinstance(p, P.Predicate) and dataclasses.is_dataclass(p):
        changed = {f.name: new for f in dataclasses.fields(p)
                   if (new := _predicate(old := getattr(p, f.name), put)) is not old}
        return dataclasses.replace(p, **changed) if changed else p
    return p


# Fields of plan classes that hold no expressions or operators: shared, lists copied flat.
_DATA_FIELDS = {"Scan": {"table", "columns", "predicate", "est_rows", "raw_types", "stats",
                         "keyed", "primary_key"},
                "FileScan": {"path", "format", "options", "columns", "est_rows"},
                "Values": {"table"}, "Aggregate": {"keys"},
                "AggCall": {"id", "func", "arg", "type", "distinct", "extra", "order"},
                "WorkTable": {"key", "fields"}, "Shared": {"key", "fields"}}
_SPECS: dict[type, tuple[tuple[str, bool], ...] | None] = {}


def _spec(cls: type) -> tuple[tuple[str, bool], ...] | None:
    """(field, copy deeply) for plan classes; None for anything else (shared as is)."""
    if cls in _SPECS:
        return _SPECS[cls]
    from . import plan as P
    spec = None
    if dataclasses.is_dataclass(cls) and issubclass(
            cls, (Node, P.AggCall, P.SortKey, P.WindowCall, P.SharedPlan)):
        data = _DATA_FIELDS.get(cls.__name__, set())
        spec = tuple((f.name, f.name not in data) for f in dataclasses.fields(cls))
    _SPECS[cls] = spec
    return spec


def _shallow(obj: Any) -> Any:
    """``copy.copy`` for plain classes, without its generic protocol (a third of the cost
    of reusing a template went there)."""
    c = object.__new__(type(obj))
    c.__dict__.update(obj.__dict__)
    return c


def _expr(e: Expr, put: Put, memo: dict[int, Any]) -> Expr:
    if isinstance(e, Param):
        return put(e)
    if isinstance(e, Call):
        args = tuple(_expr(a, put, memo) for a in e.args)
        if len(args) == 1 and isinstance(args[0], Param) and e.fn == "cast" and \
                _lossless(args[0].type, e.type):
            c = _shallow(args[0])  # (a parameter kept while optimising: retyped, same value)
            c.type = e.type
            return c
        opts = e.options
        if isinstance(opts, SubqueryValue):
            opts = _expr(opts, put, memo)
        if all(a is b for a, b in zip(args, e.args, strict=True)) and opts is e.options:
            return e
        if args and all(is_const(a) for a in args) and not isinstance(opts, SubqueryValue):
            widened = _widened(e, args[0])
            if widened is not None:
                return widened
            try:
                v = pc.call_function(e.fn, [a.scalar() for a in args], opts)
                return Lit(v.as_py() if not isinstance(v, pa.Array) else v, v.type)
            except pa.ArrowException:
                pass  # left to run time, as ``expr.call`` does (an unreached CASE branch)
        c = _shallow(e)  # keeps attributes set after construction (IN lists' ``_values``)
        c.args, c.options = args, opts
        return c
    if isinstance(e, SubqueryValue):
        done = memo.get(id(e))
        if done is None:
            done = _shallow(e)
            done.plan = _copy(e.plan, put, memo)
            memo[id(e)] = done
        return done
    return e


def _widened(e: Call, arg: Expr) -> Lit | None:
    """``cast`` of an integer value to an integer type it fits in, without a kernel call (a
    script's ``$i`` is INTEGER where a BIGINT key compares with it, on every loop turn)."""
    if e.fn != "cast" or not isinstance(arg, Lit) or type(arg.value) is not int or \
            not pa.types.is_integer(e.type):
        return None
    return Lit(arg.value, e.type) if holds(e.type, arg.value) else None


def _lossless(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether every integer of type ``src`` casts to ``dst`` as the same Python int (a
    script's INTEGER ``$i`` against a BIGINT key)."""
    if not (pa.types.is_integer(src) and pa.types.is_integer(dst)):
        return False
    if pa.types.is_unsigned_integer(dst):
        return pa.types.is_unsigned_integer(src) and src.bit_width <= dst.bit_width
    return src.bit_width < dst.bit_width if pa.types.is_unsigned_integer(src) else \
        src.bit_width <= dst.bit_width


def has_join(plan: Node) -> bool:
    return isinstance(plan, Join) or any(has_join(c) for c in plan.children())


def reused(tpl: Template, snap: Any) -> Node:
    """A kept template without parameters: its plan as last optimised, while the row
    counts its join order followed are the same (``row_counts``; one without joins follows
    none), else optimised anew and kept. Not one holding a subquery or a shared CTE: their
    plans are optimised in place when they run, so each execution needs its own copy."""
    counts = row_counts(tpl.plan, snap) if tpl.joins else ()
    if tpl.planned_for is not None and tpl.planned_for[0] == counts:
        return tpl.planned_for[1]
    plan = instantiate(tpl.plan, [])
    if tpl.joins:
        refresh_estimates(plan, snap)
    plan = optimize(plan)
    if not _any(plan, _opaque, set()):  # (a subquery's or CTE's plan is optimised as it runs)
        tpl.planned_for = (counts, plan)
    return plan


def row_counts(plan: Node, snap: Any) -> tuple[int, ...]:
    """The row counts ``refresh_estimates`` gives the plan's scans, in its order: with the
    template, all that optimising a parameterless plan reads that can change (statistics
    are kept by row count), so a plan optimised for the same counts is the plan it would
    make (TPC-H's join queries: 1-4 ms of optimising per execution)."""
    counts = []
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, Scan):
            counts.append(snap.table(node.table).row_count)
        stack.extend(node.children())
    return tuple(counts)


def refresh_estimates(plan: Node, snap: Any) -> None:
    """Give the copy's scans today's row counts (the template holds bind-time counts)."""
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, Scan):  # the template's catalog is the snapshot's: it exists
            node.est_rows = max(1, snap.table(node.table).row_count)
        stack.extend(node.children())
