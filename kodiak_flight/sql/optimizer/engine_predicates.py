"""Bound conditions in the engine's inspectable predicate form (zone maps, B+ trees)."""

from __future__ import annotations

import pyarrow.compute as pc

from engine import predicate as P

from ..expr import Call, Col, Expr, Lit, Param
from ..plan import Scan
from ..types import normalize

CMP = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
       "greater_equal": ">="}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def to_engine_predicate(e: Expr, names: dict[str, str]) -> P.Predicate | None:
    """The inspectable engine form of ``e`` over scan columns, or None if not expressible."""
    if isinstance(e, Call):
        if e.fn in CMP and len(e.args) == 2:
            a, b = e.args
            op = CMP[e.fn]
            if isinstance(b, Col) and isinstance(a, Lit):
                a, b, op = b, a, FLIP[op]
            if isinstance(a, Col) and a.id in names and isinstance(b, Lit) and \
                    not _null(b) and b.type == a.type:
                # a parameter (optimising a prepared template) stays one: its value is put
                # in per execution (``plancache.instantiate``)
                return P.Compare(names[a.id], op, b if isinstance(b, Param) else b.value)
            return None
        if e.fn == "is_in" and isinstance(e.options, pc.SetLookupOptions):
            x = e.args[0]
            if isinstance(x, Col) and x.id in names:
                return None  # options are opaque; handled by the if_else form below
        if e.fn == "if_else" and len(e.args) == 3:
            c, v, inner = e.args
            if isinstance(c, Call) and c.fn == "is_null" and isinstance(v, Lit) and \
                    v.value is None and isinstance(inner, Call) and inner.fn == "is_in":
                x = inner.args[0]
                vs = getattr(inner, "_values", None)
                if isinstance(x, Col) and x.id in names and vs is not None:
                    # one value: the equality an IN list of one parameter binds to
                    return P.Compare(names[x.id], "==", vs[0]) if len(vs) == 1 else \
                        P.In(names[x.id], tuple(vs))
            return None
        if e.fn in ("is_null", "is_valid") and isinstance(e.args[0], Col) and \
                e.args[0].id in names:
            return P.IsNull(names[e.args[0].id], negated=e.fn == "is_valid")
        if e.fn in ("and_kleene", "or_kleene"):
            parts = [to_engine_predicate(a, names) for a in e.args]
            if any(p is None for p in parts):
                return None
            return P.And(tuple(parts)) if e.fn == "and_kleene" else one_in(tuple(parts))
    return None


def one_in(parts: tuple[P.Predicate, ...]) -> P.Predicate:
    """``a = x OR a = y OR a IN (...)`` as one IN on ``a`` (what a key or an index answers;
    an IN list of parameters binds to such equalities); any other OR as it is."""
    column = None
    values: list = []
    for p in _or_parts(parts):
        if isinstance(p, P.Compare) and p.op == "==":
            found, vals = p.column, [p.value]
        elif isinstance(p, P.In):
            found, vals = p.column, list(p.values)
        else:
            return P.Or(parts)
        if column not in (None, found):
            return P.Or(parts)
        column = found
        values += vals
    assert column is not None
    return P.In(column, tuple(values))


def _or_parts(parts: tuple[P.Predicate, ...]) -> list[P.Predicate]:
    """An OR's operands, nested ORs flattened (``a OR b OR c`` binds as ``(a OR b) OR c``)."""
    out: list[P.Predicate] = []
    for p in parts:
        out += _or_parts(p.parts) if isinstance(p, P.Or) else [p]
    return out


def scan_names(node: Scan) -> dict[str, str]:
    """Column id -> source column, for the columns the engine can filter on."""
    # The engine filters on its stored types; view/large strings compare like utf8.
    return {i: s for s, i, t in node.columns if s in node.raw_types and
            normalize(node.raw_types[s]) == t}


def _null(e: Lit) -> bool:
    """Whether a literal is NULL (a parameter answers without revealing its value)."""
    return e.is_null if isinstance(e, Param) else e.value is None
