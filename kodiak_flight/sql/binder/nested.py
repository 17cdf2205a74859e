"""Nested values and the calls whose arguments are not plain expressions: struct literals
(``{'x': 1}``, ``struct_pack(x := 1)``), brackets (``l[i]``, ``l[a:b]``, ``s['x']``), field
access (``s.x``, ``(expr).x``), ``date_diff('unit', a, b)`` (sqlglot keeps the unit as a
keyword) and the session's ``current_schema()`` / ``current_database()``."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError
from ..expr import Expr, Lit, cast, lit
from ..functions import lists, structs
from ..pl import inline
from ..pl import types as user_types
from ..scope import Scope
from .aggregates import AggState
from .calls import typed_name
from .context import BinderState

_SHIFTED_FROM = (exp.DataType.Type.UNKNOWN, exp.DataType.Type.ARRAY)


def _one_based(node: exp.Bracket, idx: exp.Expression) -> bool:
    """Whether sqlglot shifted index ``idx`` of ``node`` to 0-based (DuckDB's index offset):
    it does when it typed the indexed value as unknown or an array and the index as an
    integer, and the shifted index is a new node it did not type (an index it left alone
    carries the type it was given)."""
    tt = node.this.type
    return idx.type is None and tt is not None and tt.this in _SHIFTED_FROM


class NestedBinder(BinderState):
    """Binds struct and list syntax, field access and the calls listed above."""

    def _x_Struct(self, n: exp.Struct, s: Scope, g: AggState | None) -> Expr:
        names, args = [], []
        for i, item in enumerate(n.expressions):
            if isinstance(item, (exp.PropertyEQ, exp.Slice)) and item.this is not None:
                key = item.this
                names.append(key.name if not isinstance(key, exp.Literal) else key.this)
                args.append(self.expr(item.expression, s, g))
            elif isinstance(item, exp.Alias):
                names.append(item.alias)
                args.append(self.expr(item.this, s, g))
            elif isinstance(item, exp.Column):  # struct_pack(e): the field is e
                names.append(item.name)
                args.append(self.expr(item, s, g))
            else:
                names.append(f"v{i + 1}")  # row(...)-like: unnamed fields
                args.append(self.expr(item, s, g))
        return structs.struct_pack(names, args)

    def _x_Bracket(self, n: exp.Bracket, s: Scope, g: AggState | None) -> Expr:
        base = self.expr(n.this, s, g)
        if len(n.expressions) != 1:
            raise NotSupportedError(f"{n.sql(dialect='duckdb')}: one index or slice expected")
        idx = n.expressions[0]
        if pa.types.is_struct(base.type):
            key = self.expr(idx, s, g)
            if not isinstance(key, Lit) or not isinstance(key.value, str):
                raise BindError("a struct field must be named by a constant string: s['x']")
            return structs.field(base, key.value)
        if isinstance(idx, exp.Slice):
            if len(idx.expressions) or idx.args.get("step") is not None:
                raise NotSupportedError("list slices with a step are not supported")
            lo = self.expr(idx.this, s, g) if idx.this is not None else lit(1, pa.int64())
            hi = self.expr(idx.expression, s, g) if idx.expression is not None else \
                lit(-1, pa.int64())
            return lists.list_slice([base, lo, hi])
        i = self.expr(idx, s, g)
        if _one_based(n, idx):
            i = F.arith("+", cast(i, pa.int64()), lit(1, pa.int64()))
        return lists.list_extract([base, i])

    def _x_Dot(self, n: exp.Dot, s: Scope, g: AggState | None) -> Expr:
        if isinstance(n.expression, exp.Func):  # value.f(): a receiver function (pl/)
            return inline.bind_method(self, n, s, g)
        return structs.field(self.expr(n.this, s, g), n.expression.name)

    def _x_StructExtract(self, n: exp.StructExtract, s: Scope, g: AggState | None) -> Expr:
        key = self.expr(n.expression, s, g)
        if not isinstance(key, Lit):
            raise BindError("struct_extract needs a constant field name")
        return structs.field(self.expr(n.this, s, g), str(key.value))

    def struct_path(self, node: exp.Column, s: Scope, g: AggState | None) -> Expr | None:
        """``s.x`` / ``t.s.x`` / ``schema.t.s.x``: a field of a struct column, when the
        qualifier is not a table; None when no struct column fits."""
        parts = [p.name for p in node.parts]
        for k in (1, 2, 3):  # the column is parts[k - 1], after a table and a schema
            if len(parts) <= k:
                continue
            col = exp.Column(this=exp.to_identifier(parts[k - 1]),
                             table=exp.to_identifier(parts[k - 2]) if k >= 2 else None,
                             db=exp.to_identifier(parts[k - 3]) if k == 3 else None)
            try:
                e = self._x_Column(col, s, g)  # type: ignore[attr-defined]
            except BindError:
                continue
            if not pa.types.is_struct(e.type):
                continue
            for name in parts[k:]:
                e = structs.field(e, name)
            return e
        return None

    def type_constructor(self, n: exp.Anonymous, s: Scope, g: AggState | None) -> Expr | None:
        """``point(1, 2)`` / ``point(x => 1, y => 2)``: a value of the user type the call
        names, or None when no user type has that name."""
        ut = user_types.find_type(self.ctx.snap, self.ctx.schema, n.name)
        if ut is None:
            return None
        names: list[str | None] = []
        args = []
        for a in n.expressions:
            named = isinstance(a, (exp.Kwarg, exp.PropertyEQ)) and \
                isinstance(a.this, (exp.Var, exp.Identifier, exp.Column))
            names.append(a.this.name if named else None)
            args.append(self.expr(a.expression if named else a, s, g))
        return user_types.construct(ut, names, args)

    def _x_DateDiff(self, n: exp.DateDiff, s: Scope, g: AggState | None) -> Expr:
        part = self.unit_argument(n.args.get("unit"), s, g)
        fn = F.require("date_diff")
        return self.call_function(  # type: ignore[attr-defined]
            fn, [part, self.expr(n.expression, s, g), self.expr(n.this, s, g)],
            typed_name(n))

    def unit_argument(self, unit: exp.Expression | None, s: Scope, g: AggState | None
                      ) -> Expr:
        """The unit sqlglot keeps of ``date_diff``/``date_trunc``: ``day`` where none is
        written, NULL for NULL, a parameter's value for a parameter."""
        if isinstance(unit, exp.Placeholder):
            return self.expr(unit, s, g)  # type: ignore[attr-defined]
        if isinstance(unit, exp.Null):
            return Lit(None, pa.string())
        return lit(unit.name if unit is not None else "day")

    def _x_Overlay(self, n: exp.Overlay, s: Scope, g: AggState | None) -> Expr:
        """``overlay(v PLACING r FROM k [FOR n])``: v's first k - 1 characters, r, then
        v past its k + n - 1st (n r's length by default), as the standard's substrings."""
        v, r, k = n.this, n.expression, n.args["from_"]
        count = n.args.get("for_") or exp.Length(this=r.copy())
        start = exp.Anonymous(this="substring", expressions=[
            v.copy(), exp.Literal.number(1), exp.Sub(this=k.copy(), expression=exp.Literal.number(1))])
        rest = exp.Anonymous(this="substring", expressions=[
            v.copy(), exp.Add(this=k.copy(), expression=exp.paren(count.copy()))])
        joined = exp.DPipe(this=exp.DPipe(this=start, expression=r.copy()), expression=rest)
        return self.expr(joined, s, g)  # type: ignore[attr-defined]

    def _x_CurrentSchema(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        return Lit(self.ctx.schema, pa.string())

    def _x_CurrentDatabase(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        return Lit(self.ctx.catalog, pa.string())

    _x_CurrentCatalog = _x_CurrentDatabase
