"""User-defined types: ``CREATE TYPE point AS STRUCT (x double, y double)`` and
``CREATE TYPE not_found AS EXCEPTION (message varchar, key bigint)``.

A type is an engine object of kind ``type`` (``{"form", "fields": [{"name", "type"}], "sql"}``,
field types as SQL text, which may name another user type), so it is transactional, durable
and in backups like a view. Its values are Arrow structs of its fields (an exception's too).
The struct type carries the type's qualified name in its first field's metadata
(:data:`types.USER_TYPE_KEY`): Arrow compares types without metadata, so a ``point`` is
interchangeable with ``STRUCT(x DOUBLE, y DOUBLE)``, while a table column declared ``point``
still says which type it uses (DROP TYPE checks that; ``sql_name`` prints ``point``).

Names resolve like relations: the current schema, then ``main``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..catalog.kinds import ObjectKind, register
from ..catalog.names import DEFAULT_SCHEMA, fold
from ..catalog.system import SystemView, ViewSchema
from ..catalog.system import register as register_view
from ..dialect import Grizzly
from ..errors import BindError, SqlTypeError, suggest
from ..expr import Call, Expr, Lit, call, cast
from ..functions import structs
from ..types import USER_TYPE_KEY, from_sql, sql_name

TYPE = register(ObjectKind("type", "type"))
FORMS = ("struct", "exception")
_ARRAY_SUFFIX = re.compile(r"^(?P<base>.*?)(?P<dims>(\[\d*\])*)$")


@dataclass(frozen=True)
class UserType:
    """One user type, its field types resolved to Arrow."""

    schema: str
    name: str
    form: str  # "struct" | "exception"
    fields: list[tuple[str, pa.DataType]]
    field_sql: tuple[str, ...]  # each field's type as the definition spells it
    sql: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def arrow_type(self) -> pa.StructType:
        """Its values' type: a struct of the fields, tagged with the type's name."""
        tag = {USER_TYPE_KEY: self.qualified.encode()}
        return pa.struct([pa.field(n, t, metadata=tag if i == 0 else None)
                          for i, (n, t) in enumerate(self.fields)])

    @property
    def fields_text(self) -> str:
        """``x double, y double``: the fields as SHOW TYPES lists them."""
        return ", ".join(f"{n} {t}" for (n, _), t in zip(self.fields, self.field_sql,
                                                         strict=True))


# ---------------------------------------------------------------------- lookups


def search_path(schema: str) -> list[str]:
    schema = fold(schema)
    return [schema] if schema == DEFAULT_SCHEMA else [schema, DEFAULT_SCHEMA]


def find_type(snap: Any, schema: str, name: str) -> UserType | None:
    """The type ``name`` (``s.name`` qualifies it) seen from ``schema``: there, then in
    ``main``; None if there is none."""
    found = locate(snap, schema, name)
    return load(snap, *found) if found is not None else None


def locate(snap: Any, schema: str, name: str) -> tuple[str, str] | None:
    """(schema, name) of the type object ``name`` resolves to from ``schema``, or None."""
    parts = [fold(p) for p in name.split(".")]
    where = [parts[0]] if len(parts) == 2 else search_path(schema)
    for s in where:
        if snap.object(TYPE.name, s, parts[-1]) is not None:
            return s, parts[-1]
    return None


def require_type(snap: Any, schema: str, name: str) -> UserType:
    """:func:`find_type`, or a BindError naming the unknown type and the closest ones."""
    found = find_type(snap, schema, name)
    if found is None:
        known = [o.name for s in search_path(schema) for o in snap.objects(TYPE.name, s)]
        raise BindError(f"type {name!r} does not exist" + suggest(fold(name), known))
    return found


def load(snap: Any, schema: str, name: str, seen: tuple[str, ...] = ()) -> UserType:
    """The stored type ``schema.name`` with its field types resolved (``seen``: the types
    being resolved around it, so a cycle is an error rather than endless recursion)."""
    qualified = f"{schema}.{name}"
    if qualified in seen:
        raise BindError("type " + " -> ".join((*seen, qualified)) + " refers to itself")
    d = snap.object(TYPE.name, schema, name).definition
    fields = [(f["name"], arrow_type(snap, schema, f["type"], (*seen, qualified)))
              for f in d["fields"]]
    return UserType(schema, name, d["form"], fields, tuple(f["type"] for f in d["fields"]),
                    d.get("sql", ""))


def all_types(snap: Any, schemas: list[str] | None = None) -> list[UserType]:
    """Every stored type (of ``schemas``), by schema and name."""
    objs = snap.objects(TYPE.name)
    return [load(snap, o.schema, o.name) for o in objs
            if schemas is None or o.schema in schemas]


# ---------------------------------------------------------------------- SQL type text


def arrow_type(snap: Any, schema: str, text: str, seen: tuple[str, ...] = ()) -> pa.DataType:
    """The Arrow type of SQL type text (``double``, ``point``, ``point[]``, ``STRUCT(a
    point)``) as seen from ``schema``."""
    try:
        dt = exp.DataType.build(text, dialect=Grizzly, udt=True)
    except Exception:
        raise BindError(f"{text!r} is not a type") from None
    return from_sql(dt, resolver(snap, schema, seen))


def resolver(snap: Any, schema: str, seen: tuple[str, ...] = ()) -> Any:
    """The ``from_sql`` hook: a user type name (``point``, ``s.point``, ``point[]``) to its
    Arrow type, or a BindError naming it."""
    def user(name: str) -> pa.DataType:
        m = _ARRAY_SUFFIX.match(name.strip())
        assert m is not None
        base = m["base"].strip().strip('"')
        found = locate(snap, schema, base)
        if found is None:
            require_type(snap, schema, base)  # raises, naming it
        assert found is not None
        t: pa.DataType = load(snap, *found, seen).arrow_type
        for dim in re.findall(r"\[(\d*)\]", m["dims"]):
            t = pa.list_(t, int(dim)) if dim else pa.list_(t)
        return t
    return user


def user_type_name(t: pa.DataType) -> str | None:
    """The qualified name of the user type ``t`` is the struct of, or None."""
    if not pa.types.is_struct(t) or t.num_fields == 0:
        return None
    tag = (t.field(0).metadata or {}).get(USER_TYPE_KEY)
    return tag.decode() if tag else None


def uses(t: pa.DataType, qualified: str) -> bool:
    """Whether values of type ``t`` hold user type ``qualified`` anywhere inside."""
    if user_type_name(t) == qualified:
        return True
    return any(uses(t.field(i).type, qualified) for i in range(t.num_fields))


# ---------------------------------------------------------------------- values


def construct(ut: UserType, names: list[str | None], args: list[Expr]) -> Expr:
    """``point(1, 2)`` / ``not_found(message => 'x', key => 1)``: a value of ``ut``.
    Positional arguments give every field in order; named ones any fields (the rest NULL)."""
    fields = [n for n, _ in ut.fields]
    if all(n is None for n in names):
        if len(args) != len(fields):
            raise BindError(f"{ut.name}() takes {len(fields)} arguments ({', '.join(fields)}), "
                            f"not {len(args)}")
        given = dict(zip(fields, args, strict=True))
    elif any(n is None for n in names):
        raise BindError(f"{ut.name}(): give its fields all by position or all by name")
    else:
        given = {}
        for n, a in zip(names, args, strict=True):
            key = fold(n or "")
            if key not in fields:
                raise BindError(f"type {ut.name!r} has no field {n!r}" + suggest(key, fields))
            if key in given:
                raise BindError(f"{ut.name}(): field {n!r} is given twice")
            given[key] = a
    values = [coerce(given[n], t, f"field {n!r} of {ut.name}") if n in given else Lit(None, t)
              for n, t in ut.fields]
    if not fields:  # an exception without fields: make_struct of nothing has no rows
        return Lit({}, ut.arrow_type)
    return tagged(structs.struct_pack(fields, values), ut.arrow_type)


def tagged(e: Expr, t: pa.DataType) -> Expr:
    """``e`` (of a type equal to ``t`` but for metadata) declared as ``t``, so a table
    created from it (CREATE TABLE AS) records the user type its column holds."""
    if isinstance(e, Call):
        return dataclasses.replace(e, type=t)
    if isinstance(e, Lit) and type(e) is Lit:
        return Lit(e.value, t)
    return e


def coerce(e: Expr, to: pa.DataType, what: str,
           try_cast: Callable[[Expr, pa.DataType], Expr] | None = None) -> Expr:
    """``e`` as a value of ``to``; a struct target takes a struct of the same field names in
    any order (``{y: 2, x: 1}::point``), its fields cast one by one. With ``try_cast``
    (``TRY_CAST``) a value of another shape is NULL rather than an error, and each field is
    cast by ``try_cast`` (a field that does not convert is NULL, as DuckDB's TRY_CAST)."""
    if not pa.types.is_struct(to) or pa.types.is_null(e.type):
        return cast(e, to) if try_cast is None else try_cast(e, to)
    if e.type == to:
        return tagged(e, to)
    name = user_type_name(to) or sql_name(to)
    shown = name.rsplit(".", 1)[-1]
    if not pa.types.is_struct(e.type):
        if try_cast is not None:
            return Lit(None, to)
        raise SqlTypeError(f"cannot cast {sql_name(e.type)} to {shown} ({what})")
    have = {e.type.field(i).name.lower(): e.type.field(i).name for i in range(e.type.num_fields)}
    want = [to.field(i) for i in range(to.num_fields)]
    missing = [f.name for f in want if f.name.lower() not in have]
    extra = sorted(set(have) - {f.name.lower() for f in want})
    if (missing or extra) and try_cast is not None:
        return Lit(None, to)
    if missing or extra:
        why = (f"missing {', '.join(missing)}" if missing else "") + \
              ("; " if missing and extra else "") + \
              (f"no field {', '.join(extra)} in {shown}" if extra else "")
        raise SqlTypeError(f"cannot cast {sql_name(e.type)} to {shown} ({what}): {why}")
    parts = [coerce(structs.field(e, have[f.name.lower()]), f.type, f"field {f.name!r}",
                    try_cast) for f in want]
    packed = tagged(structs.struct_pack([f.name for f in want], parts), to)
    if isinstance(e, Lit):
        return packed
    return tagged(call("if_else", [call("is_null", [e]), Lit(None, to), packed]), to)


# ---------------------------------------------------------------------- dependents


def dependents(snap: Any, ut: UserType) -> list[str]:
    """What uses ``ut``: table columns, other types and functions, each named."""
    q = ut.qualified
    out = []
    for table in snap.tables():
        info = snap.table(table)
        out += [f"column {f.name!r} of table {table!r}" for f in info.schema if uses(f.type, q)]
    for o in snap.objects(TYPE.name):
        if (o.schema, o.name) != (ut.schema, ut.name) and _names_type(
                snap, o.schema, [f["type"] for f in o.definition.get("fields", [])], ut):
            out.append(f"type '{o.schema}.{o.name}'")
    for o in snap.objects("function"):
        d = o.definition
        texts = [p.get("type") or "" for p in d.get("params") or []]
        texts += [d.get("returns") or "", d.get("receiver") or ""]
        if _names_type(snap, o.schema, texts, ut):
            out.append(f"function '{o.schema}.{o.name}'")
    return out


def _names_type(snap: Any, schema: str, texts: list[str], ut: UserType) -> bool:
    """Whether one of the SQL type texts, read in ``schema``, names ``ut``."""
    words = {w.lower() for t in texts for w in re.findall(r'[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?',
                                                             str(t))}
    return any(locate(snap, schema, w) == (ut.schema, ut.name) for w in words
               if w.rsplit(".", 1)[-1] == ut.name)


# ---------------------------------------------------------------------- system view


def _rows(r: Any, _: ViewSchema) -> list[dict[str, Any]]:
    visible = set(r.schemas())
    return [{"schema_name": t.schema, "type_name": t.name, "form": t.form,
             "fields": t.fields_text, "struct": sql_name(pa.struct(t.fields)),
             "sql": t.sql} for t in all_types(r.snap) if t.schema in visible]


register_view(SystemView("kodiak_types", pa.schema([pa.field(n, pa.string()) for n in (
    "schema_name", "type_name", "form", "fields", "struct", "sql")]), _rows,
    unqualified=True))
