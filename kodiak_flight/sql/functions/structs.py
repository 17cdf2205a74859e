"""Struct functions, DuckDB's: ``{'x': 1, 'y': 2}`` / ``struct_pack(x := 1)`` build an Arrow
struct (``make_struct``), ``struct_extract(s, 'x')`` / ``s.x`` / ``s['x']`` read a field
(``struct_field``; names match case-insensitively, as DuckDB's)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError, SqlTypeError
from ..expr import Expr, Lit, call
from ..types import sql_name
from .registry import SCALAR, Function, constant, register


def struct_pack(names: list[str], args: list[Expr]) -> Expr:
    """A struct of ``args`` with fields ``names``."""
    lowered = [n.lower() for n in names]
    dup = next((n for i, n in enumerate(lowered) if n in lowered[:i]), None)
    if dup is not None:
        raise BindError(f"duplicate struct field name {dup!r}")
    args = [Lit(None, pa.int32()) if pa.types.is_null(a.type) and isinstance(a, Lit) else a
            for a in args]
    return call("make_struct", args, pc.MakeStructOptions(names), what="struct_pack")


def field(s: Expr, name: str) -> Expr:
    """Field ``name`` of struct ``s`` (any case)."""
    if not pa.types.is_struct(s.type):
        raise SqlTypeError(f"cannot read field {name!r} of {sql_name(s.type)}: not a STRUCT")
    names = [s.type.field(i).name for i in range(s.type.num_fields)]
    exact = [i for i, n in enumerate(names) if n == name]
    found = exact or [i for i, n in enumerate(names) if n.lower() == name.lower()]
    if not found:
        raise BindError(f"struct {sql_name(s.type)} has no field {name!r}")
    return call("struct_field", [s], pc.StructFieldOptions([found[0]]), what="struct_extract")


def struct_extract(args: list[Expr]) -> Expr:
    return field(args[0], str(constant(args[1], "struct_extract field name")))


register(Function("struct_extract", SCALAR, struct_extract, 2, 2,
                  doc="struct_extract(s, 'x'), s.x, s['x']: a field"))
register(Function("row", SCALAR, lambda a: struct_pack([f"v{i + 1}" for i in range(len(a))], a),
                  1, None, doc="row(a, b, ...): a struct of unnamed fields v1, v2, ..."))
