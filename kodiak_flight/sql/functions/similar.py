"""``SIMILAR TO``, the SQL standard's (and PostgreSQL's) pattern match: the whole value must
match; ``%`` and ``_`` are LIKE's wildcards, ``|``, ``*``, ``+``, ``?``, ``{m,n}``, ``( )``
and ``[ ]`` are a regular expression's, and ``.`` is itself. Run as an RE2 full match."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError
from ..expr import Expr, Lit, call
from .registry import constant
from .strings import to_string

_REGEX_SPECIAL = set(r".^$\\")  # meaningful to RE2, literal in SIMILAR TO


def similar_regex(pattern: str, escape: str = "\\") -> str:
    """The anchored RE2 expression of a SIMILAR TO pattern."""
    if len(escape) > 1:
        raise BindError(f"SIMILAR TO's escape must be one character, not {escape!r}")
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape:
            if i + 1 == len(pattern):
                raise BindError(f"SIMILAR TO pattern {pattern!r} ends with its escape")
            nxt = pattern[i + 1]
            out.append("\\" + nxt if not nxt.isalnum() else nxt)
            i += 2
            continue
        out.append({"%": ".*", "_": "."}.get(ch, "\\" + ch if ch in _REGEX_SPECIAL else ch))
        i += 1
    return "^(?:" + "".join(out) + ")$"


def similar_to(value: Expr, pattern: Expr, escape: str = "\\") -> Expr:
    """``value SIMILAR TO pattern [ESCAPE escape]`` (the pattern a constant)."""
    if isinstance(pattern, Lit) and pattern.value is None:
        return Lit(None, pa.bool_())
    regex = similar_regex(str(constant(pattern, "SIMILAR TO pattern")), escape)
    return call("match_substring_regex", [to_string(value)], pc.MatchSubstringOptions(regex),
                what="SIMILAR TO")
