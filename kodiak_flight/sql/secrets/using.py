"""``USING SECRET name`` as the issue and DuckDB-like peers write it, read by two small
parser hooks of the PL-Grizzly dialect (``dialect.py``):

* ``read_parquet('f.parquet' USING SECRET s)`` (any call): the clause after the last
  argument becomes the option ``secret := 's'``;
* ``COPY t FROM 'f' (FORMAT csv) USING SECRET s``: a trailing clause becomes the COPY option
  ``(SECRET 's')``.

Both spellings stay valid (``secret := 'name'``, ``(SECRET name)``). The name folds as
every name does: unquoted to lower case, quoted (or a string) as written.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

_NAMES = (TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING)


def _name(tok: Token) -> str:
    return tok.text if tok.token_type in (TokenType.IDENTIFIER, TokenType.STRING) \
        else tok.text.lower()


def call_secret(parser: Any) -> exp.Expression | None:
    """After a call's arguments: ``USING SECRET name`` as ``secret := 'name'``, or None."""
    if not parser._match_text_seq("USING", "SECRET"):
        return None
    tok = parser._curr
    if tok is None or tok.token_type not in _NAMES:
        parser.raise_error("expected a secret's name after USING SECRET")
        return None
    parser._advance()
    return exp.PropertyEQ(this=exp.to_identifier("secret"),
                          expression=exp.Literal.string(_name(tok)))


def split_copy_secret(tokens: list[Token]) -> tuple[list[Token], str | None]:
    """A COPY statement's tokens without a trailing ``USING SECRET name``, and the name."""
    if len(tokens) >= 4 and [t.text.upper() for t in tokens[-3:-1]] == ["USING", "SECRET"] \
            and tokens[-3].token_type != TokenType.IDENTIFIER \
            and tokens[-1].token_type in _NAMES:
        return tokens[:-3], _name(tokens[-1])
    return tokens, None


def copy_secret(name: str) -> exp.CopyParameter:
    return exp.CopyParameter(this=exp.var("SECRET"), expression=exp.Literal.string(name))
