"""Per-statement bind state: the ``Context`` shared by nested query blocks, the ``Bound``
result of binding one block, fresh column ids, and the state every binder mixin shares."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..catalog import load_views
from ..errors import BindError, ParameterError
from ..expr import Expr, Lit, Param, ParamProbe
from ..files import ANYWHERE, FileAccess
from ..plan import Node, WindowCall
from ..scope import ColInfo, Scope
from ..types import normalize

_ids = itertools.count()


def new_id() -> str:
    """A fresh column id, unique in the process (so scopes can be compared by id sets)."""
    return f"c{next(_ids)}"


def new_key() -> int:
    """A fresh key for a shared plan or a recursive CTE's work table."""
    return next(_ids)


@dataclass
class Bound:
    """A bound query block: its plan and its named output columns."""

    plan: Node
    cols: list[ColInfo]
    corr_keys: list[tuple[str, Expr]] = field(default_factory=list)  # (inner out id, outer)
    corr_residual: Expr | None = None
    # each output's value over no input rows (``count(*)`` -> 0) for an ungrouped
    # aggregating block; a correlated scalar subquery yields it where nothing matches
    empty: list[Expr | None] = field(default_factory=list)


@dataclass
class Context:
    """Per-statement state shared by nested query blocks."""

    snap: Any
    schema: str = "main"
    catalog: str = "kodiak"
    params: list[pa.Scalar] | None = None
    param_types: dict[int, pa.DataType] = field(default_factory=dict)
    ctes: list[dict[str, exp.Expression]] = field(default_factory=list)
    # recursive CTE name -> (work table key, column names, types) while binding its step
    recursive: dict[str, tuple[int, list[str], list[pa.DataType]]] = field(
        default_factory=dict)
    expanding: list[str] = field(default_factory=list)  # views being expanded (cycle check)
    _views: dict[str, Any] | None = None
    stats: dict | None = None  # distinct-count cache (``stats.cache_for(db)``)
    # set when binding a reusable plan: parameters become ``Param`` nodes watched by it
    probe: ParamProbe | None = None
    volatile: bool = False  # the plan holds a value fixed at bind time (now(), current_date)
    temp_prefix: str = ""  # "kodiak_temp.<session tag>_": where this session's temp tables are
    files: FileAccess = ANYWHERE  # which files its SQL may read and write

    def views(self) -> dict[str, Any]:
        if self._views is None:
            self._views = load_views(self.snap)
        return self._views

    def find_view(self, t: exp.Table) -> Any:
        """The stored view ``t`` names (schema-qualified, else current then main), or None."""
        views = self.views()
        if not views:
            return None
        name = t.name.lower()
        db = t.text("db")
        cands = [f"{db.lower()}.{name}"] if db else [f"{self.schema.lower()}.{name}",
                                                     f"main.{name}"]
        for c in cands:
            if c in views:
                return views[c]
        return None

    def table_name(self, t: exp.Table) -> str:
        db = t.text("db")
        cat = t.text("catalog")
        if cat and cat.lower() != self.catalog.lower():
            raise BindError(f"unknown catalog {cat!r}")
        name = t.name
        if self.temp_prefix:  # the session's temporary tables come first, as in DuckDB
            if db.lower() == "temp" or (not db and self.snap.has_table(self.temp_prefix + name)):
                return self.temp_prefix + name
        if db:
            return f"{db}.{name}"
        cand = f"{self.schema}.{name}"
        if self.snap.has_table(cand):
            return cand
        return f"main.{name}" if self.snap.has_table(f"main.{name}") else cand

    def param(self, index: int) -> Lit:
        if self.params is None:
            return Lit(None, self.param_types.get(index, pa.null()))
        if index < 1 or index > len(self.params):
            raise ParameterError(f"parameter ${index} was not supplied "
                                 f"({len(self.params)} given)")
        s = self.params[index - 1]
        t = normalize(s.type)
        value = s.cast(t).as_py() if t != s.type else s.as_py()
        if self.probe is not None:
            return Param(index, value, t, self.probe)
        return Lit(value, t)


class BinderState:
    """What the binder mixins share: the statement context, the enclosing scope, the plan
    built so far for the current block, and its window calls."""

    def __init__(self, ctx: Context, outer: Scope | None = None) -> None:
        self.ctx = ctx
        self.outer = outer
        self.plan: Node | None = None
        self.scope: Scope | None = None
        self.window_calls: list[WindowCall] = []
        self.named_windows: dict[str, exp.Window] = {}

    def nested(self, outer: Scope | None) -> Any:
        """A binder for a nested query block that sees ``outer``."""
        return type(self)(self.ctx, outer)
