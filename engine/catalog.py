"""Catalog: schemas, tables, columns, constraints, indexes and objects, as immutable values.

Every column has a stable numeric id, and segment files name their columns by id
(``c<id>``), so renaming a column or table never touches data files. The catalog is versioned
with the data: it is part of each snapshot and of the manifest, and DDL goes through the WAL
like any other change.

Objects are the catalog entries of every other kind (views, sequences, … : the layers above
decide): ``(kind, schema, name) → definition``, the definition a JSON object the engine
stores and versions but never interprets.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pyarrow as pa

from .errors import AlreadyExists, CorruptionError, NotFound, SchemaError
from .rowcodec import lean_type, row_encoder

DEFAULT_SCHEMA = "main"
ROWID = "__rowid"


def physical_name(column_id: int) -> str:
    return f"c{column_id}"


def split_name(name: str) -> tuple[str, str]:
    """``"t"`` → ``("main", "t")``; ``"s.t"`` → ``("s", "t")``; names fold to lower case."""
    parts = name.split(".")
    if len(parts) == 1:
        return DEFAULT_SCHEMA, parts[0].lower()
    if len(parts) == 2 and all(parts):
        return parts[0].lower(), parts[1].lower()
    raise SchemaError(f"invalid table name {name!r}")


def storage_type(t: pa.DataType) -> pa.DataType:
    """The type a column is stored and processed as.

    pyarrow has no take, filter or comparison kernels for the view types yet, and the engine
    needs all three (deletion vectors, index lookups, sorted segments), so view columns are
    kept as their classic equivalents and cast back to the view type on the way out.
    """
    if pa.types.is_string_view(t):
        return pa.large_string()
    if pa.types.is_binary_view(t):
        return pa.large_binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = storage_type(t.value_type)
        if inner != t.value_type:
            field = t.value_field.with_type(inner)
            return pa.list_(field) if pa.types.is_list(t) else pa.large_list(field)
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        new = [f.with_type(storage_type(f.type)) for f in fields]
        if new != fields:
            return pa.struct(new)
    return t


@dataclass(frozen=True)
class ColumnDef:
    id: int
    name: str
    type: pa.DataType
    nullable: bool = True
    default: Any = None

    @property
    def physical(self) -> str:
        return physical_name(self.id)

    @cached_property
    def stored(self) -> pa.DataType:
        return storage_type(self.type)


@dataclass(frozen=True)
class IndexDef:
    name: str
    columns: tuple[int, ...]  # column ids
    unique: bool = False


@dataclass(frozen=True)
class TableDef:
    id: int
    schema_name: str
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[int, ...] = ()
    indexes: tuple[IndexDef, ...] = ()
    next_column_id: int = 0

    @property
    def qualified(self) -> str:
        return f"{self.schema_name}.{self.name}"

    def column(self, name: str) -> ColumnDef:
        low = name.lower()
        for c in self.columns:
            if c.name == low:
                return c
        raise NotFound.named(f"column of table {self.qualified!r}:", name,
                             [c.name for c in self.columns])

    def column_by_id(self, cid: int) -> ColumnDef:
        for c in self.columns:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def has_column(self, name: str) -> bool:
        return any(c.name == name.lower() for c in self.columns)

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, c.nullable) for c in self.columns])

    @cached_property
    def stored_schema(self) -> pa.Schema:
        """Logical names with the types columns are stored as (see ``storage_type``)."""
        return pa.schema([pa.field(c.name, c.stored, c.nullable) for c in self.columns])

    @cached_property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @cached_property
    def stored_types(self) -> list[pa.DataType]:
        return [c.stored for c in self.columns]

    @cached_property
    def data_schema(self) -> pa.Schema:
        """The physical schema without the hidden row id: what ``conform`` produces."""
        return pa.schema([pa.field(c.physical, c.stored, c.nullable) for c in self.columns])

    @cached_property
    def physical_schema(self) -> pa.Schema:
        fields = [pa.field(c.physical, c.stored, c.nullable) for c in self.columns]
        if not self.primary_key:
            fields.append(pa.field(ROWID, pa.int64(), False))
        return pa.schema(fields)

    @cached_property
    def positions(self) -> dict[int, int]:
        """Column id → position in ``columns`` (and in a buffered row's tuple)."""
        return {c.id: i for i, c in enumerate(self.columns)}

    @cached_property
    def key_positions(self) -> tuple[int, ...]:
        return tuple(self.positions[i] for i in self.primary_key)

    @cached_property
    def not_null_positions(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if not c.nullable)

    @cached_property
    def row_check(self) -> Callable[[Any], tuple] | None:
        """The check of one row of Python values (``pyrows``), or None if some column's
        type needs Arrow's conversion."""
        from .pyrows import row_check_for

        return row_check_for(self)

    @cached_property
    def row_encoder(self) -> Callable[[int, tuple], bytes | None] | None:
        """The WAL encoding of one row, generated for these column types (``rowcodec``)."""
        return row_encoder([c.stored for c in self.columns]) if self.lean else None

    @cached_property
    def lean(self) -> bool:
        """Whether every column's values fit the WAL's lean row encoding (``rowcodec``)."""
        return all(lean_type(c.stored) for c in self.columns)

    def exact_shape(self, schema: pa.Schema) -> bool:
        """Whether input with ``schema`` already has the table's names and stored types in
        order (nullability aside), so it needs no cast, reordering or defaults. Schemas
        that passed are remembered: the check is then one C++ ``equals``."""
        seen = self._shapes
        for s in seen:
            if s.equals(schema):
                return True
        if schema.names == self.column_names and schema.types == self.stored_types:
            if len(seen) < 8:
                seen.append(schema)
            return True
        return False

    @cached_property
    def _shapes(self) -> list[pa.Schema]:
        return []

    @cached_property
    def key_names(self) -> tuple[str, ...]:
        """Logical names of the primary-key columns (empty: keyless, rows keyed by row id)."""
        return tuple(self.column_by_id(i).name for i in self.primary_key)

    @cached_property
    def physical_names(self) -> dict[str, str]:
        """Logical column name → physical (segment) column name."""
        return {c.name: c.physical for c in self.columns}

    def replace(self, **kw: Any) -> TableDef:
        return dataclasses.replace(self, **kw)


ObjectKey = tuple[str, str, str]  # (kind, schema, name)


@dataclass(frozen=True)
class ObjectDef:
    """A catalog object. ``text`` is its definition as compact JSON (an immutable string:
    nobody holding the catalog can change a definition in place); ``version`` is the LSN of
    the commit that last created or replaced it, negative while that commit is pending."""

    kind: str
    schema: str
    name: str
    text: str
    version: int

    @property
    def key(self) -> ObjectKey:
        return (self.kind, self.schema, self.name)

    @property
    def definition(self) -> dict:
        """A fresh copy of the definition."""
        return json.loads(self.text)


def definition_text(definition: Any) -> str:
    """``definition`` as compact JSON, if it is a JSON object that survives the round trip
    unchanged (no tuples, NaN, non-string keys, …); else SchemaError."""
    if not isinstance(definition, dict):
        raise SchemaError(f"an object definition must be a dict (a JSON object), not "
                          f"{type(definition).__name__}")
    try:
        text = json.dumps(definition, separators=(",", ":"), allow_nan=False)
        same = json.loads(text) == definition
    except (TypeError, ValueError, RecursionError) as exc:
        raise SchemaError(f"object definition is not JSON-serialisable: {exc}") from exc
    if not same:
        raise SchemaError("object definition does not survive a JSON round trip unchanged "
                          "(tuples, non-string keys?); give JSON types only")
    return text


@dataclass(frozen=True)
class Catalog:
    schemas: frozenset[str] = frozenset({DEFAULT_SCHEMA})
    tables: dict[int, TableDef] = field(default_factory=dict)
    next_table_id: int = 1
    objects: dict[ObjectKey, ObjectDef] = field(default_factory=dict)

    def find(self, name: str) -> TableDef | None:
        td = self._by_name.get(name)
        if td is not None:
            return td
        s, t = split_name(name)
        return self._by_name.get(f"{s}.{t}")

    @cached_property
    def _by_name(self) -> dict[str, TableDef]:
        out = {td.qualified: td for td in self.tables.values()}
        out.update({td.name: td for td in self.tables.values()
                    if td.schema_name == DEFAULT_SCHEMA})
        return out

    def get(self, name: str) -> TableDef:
        td = self.find(name)
        if td is None:
            raise NotFound.named("table", name, self.table_names() + [
                td.name for td in self.tables.values()])
        return td

    def table_names(self, schema: str | None = None) -> list[str]:
        return sorted(td.qualified for td in self.tables.values()
                      if schema is None or td.schema_name == schema.lower())

    def find_index(self, name: str) -> tuple[TableDef, IndexDef] | None:
        for td in self.tables.values():
            for ix in td.indexes:
                if ix.name == name.lower():
                    return td, ix
        return None

    def with_table(self, td: TableDef) -> Catalog:
        tables = dict(self.tables)
        tables[td.id] = td
        return dataclasses.replace(self, tables=tables,
                                   next_table_id=max(self.next_table_id, td.id + 1))

    def without_table(self, table_id: int) -> Catalog:
        tables = dict(self.tables)
        del tables[table_id]
        return dataclasses.replace(self, tables=tables)

    def with_schema(self, name: str) -> Catalog:
        if name in self.schemas:
            raise AlreadyExists(f"schema {name!r} already exists")
        return dataclasses.replace(self, schemas=self.schemas | {name})

    def without_schema(self, name: str) -> Catalog:
        """The catalog without the empty schema ``name``."""
        held = self.schema_contents(name)
        if held:
            raise SchemaError(f"schema {name!r} still holds {', '.join(held)}")
        return dataclasses.replace(self, schemas=self.schemas - {name})

    def schema_contents(self, name: str) -> list[str]:
        """What schema ``name`` holds, as ``table t`` / ``<kind> name`` phrases."""
        return ([f"table {td.name}" for td in sorted(self.tables.values(),
                                                       key=lambda t: t.name)
                 if td.schema_name == name]
                + [f"{o.kind} {o.name}" for o in self.objects_in(schema=name)])

    def objects_in(self, kind: str | None = None, schema: str | None = None
                   ) -> list[ObjectDef]:
        """Objects of ``kind`` in ``schema`` (None: any), sorted by (kind, schema, name)."""
        return [self.objects[k] for k in sorted(self.objects)
                if (kind is None or k[0] == kind) and (schema is None or k[1] == schema)]

    def with_object(self, obj: ObjectDef) -> Catalog:
        """The catalog with ``obj`` added, or replacing the object with its key."""
        if obj.schema not in self.schemas:
            raise NotFound.named("schema", obj.schema, self.schemas)
        objects = dict(self.objects)
        objects[obj.key] = obj
        return dataclasses.replace(self, objects=objects)

    def without_object(self, key: ObjectKey) -> Catalog:
        objects = dict(self.objects)
        del objects[key]
        return dataclasses.replace(self, objects=objects)

    # -- serialisation (part of the manifest) -------------------------------------------

    def to_json(self) -> dict:
        return {
            "schemas": sorted(self.schemas),
            "next_table_id": self.next_table_id,
            "tables": [table_to_json(td) for td in self.tables.values()],
            "objects": [{"kind": o.kind, "schema": o.schema, "name": o.name,
                         "version": o.version, "definition": json.loads(o.text)}
                        for o in self.objects_in()],
        }

    @classmethod
    def from_json(cls, data: dict) -> Catalog:
        """The catalog a manifest holds; CorruptionError for an object entry that is
        malformed, in a schema that does not exist, or listed twice."""
        tables = {t["id"]: table_from_json(t) for t in data["tables"]}
        schemas = frozenset(data["schemas"])
        objects: dict[ObjectKey, ObjectDef] = {}
        for entry in data.get("objects", []):
            obj = _object_from_json(entry, schemas)
            if obj.key in objects:
                raise CorruptionError(f"catalog lists {obj.kind} {obj.schema}.{obj.name} "
                                      "twice")
            objects[obj.key] = obj
        return cls(schemas, tables, data["next_table_id"], objects)


def object_problems(catalog: Catalog) -> list[str]:
    """What is wrong with a catalog's objects (``Database.check``): each must sit in an
    existing schema under its own key, with a definition that is a JSON object."""
    out = []
    for key, o in catalog.objects.items():
        what = f"{o.kind} {o.schema}.{o.name}"
        if key != o.key:
            out.append(f"catalog: {what} is filed under {key}")
        if o.schema not in catalog.schemas:
            out.append(f"catalog: {what} is in schema {o.schema!r}, which does not exist")
        try:
            definition = json.loads(o.text)
        except ValueError as exc:
            out.append(f"catalog: {what} has a definition that is not JSON: {exc}")
            continue
        if not isinstance(definition, dict):
            out.append(f"catalog: {what} has a definition that is not a JSON object")
    return out


def _object_from_json(entry: Any, schemas: frozenset[str]) -> ObjectDef:
    try:
        kind, schema, name = entry["kind"], entry["schema"], entry["name"]
        version, definition = entry["version"], entry["definition"]
    except (TypeError, KeyError) as exc:
        raise CorruptionError(f"catalog object entry {entry!r} lacks {exc}") from None
    if not all(isinstance(v, str) and v for v in (kind, schema, name)) or \
            type(version) is not int:
        raise CorruptionError(f"catalog object entry {entry!r} is malformed")
    what = f"{kind} {schema}.{name}"
    if not isinstance(definition, dict):
        raise CorruptionError(f"catalog: {what} has a definition that is not a JSON object")
    if schema not in schemas:
        raise CorruptionError(f"catalog: {what} is in schema {schema!r}, which does not "
                              "exist")
    return ObjectDef(kind, schema, name, json.dumps(definition, separators=(",", ":")),
                     version)


def encode_type(t: pa.DataType) -> str:
    return base64.b64encode(pa.schema([pa.field("t", t)]).serialize().to_pybytes()).decode()


def decode_type(s: str) -> pa.DataType:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(s))).field(0).type


