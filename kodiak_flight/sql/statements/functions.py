"""CREATE [OR REPLACE] FUNCTION, DROP FUNCTION, SHOW FUNCTIONS: user functions are objects of
kind ``function`` (``pl/functions.py``); expression functions are inlined into queries
(``pl/inline.py``), block-bodied ones run through CALL."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from engine import errors

from .. import functions as F
from ..binder import Binder, Context
from ..catalog import fold
from ..dialect import Grizzly
from ..errors import BindError, NotSupportedError, suggest
from ..execution import ExecContext
from ..expr import cast
from ..functions.signatures import signatures
from ..pl import inline, table_functions
from ..pl.functions import (
    FUNCTION,
    TABLE,
    Header,
    Param,
    UserFunction,
    all_functions,
    find_functions,
    find_methods,
    parse_create,
    parse_drop,
    resolve_type,
    search_path,
)
from ..pl.syntax import CREATE_FUNCTION, DROP_FUNCTION, SHOW_FUNCTIONS
from ..pl.types import find_type
from ..result import Result, done, rows
from ..scope import Scope
from .registry import VerbCommand, command_text, register

RESERVED_NAMES = frozenset({"match", "if", "self", "call", "await"})
SHOWN = pa.schema([pa.field(n, pa.string()) for n in
                   ("name", "kind", "parameters", "returns", "origin", "schema")])



@register
class CreateFunction(VerbCommand):
    verb = CREATE_FUNCTION

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        create_function(ex.tx, ex.bind, command_text(node))
        return done()


@register
class DropFunction(VerbCommand):
    verb = DROP_FUNCTION

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        drop_function(ex.tx, ex.bind, command_text(node))
        return done()


@register
class ShowFunctions(VerbCommand):
    verb = SHOW_FUNCTIONS
    writes = False

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return SHOWN

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        return rows(show_functions(ex.bind))


# ---------------------------------------------------------------- CREATE FUNCTION


def create_function(tx: Any, ctx: Context, sql: str) -> None:
    h = parse_create(sql)
    schema = fold(h.schema or ctx.schema)
    ctx.resolver.check_schema(schema)
    _check_name(h.name)
    if h.receiver is None and find_type(ctx.snap, schema, h.name) is not None:
        raise BindError(f"cannot create function {h.name}: type {h.name} exists, and "
                        f"{h.name}(...) constructs its values; choose another name")
    fn = _function(ctx, schema, h, sql)
    _check_params(ctx, fn)
    if fn.is_table or any(p.type_name == TABLE for p in fn.params):
        table_functions.check_create(fn)
    elif not fn.block:
        body = inline.parse_body(fn.body)
        if any(c.name.lower() == fn.name for c in body.find_all(exp.Anonymous)):
            raise NotSupportedError(
                f"function {fn.name} calls itself; an expression function is compiled into "
                f"the query, so it cannot be recursive: write it with a BEGIN ... END body "
                f"and CALL it")
        inline.bind_body(Binder(ctx), fn)  # it must bind now, over its parameters
    elif not fn.body.rstrip(";").strip().upper().endswith("END"):
        raise BindError(f"function {fn.name}: a block body runs from BEGIN to END")
    existing = ctx.snap.object(FUNCTION.name, schema, fn.object_name)
    if existing is not None and not h.replace:
        if h.if_exists:
            return
        raise errors.AlreadyExists(f"function {fn.signature()} already exists in schema "
                                   f"{schema!r} (use CREATE OR REPLACE FUNCTION)")
    tx.create_object(FUNCTION.name, schema, fn.object_name, fn.definition(),
                     replace=existing is not None)


def _check_name(name: str) -> None:
    upper = name.upper()
    if F.lookup(name) is not None or upper in Grizzly.Parser.FUNCTIONS or \
            upper in Grizzly.Parser.FUNCTION_PARSERS or \
            upper in Grizzly.Parser.NO_PAREN_FUNCTION_PARSERS or name in RESERVED_NAMES:
        raise BindError(f"cannot create function {name}: {name}() is built in, and a user "
                        f"function shadows no built-in; choose another name")


def _function(ctx: Context, schema: str, h: Header, sql: str) -> UserFunction:
    params = []
    seen: set[str] = set()
    for pname, ptype, default in h.params or []:
        if pname.lower() in seen:
            raise BindError(f"function {h.name}: parameter {pname!r} is declared twice")
        seen.add(pname.lower())
        stored, t = resolve_type(ctx.snap, schema, ptype)
        params.append(Param(pname, stored, t, default))
    recv_name, recv_type = resolve_type(ctx.snap, schema, h.receiver) if h.receiver \
        else (None, None)
    if recv_type is not None and "self" in seen:
        raise BindError(f"function {h.name}: a receiver function's parameter cannot be "
                        f"called self")
    returns, ret_type = resolve_type(ctx.snap, schema, h.returns or "")
    return UserFunction(schema, h.name, recv_name, recv_type, tuple(params), returns,
                        ret_type, h.body, h.block, h.mode, h.raises, sql.strip().rstrip(";"))


def _check_params(ctx: Context, fn: UserFunction) -> None:
    """Defaults are constants of their parameter's type."""
    for p in fn.params:
        if p.default is None or p.type_name == TABLE:
            continue
        try:
            value = Binder(ctx).expr(inline.parse_body(p.default), Scope([]), None)
            cast(value, p.type)
        except BindError as e:
            raise BindError(f"function {fn.name}: the default of {p.name} must be a "
                            f"constant ({e})") from None


