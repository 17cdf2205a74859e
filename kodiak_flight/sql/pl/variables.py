"""Variables: the session's (``SET``) and the running script's block scopes (``LET``).

A session has one :class:`Variables`. Scripts and function bodies push a *frame* (a call:
a function sees its parameters and its own locals, never its caller's) holding a stack of
block *scopes*. ``$name`` in any expression reads :meth:`Variables.visible`, which the binder
gets as ``Context.variables`` and binds as a constant value, never as SQL text.

``{name}`` interpolation (:func:`interpolate`) is the one place a variable becomes text: only
where an identifier stands, only a value that is a valid identifier, always quoted.
"""

from __future__ import annotations

import contextlib
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyarrow as pa
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from ..dialect import Grizzly
from ..errors import BindError, suggest
from .bodies import Bodies


@dataclass
class CallLimits:
    """How deep calls may nest: ``max_depth`` calls of one function inside each other
    (recursion), ``max_stack`` frames in all (scripts and functions); and how many turns
    one ``WHILE`` or ``FOR`` may take (``max_loop_iterations``, None: no limit)."""

    max_depth: int = 32
    max_stack: int = 64
    max_loop_iterations: int | None = None


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD = (TokenType.VAR, TokenType.NUMBER)


class Variables:
    """The variables a session's statements can read, innermost scope first."""

    def __init__(self, session: dict[str, pa.Scalar] | None = None,
                 limits: CallLimits | None = None) -> None:
        self.session: dict[str, pa.Scalar] = {} if session is None else session
        self.frames: list[list[dict[str, pa.Scalar]]] = []  # per call: its block scopes
        self.calls: list[str] = []  # the functions being run, outermost first
        self.limits = CallLimits() if limits is None else limits  # configurable per session
        self.bodies = Bodies()  # functions' bodies parsed once (``pl/bodies.py``)

    def shared(self) -> Variables:
        """Another session's view of these session variables (and limits): a Flight SQL
        connection's transactions read and set the connection's variables, each with frames
        of its own for the scripts it runs."""
        return Variables(self.session, self.limits)

    def visible(self) -> Mapping[str, pa.Scalar]:
        scopes = self.frames[-1][::-1] if self.frames else []
        return ChainMap(*scopes, self.session)

    def get(self, name: str) -> pa.Scalar:
        known = self.visible()
        key = name.lower()
        if key not in known:
            raise BindError(f"variable ${name} is not set" + suggest(key, known))
        return known[key]

    def let(self, name: str, value: pa.Scalar) -> None:
        """``LET``: declare in the innermost block scope (the session's outside blocks)."""
        target = self.frames[-1][-1] if self.frames else self.session
        target[name.lower()] = value

    def assign(self, name: str, value: pa.Scalar) -> None:
        """``SET``: reassign the innermost declaration, else set a session variable."""
        key = name.lower()
        for scope in reversed(self.frames[-1] if self.frames else []):
            if key in scope:
                scope[key] = value
                return
        self.session[key] = value

    def reset(self, name: str) -> None:
        key = name.lower()
        if key not in self.session:
            raise BindError(f"session variable {name} is not set"
                            + suggest(key, self.session))
        del self.session[key]

    @contextlib.contextmanager
    def frame(self, values: Mapping[str, pa.Scalar] | None = None) -> Iterator[None]:
        """A call's frame (a script, a function body), starting with ``values``."""
        self.frames.append([{k.lower(): v for k, v in (values or {}).items()}])
        try:
            yield
        finally:
            self.frames.pop()

    @contextlib.contextmanager
    def block(self) -> Iterator[None]:
        """A block's scope inside the current frame (``BEGIN ... END``, a loop's body)."""
        if not self.frames:
            with self.frame(), self.block():
                yield
            return
        self.frames[-1].append({})
        try:
            yield
        finally:
            self.frames[-1].pop()


def has_interpolation(sql: str) -> bool:
    """Whether ``sql`` has a ``{name}`` where an identifier stands."""
    return "{" in sql and bool(_slots(sql))


def interpolate(sql: str, variables: Mapping[str, pa.Scalar]) -> str:
    """``sql`` with each word holding ``{name}`` (``sales_{region}``) replaced by the quoted
    identifier the variables make of it; a value that is not a valid identifier, or a name
    not set, is refused."""
    out, last = [], 0
    for start, end, parts in _slots(sql):
        word = "".join(_identifier_part(p, variables) if is_var else p for is_var, p in parts)
        out.append(sql[last:start])
        out.append('"' + word + '"')
        last = end
    out.append(sql[last:])
    return "".join(out)


def _identifier_part(name: str, variables: Mapping[str, pa.Scalar]) -> str:
    key = name.lower()
    if key not in variables:
        raise BindError(f"variable {{{name}}} is not set" + suggest(key, variables))
    value = variables[key].as_py()
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else None
    if text is None or not _IDENTIFIER.match(text):
        raise BindError(f"{{{name}}} stands for an identifier, but its value {value!r} is "
                        "not a valid identifier (letters, digits and _, not starting with a "
                        "digit)")
    return text


def _slots(sql: str) -> list[tuple[int, int, list[tuple[bool, str]]]]:
    """Each identifier-shaped word holding ``{name}``: (start, end, parts (is_var, text))."""
    try:
        tokens = Grizzly().tokenize(sql)
    except TokenError:
        return []
    slots: list[tuple[int, int, list[tuple[bool, str]]]] = []
    i = 0
    while i < len(tokens):
        parts: list[tuple[bool, str]] = []
        start = end = None
        j = i
        while True:
            t = tokens[j] if j < len(tokens) else None
            if t is None or (end is not None and t.start != end):
                break
            if _brace_var(tokens, j) and (end is None or tokens[j].start == end):
                parts.append((True, tokens[j + 1].text))
                start = t.start if start is None else start
                end = tokens[j + 2].end + 1
                j += 3
            elif t.token_type in _WORD and t.text.replace("_", "a").isalnum():
                parts.append((False, t.text))
                start = t.start if start is None else start
                end = t.end + 1
                j += 1
            else:
                break
        if any(v for v, _ in parts):
            assert start is not None and end is not None
            slots.append((start, end, parts))
            i = j
        else:
            i = max(j, i + 1)
    return slots


def _brace_var(tokens: list, j: int) -> bool:
    """``{ name }`` written with no space at tokens j..j+2."""
    if j + 2 >= len(tokens):
        return False
    a, b, c = tokens[j:j + 3]
    return a.token_type == TokenType.L_BRACE and c.token_type == TokenType.R_BRACE and \
        b.token_type == TokenType.VAR and b.start == a.end + 1 and c.start == b.end + 1
