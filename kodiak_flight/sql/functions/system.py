"""Functions about the system and the values themselves: ``version()`` (Kodiak's, as
``v<version>``) and ``typeof(x)`` (Kodiak's type name, ``types.sql_name``: the names DuckDB
writes). ``current_schema()`` and ``current_database()`` read the session, so the binder
answers them (``binder/nested.py``)."""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from ..expr import Expr, Lit
from ..types import sql_name
from .registry import SCALAR, Function, register


@cache
def kodiak_version() -> str:
    """The installed package's version."""
    try:
        from importlib.metadata import version

        return version("kodiak")
    except Exception:  # not installed (a source checkout)
        return "0.0.0"


def _version(args: list[Expr]) -> Expr:
    return Lit(f"v{kodiak_version()}", pa.string())


def _typeof(args: list[Expr]) -> Expr:
    t = args[0].type
    return Lit('"NULL"' if pa.types.is_null(t) else sql_name(t), pa.string())


register(Function("version", SCALAR, _version, 0, 0, aliases=("current_version",),
                  doc="Kodiak's version, v0.1.0"))
register(Function("typeof", SCALAR, _typeof, 1, 1, doc="the type name of the argument"))
