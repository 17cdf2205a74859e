"""The statement registry: each kind of statement is one module registering a
:class:`Statement`, and the session, prepared statements and the server ask it what a
statement is and how it runs.

A statement declares the sqlglot node it handles (and, for nodes shared by several kinds such
as ``CREATE``, which of them), whether it writes (then it runs inside a transaction: the open
one or its own), whether it answers with rows, its result schema without running it, and how
it runs. Adding ``CREATE FUNCTION`` is one new module with one registered class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import pyarrow as pa
from sqlglot import exp

from ..binder import Context
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..result import Result


class Statement(ABC):
    """One kind of statement. Subclasses set ``node``, implement ``run`` and override what
    else differs."""

    node: ClassVar[type[exp.Expression] | tuple[type[exp.Expression], ...]]
    writes: ClassVar[bool] = True  # runs in a transaction (the open one, or its own)
    kind: ClassVar[str | None] = None  # for CREATE / DROP: the object kind it handles
    sensitive: ClassVar[bool] = False  # its text holds a secret: never kept for reuse

    def matches(self, node: exp.Expression) -> bool:
        if not isinstance(node, self.node):
            return False
        return self.kind is None or (node.args.get("kind") or "").upper() == self.kind

    def returns_rows(self, node: exp.Expression) -> bool:
        """Whether it answers with a result set (a query, EXPLAIN, RETURNING)."""
        return False

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema | None:
        """The result schema, found without running it (None for no result set)."""
        return None

    @abstractmethod
    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        """Run the statement; a writing one gets ``ex.tx`` open (committed by the caller)."""


STATEMENTS: list[Statement] = []


def register(cls: type[Statement]) -> type[Statement]:
    """Class decorator: add one instance of ``cls`` to the registry."""
    STATEMENTS.append(cls())
    return cls


def statement_for(node: exp.Expression) -> Statement:
    for s in STATEMENTS:
        if s.matches(node):
            return s
    raise NotSupportedError(f"statement {_describe(node)} is not supported")


def _describe(node: exp.Expression) -> str:
    """The statement's leading words as the user wrote them (``CREATE TRIGGER``)."""
    kind = node.args.get("kind")
    if isinstance(kind, str) and kind:
        return f"{node.key.upper()} {kind.upper()}"
    if isinstance(node, exp.Command):
        tail = node.args.get("expression")
        rest = (tail if isinstance(tail, str) else tail.name if tail is not None else "").split()
        return " ".join([node.name.upper(), *(w.upper() for w in rest[:1])])
    words = node.sql().split()
    return words[0].upper() if words else node.key.upper()


class VerbCommand(Statement):
    """A statement sqlglot leaves as a ``Command`` and Kodiak's dialect names by ``verb``
    (CREATE FUNCTION, CREATE TRIGGER ...): its text is read by the statement's own parser."""

    node = exp.Command
    verb = ""

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == self.verb


def command_text(node: exp.Expression) -> str:
    """The text a ``Command`` holds after its verb, as the user wrote it."""
    arg = node.args.get("expression")
    return arg.name if isinstance(arg, exp.Literal) else str(arg or "")
