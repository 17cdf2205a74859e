"""Per-statement bind state: the ``Context`` shared by nested query blocks, the ``Bound``
result of binding one block, fresh column ids, and the state every binder mixin shares."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..access import EVERYTHING, Rights
from ..catalog import Relation, Resolver
from ..errors import BindError, ParameterError, suggest
from ..expr import Expr, Lit, Param, ParamProbe, VariableParam
from ..files import ANYWHERE, FileAccess
from ..pl import types as user_types
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
    stats: dict | None = None  # distinct-count cache (``stats.cache_for(db)``)
    # set when binding a reusable plan: parameters become ``Param`` nodes watched by it
    probe: ParamProbe | None = None
    volatile: bool = False  # the plan holds a value fixed at bind time (now(), current_date)
    # a STABLE function of no arguments has one value per statement: now() = now()
    stable_calls: dict[str, Any] = field(default_factory=dict)
    temp_prefix: str = ""  # "kodiak_temp.<session tag>_": where this session's temp tables are
    files: FileAccess = ANYWHERE  # which files its SQL may read and write
    legacy_names: bool = False  # binding a view stored before names followed DuckDB's
    # outer column ids each subquery being discovered has read (``correlated.discover``)
    corr_recorders: list[list[str]] = field(default_factory=list)
    viewer: Any = None  # ``activity.Viewer``: what kodiak_queries / kodiak_sessions show
    # ``$name``: the session's and the running script's variables (``pl/variables.py``)
    variables: Mapping[str, pa.Scalar] | None = None
    # with ``probe``: the variables bound as parameter slots, in slot order (``variable``)
    variable_slots: list[str] | None = None
    rights: Rights = EVERYTHING  # what the session's user may do (``sql/access``)
    # inside a view's body (bound with its owner's rights): the session user's own rights,
    # which secret() also asks (``secrets/reveal.py``)
    invoker: Rights | None = None
    user: str | None = None  # the session's user: current_user (views do not change it)
    # inside a trigger's body: its transition rows, read as ``__kodiak_transition``
    transition: pa.Table | None = None

    @property
    def resolver(self) -> Resolver:
        """The one name resolver, over this statement's snapshot and current schema."""
        return Resolver(self.snap, schema=self.schema, catalog=self.catalog,
                        temp_prefix=self.temp_prefix, viewer=self.viewer, rights=self.rights)

    def resolve(self, t: exp.Table) -> Relation | None:
        """What table reference ``t`` names: a table, view or system view, or None."""
        return self.resolver.resolve(t.name, t.text("db") or None, t.text("catalog") or None)

    def require(self, t: exp.Table) -> Relation:
        return self.resolver.require(t.name, t.text("db") or None, t.text("catalog") or None)

    def table(self, t: exp.Table, right: str) -> Any:
        """The engine table ``t`` names, for a write needing ``right`` ("insert", "update",
        "delete"; "create" for DDL on it): views and system views are refused."""
        info = self.resolver.writable_table(t.name, t.text("db") or None,
                                            t.text("catalog") or None)
        self.check_table(right, info.name)
        return info

    def check_read(self, rel: Relation) -> None:
        """The one check of every relation a statement reads (FROM, joins, subqueries,
        views' contents with their owner's rights)."""
        if rel.kind == "system":
            if rel.name == "kodiak_audit":
                self.rights.require_admin("read kodiak_audit")
            return
        if rel.schema != "temp":  # a session's own temporary tables are its own
            self.rights.require("select", "table", rel.qualified)

    def check_table(self, right: str, qualified: str) -> None:
        """``right`` on a stored table (DDL on it needs CREATE on its schema)."""
        if qualified.startswith(self.temp_prefix or "\0"):
            return
        if right == "create":
            self.rights.require("create", "schema", qualified.split(".", 1)[0])
        else:
            self.rights.require(right, "table", qualified)

    def user_type(self, name: str) -> pa.DataType:
        """The Arrow type of user type ``name`` (``CREATE TYPE``), for ``types.from_sql``;
        a BindError naming it if there is none."""
        return user_types.resolver(self.snap, self.schema)(name)

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

    def variable(self, name: str) -> Lit:
        """``$name``: a variable's value, never spliced into SQL text. Binding a reusable
        plan (``variable_slots``), it is a parameter slot after the positional ones, filled
        per execution as ``$1`` is; otherwise a constant, and the plan holding it is neither
        kept for reuse nor its result cached."""
        key = name.lower()
        known = self.variables if self.variables is not None else {}
        if key not in known:
            raise BindError(f"variable ${name} is not set" + suggest(key, known))
        s = known[key]
        t = normalize(s.type)
        value = s.cast(t).as_py() if t != s.type else s.as_py()
        slots = self.variable_slots
        if self.probe is not None and slots is not None:
            if key not in slots:
                slots.append(key)
            index = len(self.params or ()) + slots.index(key) + 1
            return VariableParam(index, key, value, t, self.probe)
        self.volatile = True
        return Lit(value, t)


def param_number(node: exp.Placeholder) -> int | None:
    """The number of a ``$N`` / ``?`` placeholder; None for ``$name`` (a variable)."""
    text = str(node.this) if node.this is not None else ""
    return int(text) if text.isdigit() else None


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
        # True while binding what may call window functions (the select list, ORDER BY and
        # QUALIFY); WHERE, GROUP BY, HAVING, ON and aggregates' arguments may not
        self.windows_allowed = False
        # a correlated subquery decorrelated over a domain (``correlated.Domain``): its
        # block reads the domain's columns in place of the outer ones
        self.domain: Any = None
        self.discovering = False  # a first bind that only finds what a subquery reads
        self.needs_general = False  # ... and found it needs the domain decorrelation
        # the WHERE conjuncts bound so far (while binding WHERE): a subquery decorrelated
        # over a domain filters the rows by them first, so it sees only the rows they pass
        self.prior_filters: list[Expr] | None = None
        self.discoveries: dict[tuple, Any] = {}  # subquery first binds, by (AST, scope, kind)

    @property
    def domain_ids(self) -> set[str]:
        """Ids of the domain columns this block reads as its own (not as outer ones)."""
        return set(self.domain.ids) if self.domain is not None else set()

    def nested(self, outer: Scope | None) -> Any:
        """A binder for a nested query block that sees ``outer``."""
        return type(self)(self.ctx, outer)