def encode_value(v: Any, t: pa.DataType) -> str | None:
    if v is None:
        return None
    batch = pa.record_batch([pa.array([v], t)], names=["v"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode()


def decode_value(s: str | None) -> Any:
    if s is None:
        return None
    table = pa.ipc.open_stream(pa.py_buffer(base64.b64decode(s))).read_all()
    return table.column(0)[0].as_py()


def table_to_json(td: TableDef) -> dict:
    return {
        "id": td.id,
        "schema": td.schema_name,
        "name": td.name,
        "columns": [
            {"id": c.id, "name": c.name, "type": encode_type(c.type), "nullable": c.nullable,
             "default": encode_value(c.default, c.type)}
            for c in td.columns
        ],
        "primary_key": list(td.primary_key),
        "indexes": [{"name": i.name, "columns": list(i.columns), "unique": i.unique}
                    for i in td.indexes],
        "next_column_id": td.next_column_id,
    }


def table_from_json(t: dict) -> TableDef:
    cols = tuple(
        ColumnDef(c["id"], c["name"], decode_type(c["type"]), c["nullable"],
                  decode_value(c["default"]))
        for c in t["columns"]
    )
    return TableDef(
        t["id"], t["schema"], t["name"], cols, tuple(t["primary_key"]),
        tuple(IndexDef(i["name"], tuple(i["columns"]), i["unique"]) for i in t["indexes"]),
        t["next_column_id"],
    )
