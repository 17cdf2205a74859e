"""The AST of PL-Grizzly scripts and block bodies: control flow of our own, SQL inside.

SQL statements and expressions stay sqlglot trees parsed by our dialect (``Code``); the
control-flow constructs around them are these dataclasses, run by ``pl/interpreter.py``.
Every node knows its line in the script (for the PL stack trace).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..dialect import parse
from .variables import has_interpolation, interpolate


@dataclass
class Code:
    """A SQL statement or expression as written. Text holding ``{name}`` is parsed when it
    runs (after interpolation); any other is parsed once, when the script is."""

    text: str
    expression: bool  # an expression (parsed as ``SELECT <text>``), else a statement
    node: exp.Expression | None = None
    # (session, its prepared statement of this code): kept by the interpreter so a loop
    # binds each statement once (``Interpreter.prepared``)
    compiled: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not has_interpolation(self.text):
            self.node = self._parse(self.text)

    def resolve(self, variables: Mapping[str, pa.Scalar]) -> exp.Expression:
        if self.node is not None:
            return self.node
        return self._parse(interpolate(self.text, variables))

    def _parse(self, text: str) -> exp.Expression:
        if not self.expression:
            stmts = parse(text)
            if len(stmts) != 1:
                raise AssertionError("one statement")  # the script parser split them
            return stmts[0]
        select = parse("SELECT " + text)[0]
        assert isinstance(select, exp.Select)
        return select.expressions[0]


@dataclass
class Node:
    line: int


@dataclass
class Sql(Node):
    code: Code


@dataclass
class Let(Node):
    name: str
    value: Code


@dataclass
class Assign(Node):
    """``SET name = expr``: reassign in the innermost scope declaring it, else the session."""

    name: str
    value: Code


@dataclass
class Block(Node):
    body: list[Node]


@dataclass
class If(Node):
    branches: list[tuple[Code, list[Node]]]
    otherwise: list[Node] | None = None


@dataclass
class While(Node):
    condition: Code
    body: list[Node]


@dataclass
class For(Node):
    """``FOR r IN (query) DO ... END FOR``: ``$r`` is each row, a struct (``$r.col``)."""

    var: str
    query: Code
    body: list[Node]


@dataclass
class Return(Node):
    value: Code | None


@dataclass
class Break(Node):
    pass


@dataclass
class Continue(Node):
    pass


@dataclass
class Raise(Node):
    """``RAISE t(field => expr, ...)``; ``RAISE`` alone re-raises the error being caught."""

    type_name: str | None
    args: list[tuple[str, Code]] = field(default_factory=list)


@dataclass
class Catch:
    type_name: str  # an exception type, ``error`` (Kodiak's own), or ``_`` (any)
    alias: str | None
    body: list[Node]


@dataclass
class Try(Node):
    body: list[Node]
    catches: list[Catch]


@dataclass
class Script:
    body: list[Node]
    name: str = "script"  # a function's name when it is a function body
