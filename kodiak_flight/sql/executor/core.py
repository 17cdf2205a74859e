"""The executor: runs a logical plan through the operator registered for each node type.

Streaming operators (scan, filter, project, hash join, aggregation) become one Acero plan
fed by the engine's record-batch readers, so results stream batch by batch. Operators Acero
lacks or that must see all rows anyway (sort, limit/offset over sorted input, exact
quantiles, window functions, set operations) run on whole Arrow tables with pyarrow
compute - column at a time, never row at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..expr import Call, Expr, Lit, SubqueryValue, to_arrow
from ..interrupt import Interrupt
from ..optimizer import estimate, optimize
from ..optimizer.cardinality import KNOWN, MEMO
from ..plan import Node
from .acero import seq, source_reader, source_table, stream
from .arrow_errors import arrow_errors, error_mapping_reader
from .checked import read_checked
from .watch import PlanStalled

log = logging.getLogger(__name__)

# Below this many rows in memory, filter and project call the kernels directly: starting an
# Acero plan costs about 0.2 ms, more than a primary-key lookup's whole engine work.
SMALL_ROWS = 4096


@dataclass
class Out:
    """An operator's output: an Acero declaration (unordered), or ordered data."""

    decl: ac.Declaration | None = None
    table: pa.Table | None = None
    reader: pa.RecordBatchReader | None = None
    ordered: bool = False


def is_small(out: Out) -> bool:
    """Whether ``out`` is a table small enough to skip Acero for."""
    return out.table is not None and out.table.num_rows <= SMALL_ROWS


Operator = Callable[["Executor", Any], Out]
OPERATORS: dict[type[Node], Operator] = {}
# Whole plans answered at once, before any operator runs: each gives the plan's table (its
# column ids as names) or None (``scan.point_read``)
SHORTCUTS: list[Callable[[Executor, Node], pa.Table | None]] = []


def shortcut(fn: Callable[[Executor, Node], pa.Table | None]
             ) -> Callable[[Executor, Node], pa.Table | None]:
    SHORTCUTS.append(fn)
    return fn


def operator(kind: type[Node]) -> Callable[[Operator], Operator]:
    """Register the decorated function as the operator that runs plan nodes of ``kind``."""
    def register(fn: Operator) -> Operator:
        OPERATORS[kind] = fn
        return fn
    return register


