"""The access-control statements' grammar, read from tokens of the PL-Grizzly tokenizer.

sqlglot parses some of these statements (GRANT ... ON TABLE) and keeps others as raw
commands (CREATE ROLE, GRANT role TO user); both become token lists here, so quoting works
the same everywhere: a quoted name keeps its case and any character, an unquoted one is
folded to lower case, and a password is a string literal. Names are values in the catalog,
never spliced into SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ..dialect import Grizzly
from ..errors import BindError
from .model import APPLIES, KINDS, RIGHTS

_NAME_TYPES = (TokenType.VAR, TokenType.IDENTIFIER)


def statement_text(node: exp.Expression) -> str:
    """The statement as text again: a raw command's words, or sqlglot's rendering."""
    if isinstance(node, exp.Command):
        tail = node.args.get("expression")
        return f"{node.name} {tail if isinstance(tail, str) else ''}"
    return node.sql(dialect=Grizzly)


def words(node: exp.Expression) -> list[str]:
    """The leading words, upper case (for the registry's ``matches``)."""
    text = statement_text(node).split()
    return [w.upper() for w in text[:3]]


@dataclass
class Tokens:
    toks: list[Token]
    pos: int = 0

    @classmethod
    def of(cls, node: exp.Expression) -> Tokens:
        try:
            toks = Grizzly().tokenize(statement_text(node))
        except Exception as e:  # sqlglot's TokenError: unterminated quote and the like
            raise BindError(f"cannot read the statement: {e}") from None
        return cls([t for t in toks if t.token_type != TokenType.SEMICOLON])

    def peek(self, *kw: str) -> bool:
        """Whether the next tokens are the keywords ``kw`` (unquoted)."""
        for i, k in enumerate(kw):
            t = self.toks[self.pos + i] if self.pos + i < len(self.toks) else None
            if t is None or t.token_type == TokenType.IDENTIFIER or t.text.upper() != k:
                return False
        return True

    def take(self, *kw: str) -> bool:
        if self.peek(*kw):
            self.pos += len(kw)
            return True
        return False

    def expect(self, *kw: str) -> None:
        if not self.take(*kw):
            raise BindError(f"expected {' '.join(kw)} {self.where()}")

    def where(self) -> str:
        if self.pos >= len(self.toks):
            return "at the end of the statement"
        return f"at {self.toks[self.pos].text!r}"

    def name(self, what: str) -> str:
        """A user, role or object name: quoted (as written) or bare (lower case)."""
        if self.pos >= len(self.toks):
            raise BindError(f"expected a {what} name at the end of the statement")
        t = self.toks[self.pos]
        if t.token_type == TokenType.IDENTIFIER:
            name = t.text
        elif t.token_type in _NAME_TYPES or (t.text.isidentifier() and t.token_type
                                             != TokenType.STRING):
            name = t.text.lower()
        else:
            raise BindError(f"expected a {what} name {self.where()}")
        if not name or len(name) > 128 or any(ord(c) < 32 for c in name):
            raise BindError(f"invalid {what} name {name!r}: 1-128 printable characters")
        self.pos += 1
        return name

    def dotted(self, what: str) -> str:
        parts = [self.name(what)]
        while self.pos < len(self.toks) and self.toks[self.pos].token_type == TokenType.DOT:
            self.pos += 1
            parts.append(self.name(what))
        if len(parts) > 2:
            raise BindError(f"{what} name {'.'.join(parts)!r} has too many parts")
        return ".".join(parts)

    def names(self, what: str) -> list[str]:
        out = [self.name(what)]
        while self.take_comma():
            out.append(self.name(what))
        return out

    def take_comma(self) -> bool:
        if self.pos < len(self.toks) and self.toks[self.pos].token_type == TokenType.COMMA:
            self.pos += 1
            return True
        return False

    def string(self, what: str) -> str:
        if self.pos >= len(self.toks) or self.toks[self.pos].token_type != TokenType.STRING:
            raise BindError(f"expected the {what} as a quoted string {self.where()}")
        self.pos += 1
        return self.toks[self.pos - 1].text

    def end(self) -> None:
        if self.pos < len(self.toks):
            raise BindError(f"unexpected {self.toks[self.pos].text!r} after the statement")


@dataclass
class RightsGrant:
    """GRANT rights ON kind object TO grantees (or REVOKE ... FROM)."""

    rights: list[str]
    kind: str
    target: str  # as written (unresolved); "" for the database
    grantees: list[str]
    grant_option: bool = False


@dataclass
class RoleGrant:
    """GRANT role, ... TO grantees (or REVOKE role FROM)."""

    roles: list[str]
    grantees: list[str]


def grant(node: exp.Expression, revoke: bool) -> RightsGrant | RoleGrant:
    t = Tokens.of(node)
    t.expect("REVOKE" if revoke else "GRANT")
    option_only = revoke and t.take("GRANT", "OPTION", "FOR")
    save = t.pos
    rights = _rights(t)
    if rights is None or not t.peek("ON"):  # GRANT role TO user
        t.pos = save
        roles = t.names("role")
        t.expect("FROM" if revoke else "TO")
        grantees = t.names("user or role")
        t.end()
        return RoleGrant(roles, grantees)
    t.expect("ON")
    kind = _kind(t)
    target = "" if kind == "database" else t.dotted(kind)
    t.expect("FROM" if revoke else "TO")
    grantees = t.names("user or role")
    opt = (not revoke and t.take("WITH", "GRANT", "OPTION")) or option_only
    t.end()
    for r in rights:
        if r not in APPLIES[kind]:
            raise BindError(f"{r.upper()} cannot be granted on a {kind}; a {kind} takes "
                            + ", ".join(x.upper() for x in APPLIES[kind]))
    return RightsGrant(rights, kind, target, grantees, opt)


def _rights(t: Tokens) -> list[str] | None:
    out = []
    while True:
        if t.pos >= len(t.toks) or t.toks[t.pos].token_type == TokenType.IDENTIFIER:
            return None
        word = t.toks[t.pos].text.lower()
        if word not in RIGHTS:
            return None
        t.pos += 1
        if word == "all":
            t.take("PRIVILEGES")
        out.append(word)
        if not t.take_comma():
            return out


def _kind(t: Tokens) -> str:
    for k in KINDS:
        if t.take(k.upper()):
            return k
    if t.take("VIEW"):
        return "table"
    return "table"  # GRANT SELECT ON t: a table, as in PostgreSQL
