"""CREATE [OR REPLACE] TYPE, DROP TYPE [IF EXISTS], SHOW TYPES: user types
(``pl/types.py``), objects of kind ``type`` in the engine's catalog.

sqlglot keeps these as generic commands; the text after the verb is read here: the name, the
form (STRUCT or EXCEPTION) and the field list, which is parsed as a CREATE TABLE's column
list so field names and types follow the rules of column definitions.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.tokens import TokenType

from engine import errors

from .. import functions as F
from ..binder import Context
from ..catalog import fold
from ..dialect import Grizzly, parse
from ..errors import BindError, ParseError, SqlError, suggest
from ..execution import ExecContext
from ..pl import types as user_types
from ..pl.functions import find_functions
from ..result import Result, done, rows
from . import describe
from .registry import Statement, register

_CREATE = re.compile(
    r"^\s*(?P<replace>OR\s+REPLACE\s+)?TYPE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>[^\s(]+)\s+AS\s+(?P<form>\w+)\s*(?:\((?P<fields>.*)\))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^\s*TYPE\s+(?P<exists>IF\s+EXISTS\s+)?(?P<names>.+?)\s*;?\s*$",
                   re.IGNORECASE | re.DOTALL)
SHOW_TYPES = pa.schema([pa.field(n, pa.string()) for n in ("name", "form", "fields",
                                                          "schema")])
describe.claim_show("TYPES")


def _command(node: exp.Expression, verb: str) -> str | None:
    """The text after ``verb`` when ``node`` is ``verb TYPE ...``, else None."""
    if not isinstance(node, exp.Command) or node.name.upper() != verb:
        return None
    arg = node.args.get("expression")
    text = arg if isinstance(arg, str) else arg.name if arg is not None else ""
    words = text.split(None, 3)
    if verb == "CREATE" and [w.upper() for w in words[:2]] == ["OR", "REPLACE"]:
        words = words[2:]
    return text if words and words[0].upper() == "TYPE" else None


@register
class CreateType(Statement):
    node = exp.Command

    def matches(self, node: exp.Expression) -> bool:
        return _command(node, "CREATE") is not None

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        create_type(ex.tx, ex.bind, _command(node, "CREATE") or "")
        return done()


@register
class DropType(Statement):
    node = exp.Command

    def matches(self, node: exp.Expression) -> bool:
        return _command(node, "DROP") is not None

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        m = _DROP.match(_command(node, "DROP") or "")
        if m is None:
            raise ParseError("DROP TYPE expects: DROP TYPE [IF EXISTS] name")
        for name in m["names"].split(","):
            drop_type(ex.tx, ex.bind, _name(name.strip(), "DROP TYPE"), bool(m["exists"]))
        return done()


@register
class ShowTypes(Statement):
    """``SHOW TYPES``: every user type of every schema."""

    node = exp.Command
    writes = False

    def matches(self, node: exp.Expression) -> bool:
        return describe.shown(node) == "TYPES"

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return SHOW_TYPES

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        visible = ex.bind.resolver.schemas()
        return rows(pa.Table.from_pylist(
            [{"name": t.name, "form": t.form, "fields": t.fields_text, "schema": t.schema}
             for t in user_types.all_types(ex.bind.snap, visible)], schema=SHOW_TYPES))


# ---------------------------------------------------------------------- CREATE TYPE


def _name(text: str, what: str) -> tuple[str | None, str]:
    """(schema or None, name) of a type name as typed (``point``, ``s.point``, quoted)."""
    try:
        t = exp.to_table(text, dialect=Grizzly)
    except Exception:
        t = None
    if t is None or not t.name or t.text("catalog"):
        raise ParseError(f"{what}: {text!r} is not a type name")
    return (fold(t.text("db")) if t.text("db") else None), fold(t.name)


def create_type(tx: Any, ctx: Context, text: str) -> None:
    m = _CREATE.match(text)
    if m is None:
        raise ParseError("CREATE TYPE expects: CREATE [OR REPLACE] TYPE name AS "
                         "STRUCT (field type, ...) or AS EXCEPTION (field type, ...)")
    schema, name = _name(m["name"], "CREATE TYPE")
    schema = schema or fold(ctx.schema)
    ctx.resolver.check_schema(schema)
    form = m["form"].lower()
    if form not in user_types.FORMS:
        raise BindError(f"CREATE TYPE {name}: unknown form {m['form']!r}; a type is AS STRUCT "
                        "(...) or AS EXCEPTION (...)")
    check_name(name)
    if find_functions(ctx.snap, schema, name):
        raise BindError(f"type name {name!r} is the name of a user function; its "
                        "constructor call would be ambiguous")
    fields = _fields(name, form, m["fields"])
    qualified = f"{schema}.{name}"
    for f in fields:  # every field type must resolve now, and not through this type
        try:
            user_types.arrow_type(ctx.snap, schema, f["type"], (qualified,))
        except SqlError as e:
            raise BindError(f"type {name!r}, field {f['name']!r}: {e}") from None
    existing = ctx.snap.object(user_types.TYPE.name, schema, name)
    if existing is not None:
        if m["exists"]:
            return
        if not m["replace"]:
            raise errors.AlreadyExists(f"type {qualified!r} already exists")
        _check_replace(ctx, schema, name, form, fields)
    definition = {"form": form, "fields": fields, "sql": f"CREATE {text.strip().rstrip(';')}"}
    tx.create_object(user_types.TYPE.name, schema, name, definition,
                     replace=existing is not None)


def check_name(name: str) -> None:
    """Refuse a type name that already means something: a built-in type (``double``) or a
    built-in function (its constructor call ``name(...)`` would be ambiguous)."""
    try:
        dt = exp.DataType.build(name, dialect=Grizzly, udt=True)
    except Exception:
        dt = None
    if dt is None or dt.this != exp.DataType.Type.USERDEFINED:
        raise BindError(f"type name {name!r} is the name of a built-in type")
    try:
        call = parse(f"SELECT {exp.to_identifier(name).sql(dialect=Grizzly)}(1)")[0]
        anonymous = isinstance(call.expressions[0], exp.Anonymous)
    except ParseError:  # a call sqlglot parses with rules of its own (left, trim)
        anonymous = False
    if F.lookup(name) is not None or not anonymous:
        raise BindError(f"type name {name!r} is the name of a built-in function; "
                        "its constructor call would be ambiguous")


def _fields(name: str, form: str, text: str | None) -> list[dict[str, str]]:
    """The field list ``(x double, y double)`` as ``[{"name", "type"}]``."""
    if text is None or not text.strip():
        if form == "exception":
            return []
        raise BindError(f"type {name!r} needs at least one field: AS STRUCT (x double, ...)")
    try:
        create = parse(f"CREATE TABLE t ({text})")[0]
    except ParseError as e:
        raise ParseError(f"in the fields of type {name!r}: {e}") from None
    schema = create.this
    out: list[dict[str, str]] = []
    for item in schema.expressions if isinstance(schema, exp.Schema) else []:
        if not isinstance(item, exp.ColumnDef):
            raise BindError(f"type {name!r}: {item.sql(dialect=Grizzly)!r} is not a field "
                            "(a field is: name type)")
        if item.args.get("constraints"):
            raise BindError(f"type {name!r}, field {item.name!r}: a field has no constraints")
        kind = item.args.get("kind")
        if kind is None:
            raise BindError(f"type {name!r}, field {item.name!r} needs a type")
        fname = item.name if item.this.quoted else item.name.lower()
        if any(f["name"].lower() == fname.lower() for f in out):
            raise BindError(f"type {name!r} has two fields named {fname!r}")
        out.append({"name": fname, "type": ""})
    for f, typed in zip(out, _typed_types(text), strict=True):
        f["type"] = typed
    return out


def _typed_types(text: str) -> list[str]:
    """Each field's type as the user spelled it (``varchar``, not sqlglot's ``TEXT``): the
    text after the field's name, fields split at top-level commas."""
    tokens = Grizzly().tokenize(text)
    out, depth, start = [], 0, 0
    for i, tok in enumerate(tokens):
        if tok.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tok.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        elif tok.token_type == TokenType.COMMA and depth == 0:
            out.append(tokens[start:i])
            start = i + 1
    out.append(tokens[start:])
    typed = [" ".join(text[f[1].start:f[-1].end + 1].split()) for f in out if len(f) > 1]
    return [t if '"' in t else t.lower() for t in typed]


