"""The secret statements' syntax, which sqlglot keeps as a generic ``Command``:

    CREATE [OR REPLACE] [PERSISTENT | TEMPORARY] SECRET [IF NOT EXISTS] name (key value, ...)
    DROP [PERSISTENT | TEMPORARY] SECRET [IF EXISTS] name
    ALTER SECRET name ROTATE (key value, ...)
    SHOW SECRETS

DuckDB's grammar. A value is a string, a number, a boolean, a bare word or a list of those in
``[...]`` (``SCOPE ['s3://a', 's3://b']``). Error messages name keys and positions, never a
value: the text being parsed holds the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..dialect import Grizzly
from ..errors import ParseError

_WORDS = {TokenType.VAR, TokenType.IDENTIFIER}
_SCALARS = {TokenType.STRING: str, TokenType.NUMBER: str, TokenType.TRUE: bool,
            TokenType.FALSE: bool}


@dataclass
class SecretStatement:
    verb: str  # CREATE | DROP | ALTER | SHOW
    name: str = ""
    replace: bool = False
    if_exists: bool = False  # IF EXISTS (DROP), IF NOT EXISTS (CREATE)
    storage: str | None = None  # "persistent" | "temporary" | None: unsaid
    options: dict[str, Any] = field(default_factory=dict)  # upper-case key -> value


def is_secret_command(verb: str, text: str) -> bool:
    """Whether ``<verb> <text>`` (a sqlglot Command) is a secret statement."""
    words = text.split(None, 4)
    upper = [w.upper() for w in words]
    if verb == "SHOW":
        return upper[:1] == ["SECRETS"]
    if verb == "ALTER":
        return upper[:1] == ["SECRET"]
    if verb == "CREATE":
        rest = upper[2:] if upper[:2] == ["OR", "REPLACE"] else upper
        rest = rest[1:] if rest[:1] in (["PERSISTENT"], ["TEMPORARY"], ["TEMP"]) else rest
        return rest[:1] == ["SECRET"]
    if verb == "DROP":
        rest = upper[1:] if upper[:1] in (["PERSISTENT"], ["TEMPORARY"], ["TEMP"]) else upper
        return rest[:1] == ["SECRET"]
    return False


class _Reader:
    def __init__(self, verb: str, text: str) -> None:
        self.verb = verb
        try:
            self.tokens: list[Token] = Grizzly().tokenize(text)
        except TokenError:
            raise ParseError(f"syntax error in {verb} SECRET (an unterminated quote?)") from None
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        """Take the next token if it is one of ``words`` (any case)."""
        t = self.peek()
        if t is not None and t.token_type != TokenType.STRING and t.text.upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, what: str, *words: str) -> None:
        if not self.word(*words):
            raise ParseError(f"{self.verb} SECRET: expected {what}{self.where()}")

    def where(self) -> str:
        t = self.peek()
        return " at the end" if t is None else f" at line {t.line}, column {t.col}"

    def name(self) -> str:
        t = self.peek()
        if t is None or t.token_type not in _WORDS and not t.text.isidentifier():
            raise ParseError(f"{self.verb} SECRET: expected the secret's name{self.where()}")
        self.i += 1
        return t.text if t.token_type == TokenType.IDENTIFIER else t.text.lower()

    def value(self) -> Any:
        t = self.peek()
        if t is None:
            raise ParseError(f"{self.verb} SECRET: expected a value at the end")
        if t.token_type == TokenType.L_BRACKET:
            self.i += 1
            items = []
            while not self.word("]"):
                items.append(self.value())
                self.word(",")
            return items
        self.i += 1
        if t.token_type in _SCALARS:
            return t.text if _SCALARS[t.token_type] is str else t.token_type == TokenType.TRUE
        if t.token_type in _WORDS or t.text.isidentifier():
            return t.text
        raise ParseError(f"{self.verb} SECRET: expected a value, a string or a list"
                         f" at line {t.line}, column {t.col}")

    def options(self) -> dict[str, Any]:
        self.expect("(", "(")
        out: dict[str, Any] = {}
        while not self.word(")"):
            t = self.peek()
            if t is None or t.token_type == TokenType.STRING:
                raise ParseError(f"{self.verb} SECRET: expected an option name or ){self.where()}")
            self.i += 1
            key = t.text.upper()
            if key in out:
                raise ParseError(f"{self.verb} SECRET: option {key} is given twice")
            out[key] = self.value()
            if not self.word(","):
                self.expect(", or )", ")")
                break
        return out

    def end(self) -> None:
        self.word(";")
        if self.peek() is not None:
            raise ParseError(f"{self.verb} SECRET: unexpected text{self.where()}")


def parse_secret(verb: str, text: str) -> SecretStatement:
    """The secret statement ``<verb> <text>`` (``verb`` upper case)."""
    r = _Reader(verb, text)
    st = SecretStatement(verb)
    if verb == "SHOW":
        r.expect("SECRETS", "SECRETS")
        r.end()
        return st
    if verb == "CREATE" and r.word("OR"):
        r.expect("REPLACE after OR", "REPLACE")
        st.replace = True
    if verb in ("CREATE", "DROP"):
        if r.word("PERSISTENT"):
            st.storage = "persistent"
        elif r.word("TEMPORARY", "TEMP"):
            st.storage = "temporary"
    r.expect("SECRET", "SECRET")
    if r.word("IF"):
        if verb == "CREATE":
            r.expect("NOT EXISTS after IF", "NOT")
        r.expect("EXISTS after IF", "EXISTS")
        st.if_exists = True
    st.name = r.name()
    if verb == "CREATE":
        st.options = r.options()
    elif verb == "ALTER":
        r.expect("ROTATE", "ROTATE")
        st.options = r.options()
    r.end()
    return st
