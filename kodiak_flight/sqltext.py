"""SQL text as the CLI and the shell cut it into statements, without parsing it.

A script is cut at each ``;`` outside quotes, comments and blocks. Blocks hold semicolons of
their own and are sent whole: a trigger's or a function's ``BEGIN ... END`` body, a
PL-Grizzly ``BEGIN ... END`` block, ``IF ... END IF``, ``WHILE ... END WHILE``, ``FOR ...
END FOR``, ``TRY ... END TRY`` (``CASE ... END`` is counted so its ``END`` closes nothing
else). The server parses what it is sent; this module only needs to find the ends, and it
stays light (no sqlglot) because every client command loads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TOKEN = re.compile(r"""'(?:[^']|'')*'?|"(?:[^"]|"")*"?|--[^\n]*|/\*.*?(?:\*/|\Z)|;"""
                    r"""|[A-Za-z_][A-Za-z0-9_$]*|\S""", re.S)
_STATEMENT_BLOCKS = {"IF", "WHILE", "FOR", "TRY", "LOOP"}  # at a statement's start: END IF ...
_STARTS_STATEMENT = {"THEN", "ELSE", "DO", "BEGIN", "TRY", "LOOP"}  # a statement follows
_TRANSACTION = {"TRANSACTION", "WORK", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", ";"}
_PL_START = {"LET", "IF", "WHILE", "FOR", "RETURN", "BREAK", "CONTINUE", "RAISE", "TRY"}
_NOT_A_BLOCK_AFTER = {"(", ",", "."}  # BEGIN as a name
_CREATE_MODIFIERS = {"OR", "REPLACE", "TEMP", "TEMPORARY", "PERSISTENT"}
_WITH_BODY = {"TRIGGER", "FUNCTION", "PROCEDURE", "MACRO"}  # CREATE ... BEGIN ... END


def _tokens(text: str) -> Iterator[re.Match[str]]:
    return _TOKEN.finditer(text)


def _is_comment(tok: str) -> bool:
    return tok.startswith(("--", "/*"))


def statement_ends(text: str) -> tuple[list[int], int]:
    """Where ``text``'s top-level ``;`` are (their offsets), and how many blocks are still
    open at its end."""
    words = [(m.start(), m.group()) for m in _tokens(text) if not _is_comment(m.group())]
    ends: list[int] = []
    stack: list[str] = []
    start = True  # the next word starts a statement
    create = ""  # "create" at a top-level CREATE, "body" once it is a trigger or function
    for i, (at, tok) in enumerate(words):
        word = tok.upper()
        nxt = words[i + 1][1].upper() if i + 1 < len(words) else ";"
        prev = words[i - 1][1] if i else ";"
        if tok == ";":
            if not stack:
                ends.append(at)
                create = ""
            start = True
            continue
        if start and not stack:
            create = "create" if word == "CREATE" else ""
        elif create == "create" and word not in _CREATE_MODIFIERS:
            create = "body" if word in _WITH_BODY else ""
        if word == "END" and stack:
            closed = stack.pop()
            if closed in _STATEMENT_BLOCKS and nxt == closed:
                words[i + 1] = (words[i + 1][0], "")  # END IF: the IF is END's
        elif word == "CASE":
            stack.append("CASE")
        elif word == "BEGIN" and _opens_block(start, create, prev, nxt):
            stack.append("BEGIN")
        elif start and word in _STATEMENT_BLOCKS and nxt not in (";", ","):
            stack.append(word)
        start = word in _STARTS_STATEMENT and not (stack and stack[-1] == "CASE")
    return ends, len(stack)


def _opens_block(start: bool, create: str, prev: str, nxt: str) -> bool:
    """Whether a BEGIN opens a block: at a statement's start unless it begins a transaction
    (``BEGIN;``, ``BEGIN TRANSACTION``), or as a trigger's or function's body."""
    if start:
        return nxt not in _TRANSACTION
    return create == "body" and prev not in _NOT_A_BLOCK_AFTER


def split_statements(text: str) -> list[str]:
    """The statements of a script (blocks whole); empty ones are dropped."""
    out, begin = [], 0
    for end in statement_ends(text)[0]:
        out.append(text[begin:end])
        begin = end + 1
    out.append(text[begin:])
    return [s.strip() for s in out if _strip_comments(s).strip()]


def is_script(statements: list[str]) -> bool:
    """Whether these statements make a PL-Grizzly script, which the server runs whole: one
    starts with a PL keyword or is a ``BEGIN ... END`` block (the server's rule, in
    ``sql/pl/parser.py``, without its parser)."""
    for stmt in statements:
        words = [m.group().upper() for m in _tokens(stmt) if not _is_comment(m.group())][:2]
        if words and (words[0] in _PL_START or
                      (words[0] == "BEGIN" and _opens_block(True, "", ";", words[-1]
                                                            if len(words) > 1 else ";"))):
            return True
    return False


def is_complete(text: str) -> bool:
    """Whether ``text`` ends a statement: its last token outside comments is a top-level
    ``;`` (no quote, comment or block left open)."""
    last = None
    for m in _tokens(text):
        tok = m.group()
        if _is_comment(tok):
            if tok.startswith("/*") and not tok.endswith("*/"):
                return False  # open block comment
            continue
        if tok[0] in "'\"" and (len(tok) == 1 or tok[-1] != tok[0] or _odd_quotes(tok)):
            return False  # open string or identifier
        last = m
    if last is None or last.group() != ";":
        return False
    return statement_ends(text)[1] == 0


def _odd_quotes(tok: str) -> bool:
    return tok.count(tok[0]) % 2 == 1


def _strip_comments(text: str) -> str:
    return _TOKEN.sub(lambda m: "" if _is_comment(m.group()) else m.group(), text)


_QUERY_START = re.compile(r"^\s*(\(|select\b|with\b|from\b|values\b|explain\b|table\b)", re.I)


def looks_like_query(text: str) -> bool:
    return bool(_QUERY_START.match(_strip_comments(text)))


def quote_ident(name: str) -> str:
    """``s.t`` → ``"s"."t"``; a name already quoted is kept."""
    if name.startswith('"'):
        return name
    return ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))


def split_table(name: str) -> tuple[str | None, str]:
    parts = name.split(".")
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, name
