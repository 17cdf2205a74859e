"""Function bodies parsed once: the script a ``CALL`` runs, kept per session.

A block body (or an expression body, read as ``RETURN <body>``) is parsed into our AST the
first time a session calls the function, and kept under the catalog object's identity and
version (with the body text, so a pending ``CREATE OR REPLACE`` in an open transaction,
whose version is not yet settled, is told apart by its text). The interpreter keeps each
statement's prepared plan on the AST's nodes (``Interpreter.prepared``), so a function
called again, or recursively, binds its statements once instead of parsing and binding
them on every call. ``CREATE OR REPLACE`` and ``DROP`` change the version: the next call
parses the new body.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (variables.py holds a session's Bodies; ast.py imports variables.py)
    from . import ast
    from .functions import UserFunction

MAX_BODIES = 128  # functions a session keeps parsed (least recently called are let go)

BodyKey = tuple[str, str, int, str, bool]


class Bodies:
    """One session's parsed function bodies, least recently used first."""

    def __init__(self, size: int = MAX_BODIES) -> None:
        self.size = size
        self.kept: OrderedDict[BodyKey, ast.Script] = OrderedDict()
        self.parsed = 0  # how many bodies were parsed (tests check the cache is used)

    def script(self, fn: UserFunction, parse: Callable[[UserFunction], ast.Script]
               ) -> ast.Script:
        """``fn``'s body as a script, parsed by ``parse`` only when not kept."""
        key = (fn.schema, fn.object_name, fn.version, fn.body, fn.block)
        hit = self.kept.get(key)
        if hit is not None:
            self.kept.move_to_end(key)
            return hit
        script = parse(fn)
        self.parsed += 1
        self.kept[key] = script
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)
        return script


__all__ = ["Bodies", "MAX_BODIES"]
