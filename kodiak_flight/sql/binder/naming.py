"""Result column names: what an unaliased select-list expression is called, and names made
unique where a relation needs them to be.

The reference is DuckDB's rule for unnamed expressions: a column reference is named by the
column it resolves to (``t.a`` -> ``a``); any other expression by a canonical rendering of
what the user wrote: function names lower-case as typed with their arguments as typed
(``date_trunc('month', d)``, ``count(DISTINCT a)``), operators parenthesised with single
spaces (``a+1`` -> ``(a + 1)``), ``::`` as ``CAST(a AS BIGINT)``, literals as written
(``'x'``, ``1e3``). Where DuckDB names the internal form it rewrote an expression into
rather than that expression (``count_star()``, ``~~`` for LIKE, a simple CASE as a searched
one, ``"substring"`` quoted as a keyword), the name is the form the user wrote
(``count(*)``, ``(b LIKE 'x%')``). docs/sql.md lists the differences.

Function calls are named from their source text (``Grizzly.Parser`` keeps it in
``meta["call"]``): sqlglot's tree has forgotten which alias the user called and in which
order the arguments came (``date_trunc`` is a ``TimestampTrunc`` with the unit last).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from ..dialect import Grizzly

_BINARY = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.IntDiv: "//", exp.Mod: "%",
    exp.Pow: "^", exp.DPipe: "||", exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=",
    exp.LT: "<", exp.LTE: "<=", exp.And: "AND", exp.Or: "OR", exp.Like: "LIKE",
    exp.ILike: "ILIKE", exp.NullSafeEQ: "IS NOT DISTINCT FROM",
    exp.NullSafeNEQ: "IS DISTINCT FROM", exp.BitwiseAnd: "&", exp.BitwiseOr: "|",
    exp.BitwiseXor: "xor", exp.BitwiseLeftShift: "<<", exp.BitwiseRightShift: ">>",
}
_NOT_FORMS = {exp.Like: "NOT LIKE", exp.ILike: "NOT ILIKE"}
_UPPER_CALLS = {"coalesce"}  # DuckDB parses these as operators and names them upper-case
# inside a call's parentheses, keywords that make it special syntax, not an argument list
_SPECIAL = {TokenType.FROM, TokenType.IN, TokenType.FOR, TokenType.ALIAS, TokenType.USING}
_PLAIN_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE_NAMES = {"INT": "INTEGER", "TEXT": "VARCHAR"}  # sqlglot's spelling -> DuckDB's
_TYPE_WORD = re.compile(r"\b(?:INT|TEXT)\b")


def output_name(e: exp.Expression, resolved: str | None = None) -> str:
    """The name of select item ``e`` without an alias; ``resolved`` is the name of the
    column a bare column reference resolves to."""
    inner = _unparen(e)
    if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
        return resolved if resolved is not None else inner.name
    return render(inner)


def legacy_name(e: exp.Expression) -> str:
    """The name Kodiak gave before names followed DuckDB: a column's name, else sqlglot's
    regenerated text. Views stored without their column names are still named this way,
    so a persisted view's columns are not silently renamed."""
    if isinstance(e, exp.Column):
        return e.name
    return e.sql(dialect="duckdb")


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` with repeats renamed ``name_1``, ``name_2``... skipping names already taken,
    compared case-insensitively, as DuckDB names the columns of a subquery, CTE, view or
    CREATE TABLE AS."""
    names = list(names)
    taken = {n.lower() for n in names}
    seen: dict[str, int] = {}
    out = []
    for n in names:
        key = n.lower()
        if key not in seen:
            seen[key] = 0
            out.append(n)
            continue
        while True:
            seen[key] += 1
            cand = f"{n}_{seen[key]}"
            if cand.lower() not in taken and cand.lower() not in seen:
                break
        seen[cand.lower()] = 0
        taken.add(cand.lower())
        out.append(cand)
    return out


def render(e: exp.Expression) -> str:
    """``e`` as DuckDB writes an unnamed expression (see the module docstring)."""
    e = _unparen(e)
    op = _BINARY.get(type(e))
    if op is not None:
        if e.args.get("negate"):  # b NOT LIKE 'x%'
            op = _NOT_FORMS.get(type(e), op)
        return f"({render(e.this)} {op} {render(e.expression)})"
    handler = _HANDLERS.get(type(e))
    if handler is not None:
        return handler(e)
    if isinstance(e, exp.Func):
        return _call(e)
    return _sqlglot_text(e)


def _unparen(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def _sqlglot_text(e: exp.Expression) -> str:
    """sqlglot's text with function names lower-cased: forms with no better rendering."""
    return e.sql(dialect="duckdb", normalize_functions="lower")


def _ident(name: str) -> str:
    return name if _PLAIN_IDENT.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def _column(e: exp.Column) -> str:
    if isinstance(e.this, exp.Star):
        return _sqlglot_text(e)
    return ".".join(_ident(p.name) for p in e.parts)


def _literal(e: exp.Literal) -> str:
    if e.is_string:
        return "'" + e.this.replace("'", "''") + "'"
    return e.this


def _neg(e: exp.Neg) -> str:
    inner = _unparen(e.this)
    if isinstance(inner, exp.Literal) and not inner.is_string:
        return f"-{inner.this}"
    return f"(-({render(inner)}))"


def _not(e: exp.Not) -> str:
    inner = _unparen(e.this)
    if isinstance(inner, exp.Is):
        return f"({render(inner.this)} IS NOT {render(inner.expression)})"
    form = _NOT_FORMS.get(type(inner))
    if form is not None:
        return f"({render(inner.this)} {form} {render(inner.expression)})"
    return f"(NOT {render(inner)})"


def _in(e: exp.In) -> str:
    query = e.args.get("query")
    if query is not None:
        return f"({render(e.this)} IN {render(query)})"
    if e.args.get("field") is not None:  # x IN list_column
        return f"({render(e.this)} IN {render(e.args['field'])})"
    return f"({render(e.this)} IN ({_list(e.expressions)}))"


def _cast(e: exp.Cast) -> str:
    word = "TRY_CAST" if isinstance(e, exp.TryCast) else "CAST"
    return f"{word}({render(e.this)} AS {_type(e.to)})"


def _type(t: exp.DataType) -> str:
    """A type as DuckDB names it: sqlglot's spelling with DuckDB's canonical names."""
    text = t.sql(dialect="duckdb")
    return _TYPE_WORD.sub(lambda m: _TYPE_NAMES[m.group(0)], text)


def _case(e: exp.Case) -> str:
    parts = ["CASE"]
    if e.this is not None:
        parts.append(render(e.this))
    for w in e.args.get("ifs") or []:
        parts += ["WHEN", render(w.this), "THEN", render(w.args["true"])]
    if e.args.get("default") is not None:
        parts += ["ELSE", render(e.args["default"])]
    return " ".join(parts + ["END"])


def _filter(e: exp.Filter) -> str:
    return f"{render(e.this)} FILTER (WHERE {render(e.expression.this)})"


def _window(e: exp.Window) -> str:
    name = e.args.get("alias")
    if name is not None and not e.args.get("partition_by") and not e.args.get("order") \
            and not e.args.get("spec"):
        return f"{render(e.this)} OVER {name.name}"
    spec = []
    if e.args.get("partition_by"):
        spec.append("PARTITION BY " + _list(e.args["partition_by"]))
    if e.args.get("order"):
        spec.append(_order(e.args["order"]))
    if e.args.get("spec"):
        spec.append(_frame(e.args["spec"]))
    return f"{render(e.this)} OVER ({' '.join(spec)})"


def _frame(f: exp.WindowSpec) -> str:
    """``ROWS BETWEEN 1 PRECEDING AND CURRENT ROW``, keywords upper-case."""
    start = _bound(f.args.get("start"), f.args.get("start_side"))
    if f.args.get("end") is None:
        return f"{f.text('kind').upper()} {start}"
    end = _bound(f.args.get("end"), f.args.get("end_side"))
    return f"{f.text('kind').upper()} BETWEEN {start} AND {end}"


def _bound(value: exp.Expression | str | None, side: str | None) -> str:
    text = value.upper() if isinstance(value, str) else render(value) if value else ""
    return f"{text} {side.upper()}" if side else text


def _order(o: exp.Order) -> str:
    return "ORDER BY " + ", ".join(_ordered(x) for x in o.expressions)


def _ordered(o: exp.Ordered) -> str:
    text = render(o.this)
    if o.args.get("desc"):
        text += " DESC"
    elif o.args.get("desc") is False:
        text += " ASC"
    if o.args.get("nulls_first"):  # NULLS LAST is the default, so FIRST was typed
        text += " NULLS FIRST"
    return text


def _subquery(e: exp.Expression) -> str:
    return f"({_sqlglot_text(e.this if isinstance(e, exp.Subquery) else e)})"


def _exists(e: exp.Exists) -> str:
    return f"EXISTS({_sqlglot_text(e.this)})"


def _list(items: Iterable[exp.Expression]) -> str:
    return ", ".join(render(x) for x in items)


def _call(e: exp.Func) -> str:
    """A function call: the name as typed, lower-case, with its arguments as typed (each
    rendered); without source text, or for special syntax (``substring(b FROM 1)``),
    sqlglot's text."""
    text = e.meta.get("call")
    args = _call_args(text) if text else None
    if args is None:
        return _sqlglot_text(e)
    name, pieces = args
    rendered = []
    for piece in pieces:
        r = _argument(piece, text)
        if r is None:
            return _sqlglot_text(e)
        rendered.append(r)
    name = name.upper() if name.lower() in _UPPER_CALLS else name.lower()
    return f"{name}({', '.join(rendered)})"


def _call_args(text: str) -> tuple[str, list[list[Token]]] | None:
    """A call's name and its top-level arguments as token lists, or None when it is not
    ``name(arg, ...)``."""
    try:
        tokens = Grizzly().tokenize(text)
    except TokenError:
        return None
    if len(tokens) < 3 or tokens[1].token_type != TokenType.L_PAREN or \
            tokens[-1].token_type != TokenType.R_PAREN:
        return None
    pieces: list[list[Token]] = [[]]
    depth = 0
    for t in tokens[2:-1]:
        if t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            depth += 1
        elif t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            depth -= 1
        elif depth == 0 and t.token_type == TokenType.COMMA:
            pieces.append([])
            continue
        elif depth == 0 and t.token_type in _SPECIAL:
            return None
        pieces[-1].append(t)
    if pieces == [[]]:
        pieces = []
    if any(not p for p in pieces):
        return None
    return tokens[0].text, pieces


def _argument(tokens: list[Token], text: str) -> str | None:
    """One argument: ``[DISTINCT] expr [ORDER BY ...]``, rendered; None if it is not."""
    prefix = ""
    if tokens[0].token_type == TokenType.DISTINCT:
        prefix, tokens = "DISTINCT ", tokens[1:]
    elif tokens[0].token_type == TokenType.ALL:
        tokens = tokens[1:]
    if not tokens:
        return None
    order = ""
    depth = 0
    for i, t in enumerate(tokens):
        depth += t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE)
        depth -= t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE)
        if depth == 0 and t.token_type == TokenType.ORDER_BY and i > 0:
            parsed = _parse(_span(tokens[i:], text), "SELECT 1 ")
            if parsed is None or parsed.args.get("order") is None:
                return None
            order = " " + _order(parsed.args["order"])
            tokens = tokens[:i]
            break
    if len(tokens) == 1 and tokens[0].token_type == TokenType.STAR:
        return prefix + "*" + order
    parsed = _parse(_span(tokens, text), "SELECT ")
    if parsed is None or len(parsed.expressions) != 1:
        return None
    return prefix + render(parsed.expressions[0]) + order


def _span(tokens: list[Token], text: str) -> str:
    """The source text ``tokens`` came from."""
    return text[tokens[0].start:tokens[-1].end + 1]


def _parse(text: str, lead: str) -> exp.Select | None:
    """``lead + text`` parsed by the PL-Grizzly dialect (so calls inside keep their
    source text), or None if it does not parse as one SELECT."""
    try:
        parsed = sqlglot.parse_one(lead + text, read=Grizzly)
    except (ParseError, TokenError):
        return None
    return parsed if isinstance(parsed, exp.Select) else None


_HANDLERS: dict[type, Callable[[Any], str]] = {
    exp.Column: _column, exp.Literal: _literal, exp.Neg: _neg, exp.Not: _not,
    exp.Null: lambda e: "NULL", exp.Boolean: lambda e: "true" if e.this else "false",
    exp.Is: lambda e: f"({render(e.this)} IS {render(e.expression)})",
    exp.Between: lambda e: f"({render(e.this)} BETWEEN {render(e.args['low'])} AND "
                           f"{render(e.args['high'])})",
    exp.In: _in, exp.Cast: _cast, exp.TryCast: _cast, exp.Case: _case, exp.Filter: _filter,
    exp.Window: _window, exp.Subquery: _subquery, exp.Select: _subquery,
    exp.Exists: _exists, exp.Star: lambda e: "*", exp.HexString: lambda e: f"X'{e.this}'",
}


def with_generated_aliases(query: exp.Expression) -> exp.Expression:
    """A copy of ``query`` whose unaliased select items (other than columns and stars) carry
    their generated names as aliases: a view stores its SQL as sqlglot regenerates it, which
    forgets how calls were typed, so its names are written into it once, at creation."""
    query = query.copy()
    for sel in list(query.find_all(exp.Select)):
        sel.set("expressions", [_aliased(e) for e in sel.expressions])
    return query


def _aliased(e: exp.Expression) -> exp.Expression:
    inner = _unparen(e)
    if isinstance(e, exp.Alias) or isinstance(inner, (exp.Star, exp.Column)):
        return e
    return exp.alias_(e, output_name(e), quoted=True)
