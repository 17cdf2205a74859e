"""Name scopes: which columns a query block can see, under which qualifiers.

Scopes chain to the enclosing query's scope so a subquery can see outer columns; such a
reference is how the binder detects correlation (ids are globally unique, so "refers to an
outer id" is a set intersection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from .errors import BindError, suggest


@dataclass
class ColInfo:
    name: str
    id: str
    type: pa.DataType
    qual: str | None = None  # table alias or name
    hidden: bool = False  # excluded from * (the right copy of a USING column)
    # the schema of the stored table or view FROM names without an alias: what a column
    # written schema.table.column must name
    schema: str | None = None


@dataclass
class Scope:
    cols: list[ColInfo]
    parent: Scope | None = None
    tables: list[str] = field(default_factory=list)

    def ids(self) -> set[str]:
        return {c.id for c in self.cols}

    def outer_ids(self) -> set[str]:
        out: set[str] = set()
        p = self.parent
        while p is not None:
            out |= p.ids()
            p = p.parent
        return out

    def find(self, name: str, qual: str | None, schema: str | None = None) -> list[ColInfo]:
        lname = name.lower()
        lq = qual.lower() if qual else None
        hits = [c for c in self.cols if c.name.lower() == lname
                and (lq is None or (c.qual or "").lower() == lq)
                and (schema is None or (c.schema or "").lower() == schema.lower())]
        if len(hits) > 1 and lq is None:
            visible = [c for c in hits if not c.hidden]
            hits = visible or hits
        return hits

    def resolvable(self, name: str, qual: str | None = None) -> bool:
        """Whether ``qual.name`` names a column of this scope or an enclosing one."""
        scope: Scope | None = self
        while scope is not None:
            if scope.find(name, qual):
                return True
            scope = scope.parent
        return False

    def resolve(self, name: str, qual: str | None = None, schema: str | None = None
                ) -> tuple[ColInfo, bool]:
        """The column ``[schema.]qual.name``; the flag says it came from an enclosing
        query."""
        scope: Scope | None = self
        outer = False
        while scope is not None:
            hits = scope.find(name, qual, schema)
            if len(hits) == 1:
                return hits[0], outer
            if len(hits) > 1:
                quals = ", ".join(sorted({f"{c.qual}.{c.name}" for c in hits}))
                raise BindError(f"column reference {name!r} is ambiguous (could be {quals})")
            scope = scope.parent
            outer = True
        shown = f"{qual}.{name}" if qual else name
        if schema:
            raise BindError(f"table {schema}.{qual} is not in FROM (referenced by "
                            f"'{schema}.{shown}')")
        if qual and not any((c.qual or "").lower() == qual.lower() for c in self._all()):
            raise BindError(f"table or alias {qual!r} not found in FROM clause (referenced by "
                            f"{shown!r})" + suggest(qual, {c.qual for c in self._all() if c.qual}))
        cands = [c.name for c in self._all()] + [f"{c.qual}.{c.name}" for c in self._all()
                                                 if c.qual]
        raise BindError(f"column {shown!r} not found" + suggest(shown, cands))

    def _all(self) -> list[ColInfo]:
        out: list[ColInfo] = []
        s: Scope | None = self
        while s is not None:
            out.extend(s.cols)
            s = s.parent
        return out
