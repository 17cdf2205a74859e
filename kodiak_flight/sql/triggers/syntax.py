"""CREATE TRIGGER, DROP TRIGGER and SHOW TRIGGERS, recognised before sqlglot parses.

sqlglot has no grammar for SQLite's ``CREATE TRIGGER ... BEGIN stmt; ... END``: the body holds
semicolons of its own. The dialect's ``parse`` asks :func:`trigger_command` first and keeps
the whole text as one ``Command``; :func:`parse_create` reads its header here (with the
dialect's tokenizer, so strings and quoted names are never mistaken for keywords) and the
body statements are parsed by the dialect like any others. This module imports no dialect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from ..errors import ParseError

CREATE_TRIGGER = "CREATE TRIGGER"
DROP_TRIGGER = "DROP TRIGGER"
SHOW_TRIGGERS = "SHOW TRIGGERS"

_CREATE = re.compile(r"^\s*create\s+(?:(?:temp|temporary)\s+)?trigger\b", re.IGNORECASE)
_DROP = re.compile(r"^\s*drop\s+trigger\b", re.IGNORECASE)
_SHOW = re.compile(r"^\s*show\s+triggers\s*;?\s*$", re.IGNORECASE)

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QNAME = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_HEADER = re.compile(
    rf"^\s*create\s+(?P<temp>(?:temp|temporary)\s+)?trigger\s+"
    rf"(?P<exists>if\s+not\s+exists\s+)?(?P<name>{_QNAME})\s+"
    r"(?:(?P<timing>before|after|instead\s+of)\s+)?"
    r"(?P<event>insert|delete|update)(?:\s+of\s+(?P<columns>.+?))?\s+"
    rf"on\s+(?P<table>{_QNAME})"
    r"(?:\s+for\s+each\s+(?P<each>row|statement))?"
    r"(?:\s+when\s+(?P<when>.+?))?\s*$",
    re.IGNORECASE | re.DOTALL)
_DROP_FORM = re.compile(rf"^\s*drop\s+trigger\s+(?P<exists>if\s+exists\s+)?(?P<name>{_QNAME})"
                        r"\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_FORM = ("CREATE TRIGGER expects: CREATE TRIGGER [IF NOT EXISTS] name [BEFORE | AFTER | "
         "INSTEAD OF] {INSERT | DELETE | UPDATE [OF col, ...]} ON table [FOR EACH ROW | "
         "FOR EACH STATEMENT] [WHEN condition] BEGIN statement; ... END")


@dataclass(frozen=True)
class CreateTrigger:
    """A CREATE TRIGGER statement as written."""

    name: str  # possibly schema-qualified, as typed
    table: str  # as typed
    timing: str  # "before" | "after" | "instead of"
    event: str  # "insert" | "delete" | "update"
    columns: tuple[str, ...]  # UPDATE OF columns (folded unless quoted)
    each: str  # "row" | "statement"
    when: str | None  # the WHEN condition's text
    body: str  # the statements between BEGIN and END
    if_not_exists: bool
    temporary: bool
    sql: str  # the whole statement


def trigger_command(sql: str) -> exp.Command | None:
    """``sql`` as a Command of one of the trigger statements, or None."""
    for verb, pattern in ((CREATE_TRIGGER, _CREATE), (DROP_TRIGGER, _DROP),
                          (SHOW_TRIGGERS, _SHOW)):
        if pattern.match(sql):
            return exp.Command(this=verb, expression=exp.Literal.string(sql))
    return None


def parse_create(sql: str, dialect: type[Dialect]) -> CreateTrigger:
    """The parts of ``CREATE TRIGGER``: the header before its ``BEGIN``, the body up to the
    ``END`` that closes it (nothing but a ``;`` may follow)."""
    try:
        tokens = dialect().tokenize(sql)
    except TokenError as e:
        raise ParseError(f"CREATE TRIGGER: syntax error: {e}") from None
    begin = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.BEGIN), None)
    end = _closing_end(tokens, begin)
    if begin is None or end is None:
        raise ParseError(_FORM)
    if any(t.token_type != TokenType.SEMICOLON for t in tokens[end + 1:]):
        raise ParseError("CREATE TRIGGER: text after the END that closes the body: "
                         f"{sql[tokens[end + 1].start:].strip()!r}")
    m = _HEADER.match(sql[:tokens[begin].start])
    if m is None:
        raise ParseError(_FORM)
    body = sql[tokens[begin].end + 1:tokens[end].start].strip()
    if not body.strip(" \t\r\n;"):
        raise ParseError("CREATE TRIGGER: the body between BEGIN and END is empty")
    columns = tuple(_ident(c) for c in m["columns"].split(",")) if m["columns"] else ()
    return CreateTrigger(
        name=m["name"], table=m["table"],
        timing=" ".join((m["timing"] or "before").lower().split()),
        event=m["event"].lower(), columns=columns, each=(m["each"] or "row").lower(),
        when=m["when"].strip() if m["when"] else None, body=body,
        if_not_exists=bool(m["exists"]), temporary=bool(m["temp"]),
        sql=sql.strip().rstrip(";").strip())


def parse_drop(sql: str) -> tuple[str, bool]:
    """(the trigger's name as typed, IF EXISTS) of ``DROP TRIGGER``."""
    m = _DROP_FORM.match(sql)
    if m is None:
        raise ParseError("DROP TRIGGER expects: DROP TRIGGER [IF EXISTS] name")
    return m["name"], bool(m["exists"])


def split_name(text: str) -> tuple[str | None, str]:
    """(schema or None, name) of a possibly qualified name as typed; unquoted parts fold."""
    parts = re.findall(_NAME, text)
    if len(parts) == 2:
        return _ident(parts[0]), _ident(parts[1])
    return None, _ident(parts[0])


def _ident(text: str) -> str:
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    if not re.fullmatch(r"[A-Za-z_][\w$]*", text):
        raise ParseError(f"CREATE TRIGGER: {text!r} is not a name")
    return text.lower()


def _closing_end(tokens: list, begin: int | None) -> int | None:
    """The index of the ``END`` that closes the body's ``BEGIN`` (a ``CASE`` in the body
    has an ``END`` of its own)."""
    if begin is None:
        return None
    depth = 0
    for j in range(begin, len(tokens)):
        kind = tokens[j].token_type
        if kind in (TokenType.BEGIN, TokenType.CASE):
            depth += 1
        elif kind == TokenType.END:
            depth -= 1
            if depth == 0:
                return j
    return None