# ---------------------------------------------------------------- DROP FUNCTION


def drop_function(tx: Any, ctx: Context, sql: str) -> None:
    h, types = parse_drop(sql)
    schemas = [fold(h.schema)] if h.schema else search_path(ctx.schema)
    found: list[UserFunction] = []
    for s in schemas:
        found = _overloads(ctx, s, h)
        if found:
            break
    shown = f"[{h.receiver}]{h.name}" if h.receiver else h.name
    if types is not None:
        want = [resolve_type(ctx.snap, schemas[0], t)[0] for t in types]
        found = [f for f in found if [p.type_name for p in f.params] == want]
        shown += f"({', '.join(want)})"
    if not found:
        if h.if_exists:
            return
        names = [f.name for s in schemas for f in all_functions(ctx.snap, s)]
        raise BindError(f"function {shown} does not exist" + suggest(h.name, names))
    if len(found) > 1:
        sigs = ", ".join(f.signature() for f in found)
        raise BindError(f"function {h.name} has {len(found)} overloads ({sigs}); name the "
                        f"one to drop with its parameter types, e.g. DROP FUNCTION "
                        f"{found[0].signature()}")
    tx.drop_object(FUNCTION.name, found[0].schema, found[0].object_name)


def _overloads(ctx: Context, schema: str, h: Header) -> list[UserFunction]:
    if h.receiver is None:
        return find_functions(ctx.snap, schema, h.name)
    recv = resolve_type(ctx.snap, schema, h.receiver)[0]
    return [f for f in find_methods(ctx.snap, schema, h.name) if f.receiver == recv]


# ---------------------------------------------------------------- SHOW FUNCTIONS


def show_functions(ctx: Context) -> pa.Table:
    out = []
    for fn in F.functions():
        if fn.name.startswith("__"):
            continue
        forms = signatures(fn, F.generation())  # argument and result types, when known
        for sig in forms:
            out.append({"name": fn.name, "kind": fn.kind, "parameters": sig.parameters(),
                        "returns": sig.returns, "origin": "built-in", "schema": None})
        if not forms:
            n = fn.expected()
            out.append({"name": fn.name, "kind": fn.kind,
                        "parameters": f"{n} argument{'' if n == '1' else 's'}",
                        "returns": None, "origin": "built-in", "schema": None})
    for schema in ctx.snap.schemas():
        for uf in all_functions(ctx.snap, schema):
            out.append({"name": (f"[{uf.receiver}]" if uf.receiver else "") + uf.name,
                        "kind": "block" if uf.block else "scalar",
                        "parameters": uf.parameters(), "returns": uf.returns,
                        "origin": "user", "schema": uf.schema})
    out.sort(key=lambda r: (r["name"].lstrip("["), r["origin"]))
    return pa.Table.from_pylist(out, schema=SHOWN)