class Executor:
    # filters stacked on a scan may run as one (``filter_project.run_filter``); not where
    # every node's own output is wanted (EXPLAIN ANALYZE's ``profile.ProfilingExecutor``)
    merges_filters = True
    # a plan may be answered whole by a ``shortcut``; not where every node's own output is
    # wanted (EXPLAIN ANALYZE)
    shortcuts = True

    def __init__(self, snap: Any, interrupt: Interrupt | None = None) -> None:
        self.snap = snap
        self.interrupt = interrupt  # checked by every scan before each batch
        self.work: dict[int, pa.Table] = {}  # recursive CTE key -> previous iteration's rows
        self.shared: dict[int, pa.Table] = {}  # shared CTE key -> its rows
        self._subqueries: dict[int, Expr] = {}
        self.threads = True  # Acero plans on its thread pool; False after a plan stalled
        self.known: dict[int, int] = {}  # plan node id -> rows, for nodes run into a table
        self._estimates: dict = {}  # ``estimate``'s memo while ``known`` stays the same
        self._plan_estimates: dict = {}  # its memo for the plan's own estimates
        self._ran: list[Node] = []  # those nodes, kept so that no other node gets their id
        # a copy of a plan node run in its place (a key filter's path) -> (copy, original)
        self._stand_ins: dict[int, tuple[Node, Node]] = {}

    # ------------------------------------------------------------------ public

    def reader(self, node: Node, names: list[str] | None = None) -> pa.RecordBatchReader:
        out = self.output(node, names)
        return out.to_reader() if isinstance(out, pa.Table) else out

    def output(self, node: Node, names: list[str] | list[pa.Field] | None = None
               ) -> pa.Table | pa.RecordBatchReader:
        """The result: a table when the plan's last step produced one anyway (so a server can
        send it without pulling batches through Python), else a streaming reader. ``names``
        may be fields: their names and metadata (``origins``), with the computed types.

        A plan that stalls (``watch.PlanStalled``) before the first row is handed on is run
        again on one thread, which reports its real error (or its rows)."""
        try:
            out = self._output(node, names)
        except PlanStalled:
            return self._output_serially(node, names)
        if isinstance(out, pa.Table):
            return out
        return pa.RecordBatchReader.from_batches(out.schema, self._rerun_if_stalled(
            out, node, names))

    def _rerun_if_stalled(self, r: pa.RecordBatchReader, node: Node,
                          names: list[str] | list[pa.Field] | None) -> Iterator[pa.RecordBatch]:
        handed = False
        try:
            for b in r:  # noqa: UP028 - the stall is caught only before the first batch
                handed = True
                yield b
        except PlanStalled:
            if handed:
                raise
            r = None  # type: ignore[assignment]
            again = self._output_serially(node, names)
            yield from (again.to_batches() if isinstance(again, pa.Table) else again)

    def _output_serially(self, node: Node, names: list[str] | list[pa.Field] | None
                         ) -> pa.Table | pa.RecordBatchReader:
        self._go_serial()
        return self._output(node, names)

    def _go_serial(self) -> None:
        """After a plan stalled: this statement's plans run on one thread from now on."""
        log.warning("a query plan stalled inside Acero; running it again on one thread")
        self.threads = False

    def _output(self, node: Node, names: list[str] | list[pa.Field] | None
                ) -> pa.Table | pa.RecordBatchReader:
        t = self._shortcut(node)
        out = Out(table=t) if t is not None else self.run(node)
        if out.table is not None:
            self.checkpoint()
            t = out.table
            return t if names is None else \
                pa.Table.from_arrays(t.columns, schema=named_schema(names, t.schema, keep=True))
        r = self.as_reader(out)
        if names is None:
            return r
        schema = named_schema(names, r.schema)
        return pa.RecordBatchReader.from_batches(schema, renamed(r, schema))

    def _shortcut(self, node: Node) -> pa.Table | None:
        if self.shortcuts:
            for fn in SHORTCUTS:
                t = fn(self, node)
                if t is not None:
                    return t
        return None

    def table(self, node: Node) -> pa.Table:
        """The whole result (a plan that stalls is run again on one thread, see ``output``)."""
        try:
            return self.as_table(self.run(node))
        except PlanStalled:
            self._go_serial()
            return self.as_table(self.run(node))

    def run(self, node: Node) -> Out:
        out = OPERATORS[type(node)](self, node)
        if out.table is not None:
            self.known[id(node)] = out.table.num_rows
            self._ran.append(node)
            self._estimates = {}
        return out

    def stand_in(self, copy: Node, original: Node) -> None:
        """``copy`` runs in ``original``'s place: EXPLAIN ANALYZE counts it as the original."""
        self._stand_ins[id(copy)] = (copy, original)

    def original(self, node: Node) -> Node:
        """The plan node ``node`` runs in place of (itself, unless it is a stand-in)."""
        found = self._stand_ins.get(id(node))
        return found[1] if found is not None else node

    def estimate(self, node: Node) -> float:
        """``node``'s estimated rows, with the actual rows of the nodes run into tables so
        far taking the place of their estimates (and so of the guesses above them: a
        HAVING filter's selectivity, say)."""
        token, memo = KNOWN.set(self.known), MEMO.set(self._estimates)
        try:
            return estimate(node)
        finally:
            MEMO.reset(memo)
            KNOWN.reset(token)

    @contextmanager
    def plan_estimates(self) -> Iterator[None]:
        """Within it, ``optimizer.estimate`` (the plan's estimates, no actual rows) shares one
        memo for the whole execution: each join's choices asked for its inputs' estimates
        afresh, the whole subtree below (TPC-H Q2's nine joins: ~2 ms a run)."""
        token = MEMO.set(self._plan_estimates)
        try:
            yield
        finally:
            MEMO.reset(token)

    def ran_below(self, node: Node) -> bool:
        """Whether some node of ``node``'s subtree has run into a table (its size known)."""
        stack = [node]
        while stack:
            n = stack.pop()
            if id(n) in self.known:
                return True
            stack.extend(n.children())
        return False

    # ------------------------------------------------------------------ plumbing

    def as_decl(self, out: Out) -> ac.Declaration:
        if out.decl is not None:
            return out.decl
        if out.table is not None:
            return source_table(out.table)
        assert out.reader is not None
        return source_reader(out.reader)

    @arrow_errors
    def as_table(self, out: Out) -> pa.Table:
        if out.table is not None:
            return out.table
        if self.interrupt is None:
            if out.reader is not None:
                return out.reader.read_all()
            return self.as_reader(out).read_all()  # watched: a stuck plan cannot hang it
        # read batch by batch, checking between batches: a join or filter upstream keeps
        # producing long after its scans' last check (see ``checked.py``)
        table = read_checked(self.as_reader(out), self.interrupt)
        self.checkpoint()
        return table

    def checkpoint(self) -> None:
        """Check the interrupt after a step that materialised a table: a sort or aggregate
        whose scans have ended allocates after their last check (the memory limit)."""
        if self.interrupt is not None:
            self.interrupt.check()

    def as_reader(self, out: Out) -> pa.RecordBatchReader:
        if out.reader is not None:
            return out.reader
        if out.table is not None:
            return out.table.to_reader()
        assert out.decl is not None
        return error_mapping_reader(arrow_errors(stream)(out.decl, self.threads),
                                    self.interrupt)

    def pipe(self, inp: Out, decl: ac.Declaration) -> Out:
        """Append a streaming Acero node; ordered input is processed single-threaded."""
        if inp.ordered:
            plan = seq(self.as_decl(inp), decl)
            table = arrow_errors(plan.to_table)(use_threads=False)
            return Out(table=table, ordered=True)
        return Out(decl=seq(self.as_decl(inp), decl))

    def cached_keys(self) -> tuple[set[int], set[int]]:
        """The keys of the shared rows and subquery values computed so far."""
        return set(self.shared), set(self._subqueries)

    def forget_cached(self, keep: tuple[set[int], set[int]]) -> None:
        """Drop the shared rows and subquery values computed since ``keep`` was taken."""
        for key in set(self.shared) - keep[0]:
            del self.shared[key]
        for key in set(self._subqueries) - keep[1]:
            del self._subqueries[key]

    def run_separately(self, plan: Node) -> pa.Table:
        """Run a sub-plan to completion now (subquery values, shared CTEs)."""
        return self.as_table(self.run(plan))

    # ------------------------------------------------------------------ expressions

    def resolve(self, e: Expr) -> Expr:
        """Replace uncorrelated subqueries by their (cached) values."""
        if isinstance(e, SubqueryValue):
            return self._subquery(e)
        if isinstance(e, Call):
            args = tuple(self.resolve(a) for a in e.args)
            opts = e.options
            if isinstance(opts, SubqueryValue):
                values = self._subquery(opts)
                assert isinstance(values, Lit)
                uniq, had_null = values.value
                if not len(uniq) and not had_null:  # x IN (no rows): false, even for NULL
                    return Lit(False, pa.bool_())
                opts = pc.SetLookupOptions(uniq, skip_nulls=True)
                inner: Expr = Call("is_in", args, opts, pa.bool_())
                if had_null:  # x IN (..., NULL) is NULL, not false, when x is not found
                    inner = Call("if_else", (inner, Lit(True, pa.bool_()),
                                             Lit(None, pa.bool_())), None, pa.bool_())
                return Call("if_else", (Call("is_null", args, None, pa.bool_()),
                                        Lit(None, pa.bool_()), inner), None, pa.bool_())
            if all(a is b for a, b in zip(args, e.args, strict=True)):
                return e  # (unchanged: keeps what was set on it, an IN list's ``_values``)
            return Call(e.fn, args, opts, e.type)
        return e

    def _subquery(self, sq: SubqueryValue) -> Expr:
        if sq.key in self._subqueries:
            return self._subqueries[sq.key]
        plan = optimize(sq.plan)
        table = self.run_separately(plan)
        if sq.kind == "exists":
            val: Expr = Lit(table.num_rows > 0, pa.bool_())
        elif sq.kind == "no_rows":  # a check: rows are correlation keys with several rows
            if table.num_rows:
                raise ExecutionError("more than one row returned by a subquery used as an "
                                     "expression")
            val = Lit(True, pa.bool_())
        elif sq.kind == "scalar":
            if table.num_rows > 1:
                raise ExecutionError("more than one row returned by a subquery used as an "
                                     "expression")
            col = table.column(sq.out_id) if sq.out_id in table.column_names else table.column(0)
            v = col[0].as_py() if table.num_rows else None
            val = Lit(v, sq.type)
        else:
            col = table.column(sq.out_id) if sq.out_id in table.column_names else table.column(0)
            uniq = pc.unique(col.combine_chunks() if col.num_chunks else pa.array([], col.type))
            val = Lit((uniq.drop_null(), col.null_count > 0), sq.type)
        self._subqueries[sq.key] = val
        return val

    def compile(self, e: Expr) -> pc.Expression:
        return to_arrow(self.resolve(e))