def _check_replace(ctx: Context, schema: str, name: str, form: str,
                   fields: list[dict[str, str]]) -> None:
    """OR REPLACE may change a type nothing uses; a used one only keeps its fields."""
    old = user_types.load(ctx.snap, schema, name)
    same = old.form == form and [(n, t) for (n, _), t in zip(old.fields, old.field_sql,
                                                              strict=True)] == \
        [(f["name"], f["type"]) for f in fields]
    used = user_types.dependents(ctx.snap, old)
    if used and not same:
        raise BindError(f"cannot replace type {name!r}: {_listed(used)} "
                        f"{'uses' if len(used) == 1 else 'use'} it")


def _listed(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


# ---------------------------------------------------------------------- DROP TYPE


def drop_type(tx: Any, ctx: Context, target: tuple[str | None, str], if_exists: bool) -> None:
    schema, name = target
    found = user_types.locate(ctx.snap, schema or ctx.schema,
                              f"{schema}.{name}" if schema else name)
    if found is None:
        if if_exists:
            return
        known = [t.name for t in user_types.all_types(ctx.snap)]
        raise BindError(f"type {name!r} does not exist" + suggest(name, known))
    ut = user_types.load(ctx.snap, *found)
    used = user_types.dependents(ctx.snap, ut)
    if used:
        raise BindError(f"cannot drop type {name!r}: {_listed(used)} "
                        f"{'uses' if len(used) == 1 else 'use'} it")
    tx.drop_object(user_types.TYPE.name, *found)
