"""Exception types as RAISE and CATCH see them: catalog objects of kind ``type`` with form
``exception`` (``CREATE TYPE not_found AS EXCEPTION (message varchar, key bigint)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..dialect import Grizzly
from ..errors import BindError, suggest
from .errors import ERROR, PlException


def exception_type(session: Any, name: str) -> list[tuple[str, str]]:
    """The fields (name, SQL type text) of exception type ``name``, looked up in the
    session's schema, then ``main``; refused when there is none."""
    snap = session.snapshot()
    for schema in dict.fromkeys((session.schema, "main")):
        obj = snap.object("type", schema, name.lower())
        if obj is None:
            continue
        if obj.definition.get("form") != "exception":
            raise BindError(f"type {name} is not an exception type (CREATE TYPE {name} AS "
                            "EXCEPTION (...) makes one)")
        return [(f["name"].lower(), f["type"]) for f in obj.definition.get("fields", [])]
    known = [o.name for o in snap.objects("type", session.schema)
             if o.definition.get("form") == "exception"]
    raise BindError(f"exception type {name} does not exist" + suggest(name, [*known, ERROR]))


def raise_value(session: Any, name: str, args: dict[str, exp.Expression],
                query: Callable[[exp.Expression], pa.Table]) -> PlException:
    """The exception ``RAISE name(field => expr, ...)`` raises: its fields computed as one
    row (``SELECT CAST(expr AS type) AS field, ...``), missing ones NULL."""
    if name == ERROR:
        raise BindError("RAISE needs a user exception type; error is Kodiak's own")
    fields = exception_type(session, name)
    names = [f for f, _ in fields]
    for given in args:
        if given not in names:
            raise BindError(f"exception type {name} has no field {given}"
                            + suggest(given, names))
    if not fields:
        value = pa.scalar({}, pa.struct([]))
        return PlException(name, {}, value)
    items = [exp.alias_(exp.Cast(this=args.get(f, exp.Null()),
                                 to=exp.DataType.build(t, dialect=Grizzly)), f, quoted=True)
             for f, t in fields]
    table = query(exp.Select(expressions=items))
    row = pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns],
                                     names=table.column_names)[0]
    return PlException(name, row.as_py(), row)