def picked(r: pa.RecordBatchReader, picks: list[int], names: list[str]) -> pa.RecordBatchReader:
    """``r``'s columns at ``picks`` under ``names``, batch by batch as ``r`` yields them: no
    copy and no re-chunking (an Acero plan would cut every batch into 32,768-row morsels)."""
    schema = pa.schema([r.schema.field(k).with_name(n) for k, n in zip(picks, names,
                                                                         strict=True)])
    every = picks == list(range(len(r.schema)))

    def batches() -> Iterator[pa.RecordBatch]:
        # (a rename costs ~1 us a batch, building the batch from its arrays ~5)
        for b in r:
            yield (b if every else b.select(picks)).rename_columns(names)
    return pa.RecordBatchReader.from_batches(schema, batches())


class NamedMemo:
    """The last few schemas :func:`_named` made, by the very ``names`` list (a prepared
    query's result fields are one list per plan template) and an equal input schema: a
    point lookup's nine renamed fields cost ~50 µs to build, comparing schemas ~0.1 µs.
    The list is replaced, never changed in place: no lock needed."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.entries: list[tuple[list[Any], bool, pa.Schema, pa.Schema]] = []

    def __call__(self, names: list[str] | list[pa.Field], schema: pa.Schema,
                 keep: bool = False) -> pa.Schema:
        entries = self.entries
        for known, kept, given, made in entries:
            if known is names and kept == keep and given.equals(schema, check_metadata=True):
                return made
        made = _named(names, schema, keep)
        # the entry holds ``names``, so its id cannot be reused while it is kept
        self.entries = [(names, keep, schema, made), *entries[:self.size - 1]]
        return made


named_schema = NamedMemo()


def _named(names: list[str] | list[pa.Field], schema: pa.Schema, keep: bool = False
           ) -> pa.Schema:
    """``schema`` under ``names`` (or the names and metadata of fields, ``origins``: never
    metadata a stored column carried, which would name another table); ``keep``: each
    field's nullability and the schema's metadata."""
    out = []
    for n, f in zip(names, schema, strict=True):
        field = pa.field(f.name, f.type, f.nullable if keep else True)
        if isinstance(n, pa.Field):
            out.append(field.with_name(n.name).with_metadata(n.metadata or {}))
        else:
            out.append(field.with_name(n))
    return pa.schema(out, metadata=schema.metadata if keep else None)


def renamed(r: pa.RecordBatchReader, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The batches of ``r`` under ``schema``'s names."""
    for b in r:
        yield pa.RecordBatch.from_arrays(b.columns, schema=schema)
