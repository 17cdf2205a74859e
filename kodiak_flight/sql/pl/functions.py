"""User-defined functions: their definitions (objects of kind ``function``), the parsing of
``CREATE FUNCTION`` / ``DROP FUNCTION`` headers, and lookup with overloads and receivers.

A function is stored once per signature: the object's name is ``name(type, ...)``, or
``[receiver]name(type, ...)`` for a function called on a value (``p.norm()``), so overloads
are distinct objects. Its definition is the JSON of PL-DESIGN.md (name, receiver, params with
types as SQL text and defaults as SQL text, returns, body, block, mode, raises, sql); being
an engine object it is transactional, logged, in snapshots and backups. Types are resolved
when a function is read (:func:`find_functions`): built-in type names first, then user types
(objects of kind ``type``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ParseError as GlotParseError
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..catalog.kinds import ObjectKind, register
from ..dialect import Grizzly
from ..errors import BindError, NotSupportedError, ParseError
from ..types import from_sql, sql_name

FUNCTION = register(ObjectKind("function", "function"))
TABLE = "table"  # the type of a TABLE parameter and of RETURNS TABLE (no Arrow type of its own)
TYPE_KIND = "type"  # user types (pl/types.py)


@dataclass(frozen=True)
class Param:
    name: str
    type_name: str  # as stored: lower-case SQL type text, or a user type's name
    type: pa.DataType
    default: str | None = None  # SQL expression text


@dataclass(frozen=True)
class UserFunction:
    """One stored function (one overload)."""

    schema: str
    name: str
    receiver: str | None
    receiver_type: pa.DataType | None
    params: tuple[Param, ...]
    returns: str
    return_type: pa.DataType
    body: str
    block: bool = False
    mode: str = "sync"
    raises: tuple[str, ...] = ()
    sql: str = ""
    version: int = 0  # the catalog object's (the LSN that created or replaced it)

    @property
    def is_table(self) -> bool:
        """``RETURNS TABLE``: called in FROM or by ``|> CALL`` (``pl/table_functions.py``)."""
        return self.returns == TABLE

    @property
    def object_name(self) -> str:
        return object_name(self.name, self.receiver, [p.type_name for p in self.params])

    @property
    def required(self) -> int:
        """How many leading parameters have no default."""
        return sum(1 for p in self.params if p.default is None)

    def parameters(self) -> str:
        """``a bigint, b varchar DEFAULT 'x'``."""
        return ", ".join(p.name + " " + p.type_name +
                         (f" DEFAULT {p.default}" if p.default is not None else "")
                         for p in self.params)

    def signature(self) -> str:
        """``[point]norm()``, ``f(bigint, varchar)``: what messages name it by."""
        return self.object_name

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "receiver": self.receiver,
                "params": [{"name": p.name, "type": p.type_name, "default": p.default}
                           for p in self.params],
                "returns": self.returns, "body": self.body, "block": self.block,
                "mode": self.mode, "raises": list(self.raises), "sql": self.sql}


def object_name(name: str, receiver: str | None, types: list[str]) -> str:
    head = f"[{receiver}]" if receiver else ""
    return f"{head}{name}({', '.join(types)})"


# ---------------------------------------------------------------- types by name


def resolve_type(snap: Any, schema: str, text: str) -> tuple[str, pa.DataType]:
    """(stored name, Arrow type) of a SQL type written ``text``: a built-in type (stored by
    its canonical name, so ``int8`` and ``bigint`` are one signature), else a user type;
    ``TABLE`` (a table function's parameter or result) is stored as ``table``, typed null."""
    if text.strip().lower() == TABLE:
        return TABLE, pa.null()
    builtin = builtin_type(text)
    if builtin is not None:
        return builtin
    user = user_type(snap, schema, text.strip().lower())
    if user is None:
        raise BindError(f"unknown type {text.strip()!r}")
    return text.strip().lower(), user


@functools.lru_cache(maxsize=512)
def builtin_type(text: str) -> tuple[str, pa.DataType] | None:
    """(canonical name, Arrow type) of a built-in SQL type, or None (parsed once per text:
    every call of a user function reads its types)."""
    try:
        dt = exp.DataType.build(text, dialect=Grizzly)
        if dt.this != exp.DataType.Type.USERDEFINED:
            t = from_sql(dt)
            return sql_name(t).lower(), t
    except (GlotParseError, TokenError, ValueError, NotSupportedError):
        pass
    return None


def user_type(snap: Any, schema: str, name: str) -> pa.DataType | None:
    """A user type's Arrow type, through ``pl/types.find_type`` when present, else from the
    kind ``type`` object's fields (PL-DESIGN.md's format)."""
    try:
        from . import types as user_types  # the types helper's module, when merged
        find = getattr(user_types, "find_type", None)
    except ImportError:
        find = None
    for s in dict.fromkeys((schema, "main")):
        if find is not None:
            found = find(snap, s, name)
            if found is not None:
                return found.arrow_type
            continue
        obj = snap.object(TYPE_KIND, s, name)
        if obj is not None:
            fields = [(f["name"], resolve_type(snap, s, f["type"])[1])
                      for f in obj.definition.get("fields", [])]
            return pa.struct(fields)
    return None


# ---------------------------------------------------------------- reading the catalog


def from_object(snap: Any, obj: Any) -> UserFunction:
    d = obj.definition
    params = tuple(Param(p["name"], p["type"], resolve_type(snap, obj.schema, p["type"])[1],
                         p.get("default")) for p in d.get("params", []))
    recv = d.get("receiver")
    return UserFunction(
        schema=obj.schema, name=d["name"], receiver=recv,
        receiver_type=resolve_type(snap, obj.schema, recv)[1] if recv else None,
        params=params, returns=d["returns"],
        return_type=resolve_type(snap, obj.schema, d["returns"])[1], body=d["body"],
        block=bool(d.get("block")), mode=d.get("mode", "sync"),
        raises=tuple(d.get("raises") or ()), sql=d.get("sql", ""),
        version=getattr(obj, "version", 0))


def scalar_only(name: str, cands: list[UserFunction]) -> list[UserFunction]:
    """The overloads of ``name`` usable as a value; refuses a name that only has table
    functions, saying where to call them."""
    scalar = [f for f in cands if not f.is_table]
    if cands and not scalar:
        raise BindError(f"{name} is a table function: call it in FROM "
                        f"(SELECT * FROM {name}(...)) or with |> CALL {name}(...)")
    return scalar


def all_functions(snap: Any, schema: str | None = None) -> list[UserFunction]:
    return [from_object(snap, o) for o in snap.objects(FUNCTION.name, schema)]


def find_functions(snap: Any, schema: str, name: str) -> list[UserFunction]:
    """The overloads of plain (receiver-less) function ``name`` in ``schema``."""
    name = name.lower()
    return [from_object(snap, o) for o in snap.objects(FUNCTION.name, schema)
            if o.name.startswith(name + "(") and o.definition.get("name") == name]


def find_methods(snap: Any, schema: str, name: str) -> list[UserFunction]:
    """The receiver functions called ``name`` in ``schema`` (any receiver type)."""
    name = name.lower()
    return [from_object(snap, o) for o in snap.objects(FUNCTION.name, schema)
            if o.name.startswith("[") and o.definition.get("name") == name]


def search_path(schema: str) -> list[str]:
    """Where an unqualified function name is looked for: the current schema, then main."""
    return list(dict.fromkeys((schema, "main")))


# ---------------------------------------------------------------- statement headers


@dataclass
class Header:
    """What ``CREATE FUNCTION`` / ``DROP FUNCTION`` say before the body."""

    schema: str | None
    name: str
    receiver: str | None = None
    params: list[tuple[str, str, str | None]] | None = None  # (name, type text, default)
    returns: str | None = None
    raises: tuple[str, ...] = ()
    mode: str = "sync"
    body: str = ""
    block: bool = False
    replace: bool = False
    if_exists: bool = False  # IF NOT EXISTS (create) / IF EXISTS (drop)


class _Reader:
    """A cursor over the statement's tokens that slices the source text."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        try:
            self.toks: list[Token] = Grizzly().tokenize(sql)
        except TokenError as e:
            raise ParseError(f"syntax error: {e}") from None
        self.i = 0

    @property
    def cur(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def word(self, *words: str) -> bool:
        """Consume the next tokens if they are ``words`` (any case)."""
        n = len(words)
        got = [t.text.upper() for t in self.toks[self.i:self.i + n]
               if t.token_type != TokenType.STRING]
        if got == [w.upper() for w in words]:
            self.i += n
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.word(*words):
            self.fail(f"expected {' '.join(words)}")

    def fail(self, what: str) -> None:
        t = self.cur
        where = f" at line {t.line}, column {t.col} near {t.text!r}" if t else " at end of input"
        raise ParseError(f"syntax error{where}: {what}", t.line if t else None,
                         t.col if t else None, t.text if t else None)

    def name(self) -> str:
        t = self.cur
        if t is None or t.token_type not in (TokenType.VAR, TokenType.IDENTIFIER) and \
                not t.text.replace("_", "").isalnum():
            self.fail("expected a name")
        assert t is not None
        self.i += 1
        return t.text if t.token_type == TokenType.IDENTIFIER else t.text.lower()

    def until(self, stop: set[str], closers: tuple[TokenType, ...] = ()) -> str:
        """Source text up to (not including) a top-level word in ``stop`` or a closer."""
        start, depth = self.i, 0
        while self.i < len(self.toks):
            t = self.toks[self.i]
            if t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
                depth += 1
            elif t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
                if depth == 0 and t.token_type in closers:
                    break
                depth -= 1
            elif depth == 0 and (t.token_type in closers or
                                 (t.text.upper() in stop and t.token_type != TokenType.STRING)):
                break
            self.i += 1
        return self.text(start, self.i)

    def text(self, a: int, b: int) -> str:
        if a >= b:
            return ""
        return self.sql[self.toks[a].start:self.toks[b - 1].end + 1].strip()

    def rest(self) -> str:
        if self.cur is None:
            return ""
        return self.sql[self.cur.start:].strip().rstrip(";").strip()


def _target(r: _Reader, h: Header) -> None:
    """``[receiver] [schema.]name``."""
    if r.cur is not None and r.cur.token_type == TokenType.L_BRACKET:
        r.i += 1
        h.receiver = r.until(set(), (TokenType.R_BRACKET,))
        if not h.receiver:
            r.fail("expected a receiver type in [ ]")
        r.expect("]")
    first = r.name()
    if r.cur is not None and r.cur.token_type == TokenType.DOT:
        r.i += 1
        h.schema, h.name = first.lower(), r.name().lower()
    else:
        h.name = first.lower()


def _param_list(r: _Reader) -> list[str]:
    """The comma-separated items between ``(`` and ``)``, as source text."""
    r.expect("(")
    items = []
    while r.cur is not None and r.cur.token_type != TokenType.R_PAREN:
        items.append(r.until({","}, (TokenType.R_PAREN, TokenType.COMMA)))
        if r.cur is not None and r.cur.token_type == TokenType.COMMA:
            r.i += 1
    r.expect(")")
    return items


def parse_create(sql: str) -> Header:
    r = _Reader(sql)
    r.expect("CREATE")
    h = Header(schema=None, name="")
    h.replace = r.word("OR", "REPLACE")
    r.expect("FUNCTION")
    h.if_exists = r.word("IF", "NOT", "EXISTS")
    _target(r, h)
    h.params = [_param(r, item) for item in _param_list(r)]
    r.expect("RETURNS")
    h.returns = r.until({"RAISES", "AS", "BEGIN"})
    if not h.returns:
        r.fail("expected the return type after RETURNS")
    if r.word("RAISES"):
        h.raises = tuple(n.strip().lower() for n in r.until({"AS", "BEGIN"}).split(",")
                         if n.strip())
    for mode in ("SYNC", "ASYNC"):
        if r.word("AS", mode):
            h.mode = mode.lower()
    if not (r.cur is not None and r.cur.text.upper() == "BEGIN"):  # AS may precede BEGIN
        r.expect("AS")
    h.block = r.cur is not None and r.cur.text.upper() == "BEGIN"
    h.body = r.rest()
    if not h.body:
        r.fail("expected the function's body after AS")
    return h


def _param(r: _Reader, item: str) -> tuple[str, str, str | None]:
    inner = _Reader(item)
    name = inner.name()
    type_text = inner.until({"DEFAULT"})
    default = inner.rest() if inner.word("DEFAULT") else None
    if not type_text:
        raise ParseError(f"parameter {name!r} needs a type (as in {name} bigint)")
    if default == "":
        raise ParseError(f"parameter {name!r}: DEFAULT needs a value")
    return name, type_text, default


def parse_drop(sql: str) -> tuple[Header, list[str] | None]:
    """``DROP FUNCTION [IF EXISTS] [[recv]] name[(types)]``: the header and the types named
    (None when no parenthesis follows the name)."""
    r = _Reader(sql)
    r.expect("DROP", "FUNCTION")
    h = Header(schema=None, name="")
    h.if_exists = r.word("IF", "EXISTS")
    _target(r, h)
    types = _param_list(r) if r.cur is not None and r.cur.token_type == TokenType.L_PAREN \
        else None
    if r.cur is not None and r.cur.token_type != TokenType.SEMICOLON:
        r.fail("unexpected text after the function")
    return h, types
