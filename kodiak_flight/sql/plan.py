"""Logical plan operators.

Nodes are small mutable dataclasses; each knows its output columns as ``(id, type)`` pairs.
The binder builds them naively, the optimizer rewrites them (pushdown, join order, pruning)
and the executor maps each onto Acero nodes or a vectorised pyarrow step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .expr import Col, Expr

Field = tuple[str, pa.DataType]


class Node:
    def children(self) -> list[Node]:
        return []

    @property
    def output(self) -> list[Field]:  # pragma: no cover - abstract
        raise NotImplementedError

    def out_ids(self) -> list[str]:
        return [i for i, _ in self.output]

    def label(self) -> str:
        return type(self).__name__


@dataclass(eq=False)
class Scan(Node):
    table: str
    columns: list[tuple[str, str, pa.DataType]]  # (source column, id, type)
    predicate: Any = None  # engine.predicate.Predicate pushed into the engine scan
    est_rows: int = 1000
    raw_types: dict = field(default_factory=dict)  # source column -> stored Arrow type
    stats: Any = None  # stats.TableStats: distinct counts, min/max, clustering
    keyed: frozenset = frozenset()  # source columns a primary key or index can answer
    primary_key: tuple[str, ...] = ()

    @property
    def output(self) -> list[Field]:
        return [(i, t) for _, i, t in self.columns]

    def label(self) -> str:
        cols = ", ".join(f"{s}->{i}" for s, i, _ in self.columns)
        pred = f" predicate={self.predicate}" if self.predicate is not None else ""
        return f"Scan {self.table} [{cols}]{pred}"


@dataclass(eq=False)
class FileScan(Node):
    """A file read through a streaming ``pyarrow.dataset`` scanner (``files.open_reader``)."""

    path: str
    format: str
    options: dict
    columns: list[tuple[str, str, pa.DataType]]  # (file column, id, type)
    est_rows: int = 1000

    @property
    def output(self) -> list[Field]:
        return [(i, t) for _, i, t in self.columns]

    def label(self) -> str:
        cols = ", ".join(f"{s}->{i}" for s, i, _ in self.columns)
        return f"FileScan {self.format} {self.path!r} [{cols}]"


@dataclass(eq=False)
class Values(Node):
    table: pa.Table  # columns named by id

    @property
    def output(self) -> list[Field]:
        return [(f.name, f.type) for f in self.table.schema]

    def label(self) -> str:
        return f"Values rows={self.table.num_rows}"


@dataclass(eq=False)
class Generated(Node):
    """Rows a table function makes at execution (``range``, ``generate_series``): its
    constant arguments ``args`` are evaluated, then ``make(values)`` yields one array per
    batch, the values of the single column ``id``."""

    name: str  # the call, for EXPLAIN
    id: str
    type: pa.DataType
    args: list[Expr]
    make: Callable[[list[Any]], Iterator[pa.Array]]
    est_rows: int = 1000

    @property
    def output(self) -> list[Field]:
        return [(self.id, self.type)]

    def label(self) -> str:
        return f"Generated {self.name} -> {self.id} rows={self.est_rows}"


@dataclass(eq=False)
class Unnest(Node):
    """Each input row repeated once per element of its list columns (``lists``: input ids),
    the elements as new columns (``elements``: (id, type), zipped; the shorter lists padded
    with NULL), which replace the list columns. A row whose lists are all empty or NULL yields no rows, as in DuckDB."""

    input: Node
    lists: list[str]
    elements: list[Field]

    def children(self) -> list[Node]:
        return [self.input]

    @property
    def output(self) -> list[Field]:
        lists = set(self.lists)
        return [f for f in self.input.output if f[0] not in lists] + self.elements

    def label(self) -> str:
        pairs = ", ".join(f"{i}<-{src}" for (i, _), src in zip(self.elements, self.lists,
                                                                strict=True))
        return f"Unnest [{pairs}]"


class SameColumns(Node):
    """A node over one input (``input``) whose columns it passes on unchanged: it only
    chooses, orders or counts rows (filter, sort, limit, sample)."""

    input: Node

    def children(self) -> list[Node]:
        return [self.input]

    @property
    def output(self) -> list[Field]:
        return self.input.output


@dataclass(eq=False)
class Filter(SameColumns):
    input: Node
    cond: Expr
    # the condition keeps at most half a scan's rows by its sample (``scan_predicates``):
    # run on the scan's batches whatever the estimate without samples says
    on_batches: bool = False

    def label(self) -> str:
        return f"Filter {self.cond!r}"


@dataclass(eq=False)
class SecureFilter(Filter):
    """A row-level security policy over a table's scan (``access/policies.py``): the
    optimizer pushes nothing of the query below it but conditions that cannot fail."""

    def label(self) -> str:
        return f"SecureFilter {self.cond!r}"


@dataclass(eq=False)
class Project(Node):
    input: Node
    exprs: list[tuple[str, Expr]]

    def children(self) -> list[Node]:
        return [self.input]

    @property
    def output(self) -> list[Field]:
        return [(i, e.type) for i, e in self.exprs]

    def label(self) -> str:
        return "Project " + ", ".join(
            i if isinstance(e, Col) and e.id == i else f"{i}={e!r}" for i, e in self.exprs)


@dataclass(eq=False)
class AggCall:
    id: str
    func: str  # SQL name: count, count_star, sum, avg, min, max, stddev_samp, ...
    arg: str | None  # input column id
    type: pa.DataType
    distinct: bool = False
    extra: Any = None  # separator for string_agg, quantile for quantile_*
    order: list = field(default_factory=list)  # (input id, desc, nulls_first): ordered aggs
    # a sum whose range the planner has bounded (``integer_decimals``): not checked for a
    # wrap at run time (``executor/sum_check``)
    bounded: bool = False
    # FILTER of an aggregate that keeps NULL values (``list``): the input column holding
    # whether each row counts
    keep: str | None = None

    def __repr__(self) -> str:
        d = "DISTINCT " if self.distinct else ""
        o = (" ORDER BY " + ", ".join(f"{i}{' DESC' if dsc else ''}" for i, dsc, _ in
                                      self.order)) if self.order else ""
        return f"{self.id}={self.func}({d}{self.arg or '*'}{o})"


@dataclass(eq=False)
class Aggregate(Node):
    input: Node
    keys: list[str]  # input column ids; output keeps the same ids
    aggs: list[AggCall]

    def children(self) -> list[Node]:
        return [self.input]

    @property
    def output(self) -> list[Field]:
        types = dict(self.input.output)
        return [(k, types[k]) for k in self.keys] + [(a.id, a.type) for a in self.aggs]

    def label(self) -> str:
        return f"Aggregate keys=[{', '.join(self.keys)}] aggs=[{', '.join(map(repr, self.aggs))}]"


@dataclass(eq=False)
class Unscale(Project):
    """A projection that passes its input's columns on and adds, for decimal columns of
    precision <= 18, their unscaled values as int64 columns (``unscaled(c)`` calls; the
    executor takes each value's low 64 bits, ``executor/integer_decimals.py``)."""

    def label(self) -> str:
        return "Unscale " + ", ".join(f"{i}={e!r}" for i, e in self.exprs if not isinstance(e, Col))


@dataclass(eq=False)
class IntegerDecimals(Node):
    """An aggregation over decimals computed on their unscaled integers
    (``optimizer/integer_decimals.py``): ``lowered`` is the aggregation rewritten so, whose
    sums, minima and maxima ``results`` converts back; ``original`` is the aggregation as
    planned, which runs instead when the bounds of the columns read (``leaves``) do not
    rule out an integer overflow (``checks``: each int64 value computed, with the bound it
    must stay within)."""

    lowered: Aggregate
    original: Aggregate
    results: list[tuple[str, str]]  # (lowered id, original id) of converted results
    leaves: dict[str, tuple[str, str, int]]  # leaf twin id -> (table, source column, scale)
    checks: list[tuple[Expr, int]]  # (int64 value over leaf twins, largest magnitude allowed)
    values: dict[str, Expr]  # summed twin id -> its value over leaf twins
    rows_id: str = ""  # the lowered aggregation's count of rows per group
    codes: list[tuple[str, str]] = field(default_factory=list)  # (key twin, original key)

    def children(self) -> list[Node]:
        return [self.lowered]

    @property
    def output(self) -> list[Field]:
        return self.original.output

    def label(self) -> str:
        return "IntegerDecimals (decimals below as unscaled int64s, one-byte keys as bytes)"


@dataclass(eq=False)
class Join(Node):
    left: Node
    right: Node
    kind: str  # inner, left, right, full, semi, anti, cross
    left_keys: list[Expr] = field(default_factory=list)
    right_keys: list[Expr] = field(default_factory=list)
    residual: Expr | None = None
    build_left: bool = False  # hash the left input (semi/anti/left joins with a small left)

    def children(self) -> list[Node]:
        return [self.left, self.right]

    @property
    def output(self) -> list[Field]:
        if self.kind in ("semi", "anti"):
            return self.left.output
        return self.left.output + self.right.output

    def label(self) -> str:
        keys = ", ".join(f"{a!r}={b!r}" for a, b in zip(self.left_keys, self.right_keys,
                                                       strict=True))
        res = f" residual={self.residual!r}" if self.residual is not None else ""
        build = " build=left" if self.build_left else ""
        return f"Join {self.kind} [{keys}]{res}{build}"


@dataclass(eq=False)
class SortKey:
    expr: Expr
    desc: bool = False
    nulls_first: bool = False


@dataclass(eq=False)
class Sort(SameColumns):
    input: Node
    keys: list[SortKey]

    def label(self) -> str:
        return "Sort " + ", ".join(
            f"{k.expr!r}{' DESC' if k.desc else ''}{' NULLS FIRST' if k.nulls_first else ''}"
            for k in self.keys)


@dataclass(eq=False)
class Limit(SameColumns):
    input: Node
    limit: int | None
    offset: int = 0

    def label(self) -> str:
        return f"Limit {self.limit} offset {self.offset}"


@dataclass(eq=False)
class SetOp(Node):
    kind: str  # union, intersect, except
    all: bool
    left: Node
    right: Node

    def children(self) -> list[Node]:
        return [self.left, self.right]

    @property
    def output(self) -> list[Field]:
        return self.left.output

    def label(self) -> str:
        return f"SetOp {self.kind}{' all' if self.all else ''}"


@dataclass(eq=False)
class WindowCall:
    id: str
    func: str
    args: list[Expr]
    type: pa.DataType
    partition: list[Expr]
    order: list[SortKey]
    extra: Any = None
    # (mode, start, end): mode rows/range/groups; a bound is ("unbounded", -1|1),
    # ("current", None) or ("offset", signed value; negative = PRECEDING)
    frame: Any = None
    ignore_nulls: bool = False
    distinct: bool = False


@dataclass(eq=False)
class Window(Node):
    input: Node
    calls: list[WindowCall]
    # its one call is a row_number() a filter above keeps only where it is 1: only each
    # partition's first row is found (optimizer/window_first.py)
    first_only: bool = False

    def children(self) -> list[Node]:
        return [self.input]

    @property
    def output(self) -> list[Field]:
        return self.input.output + [(c.id, c.type) for c in self.calls]

    def label(self) -> str:
        return "Window " + ", ".join(
            f"{c.id}={c.func}({', '.join(map(repr, c.args))}) over (partition by {c.partition})"
            for c in self.calls) + (" (first row of each partition)" if self.first_only else "")


@dataclass(eq=False)
class WorkTable(Node):
    """The rows of the previous iteration of a recursive CTE (``key`` names which)."""

    key: int
    fields: list[Field]

    @property
    def output(self) -> list[Field]:
        return self.fields

    def label(self) -> str:
        return f"WorkTable #{self.key}"


@dataclass(eq=False)
class RecursiveCTE(Node):
    """``anchor UNION [ALL] step`` iterated until ``step`` (reading ``WorkTable key``,
    the previous iteration's new rows) produces nothing new."""

    key: int
    anchor: Node
    step: Node
    all: bool

    def children(self) -> list[Node]:
        return [self.anchor, self.step]

    @property
    def output(self) -> list[Field]:
        return self.anchor.output

    def label(self) -> str:
        return f"RecursiveCTE #{self.key}{' union all' if self.all else ' union'}"


@dataclass(eq=False)
class SharedPlan:
    """A plan several ``Shared`` nodes read (a CTE referenced more than once)."""

    plan: Node
    name: str = ""
    optimized: bool = False


@dataclass(eq=False)
class Shared(Node):
    """One reference to a materialised CTE: the plan runs once per statement and every
    reference reads its result, under its own column ids (``fields``, positionally)."""

    key: int
    holder: SharedPlan
    fields: list[Field]

    @property
    def output(self) -> list[Field]:
        return self.fields

    def label(self) -> str:
        return f"Shared #{self.key} ({self.holder.name})"


def explain(node: Node, indent: int = 0, seen: set[int] | None = None) -> list[str]:
    seen = set() if seen is None else seen
    lines = ["  " * indent + node.label()]
    if isinstance(node, Shared):
        if node.key not in seen:
            seen.add(node.key)
            lines.extend(explain(node.holder.plan, indent + 1, seen))
        return lines
    for c in node.children():
        lines.extend(explain(c, indent + 1, seen))
    return lines


@dataclass(eq=False)
class Sample(SameColumns):
    """TABLESAMPLE / USING SAMPLE: each row kept with probability ``percent``/100
    (bernoulli), or ``rows`` rows drawn without replacement (reservoir); ``seed`` repeats."""

    input: Node
    percent: float | None
    rows: int | None
    seed: int | None = None
    exact: bool = False  # a percentage drawn as exactly that share of rows (reservoir)

    def label(self) -> str:
        size = f"{self.percent}%" if self.rows is None else f"{self.rows} rows"
        seed = f" seed={self.seed}" if self.seed is not None else ""
        return f"Sample {size}{seed}"


@dataclass(eq=False)
class PercentLimit(SameColumns):
    """``LIMIT p%``: floor(p/100 * count) rows after ``offset`` (DuckDB's rule: the share
    is of every row, the offset skipped after)."""

    input: Node
    percent: float
    offset: int = 0

    def label(self) -> str:
        return f"Limit {self.percent}% offset {self.offset}"
