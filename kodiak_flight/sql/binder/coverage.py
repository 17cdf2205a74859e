"""The walk that keeps the binder from ignoring what it does not read.

sqlglot parses far more than PL-Grizzly implements, and a clause the binder never looks at
would be dropped silently (a wrong answer). Before a query or DML statement is bound, its
tree is walked once: a node of a kind the binder refuses anyway is named, and for each
clause-bearing node kind in ``HANDLED`` every set argument must be one the binder reads.
Expression kinds not listed are left to the expression binder, which refuses unknown ones
by name itself.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import NotSupportedError

_QUERY_TAIL = {"with_", "order", "limit", "offset"}
_SELECT = {"expressions", "distinct", "from_", "joins", "where", "group", "having",
           "qualify", "windows", "sample"} | _QUERY_TAIL
_SETOP = {"this", "expression", "distinct", "by_name"} | _QUERY_TAIL

# node kind -> the arguments the binder (or the statement module) reads
HANDLED: dict[type[exp.Expression], set[str]] = {
    exp.Select: _SELECT,
    exp.Union: _SETOP,
    exp.Intersect: _SETOP,
    exp.Except: _SETOP,
    exp.Subquery: {"this", "alias", "lateral", "pivots", "sample", "joins"} | _QUERY_TAIL,
    exp.Table: {"this", "alias", "db", "catalog", "pivots", "sample", "joins"},
    exp.Join: {"this", "on", "side", "kind", "using", "method"},
    exp.Group: {"expressions", "grouping_sets", "cube", "rollup", "all"},
    exp.Ordered: {"this", "desc", "nulls_first"},
    exp.Distinct: {"expressions", "on"},
    exp.Offset: {"this", "expression"},
    exp.Limit: {"this", "expression", "limit_options"},
    exp.Fetch: {"direction", "count", "limit_options"},
    exp.Window: {"this", "partition_by", "order", "spec", "alias", "over"},
    exp.CTE: {"this", "alias", "materialized"},
    exp.With: {"expressions", "recursive"},
    exp.Values: {"expressions", "alias", "pivots", "sample"} | _QUERY_TAIL,
    exp.Star: {"except_", "except", "replace", "rename"},
    exp.Insert: {"with_", "this", "expression", "conflict", "returning", "alternative",
                 "is_function", "by_name"},
    exp.Update: {"with_", "this", "expressions", "from_", "where", "returning"},
    exp.Delete: {"with_", "this", "using", "where", "returning"},
}

_WALKED = (exp.Query, exp.Values, exp.Pivot, exp.Insert, exp.Update, exp.Delete)

# values sqlglot fills in for arguments nobody wrote
_DEFAULTS = (None, False, "", [])

# kinds the binder never handles, named in the user's words
REFUSED = (exp.MatchRecognize, exp.Connect, exp.Lateral, exp.Prior, exp.Into)


def check_supported(node: exp.Expression) -> None:
    """Refuse, by name, the first clause in ``node`` that binding would ignore."""
    if isinstance(node, exp.Create):
        query = node.args.get("expression")
        if isinstance(query, exp.Query):
            check_supported(query)
        return
    if not isinstance(node, _WALKED):  # other statements read their own arguments
        return
    for n in node.walk():
        if isinstance(n, REFUSED) and not _joined_lateral(n):
            raise NotSupportedError(f"{_words(n)} is not supported")
        allowed = HANDLED.get(type(n))
        if allowed is None:
            continue
        for arg, value in n.args.items():
            if arg in allowed or any(value is d or value == d for d in _DEFAULTS):
                continue
            raise NotSupportedError(f"{_clause(n, arg, value)} is not supported")


def _joined_lateral(n: exp.Expression) -> bool:
    """A LATERAL subquery joined to the FROM items before it (``binder/from_.py``); not
    Hive's LATERAL VIEW."""
    return isinstance(n, exp.Lateral) and isinstance(n.this, exp.Subquery) and \
        isinstance(n.parent, exp.Join) and not n.args.get("view") and not n.args.get("outer")


def _clause(node: exp.Expression, arg: str, value: object) -> str:
    """The user's words for argument ``arg`` of ``node``."""
    if isinstance(value, exp.Expression):
        return _words(value)
    if isinstance(value, list) and value and isinstance(value[0], exp.Expression):
        return ", ".join(_words(v) for v in value)
    return f"{arg.rstrip('_').upper().replace('_', ' ')} in {node.key.upper()}"


def _words(node: exp.Expression, width: int = 80) -> str:
    from ..dialect import Grizzly

    try:
        text = node.sql(dialect=Grizzly)
    except Exception:  # noqa: BLE001 - some nodes have no SQL form in this dialect
        text = ""
    if not text.strip():  # DuckDB's SQL has no form for it (FOR UPDATE): sqlglot's own
        try:
            text = node.sql()
        except Exception:  # noqa: BLE001
            text = ""
    if not text.strip() and isinstance(node, exp.Lock):
        text = "FOR UPDATE" if node.args.get("update") else "FOR SHARE"
    text = text.strip() or node.key.upper()
    return text if len(text) <= width else text[:width - 3] + "..."
