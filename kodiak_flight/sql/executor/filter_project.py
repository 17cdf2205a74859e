"""Filter and projection: an Acero node each, or direct kernel calls on a small table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.acero as ac

from ..expr import Col, Lit, to_arrow
from ..plan import Filter, Project, SecureFilter
from .core import Executor, Out, is_small, operator, picked
from .kernels import evaluate


@operator(SecureFilter)  # a row-level security policy runs as the filter it is
@operator(Filter)
def run_filter(ex: Executor, node: Filter) -> Out:
    inp = ex.run(node.input)
    cond = ex.resolve(node.cond)
    if isinstance(cond, Lit):
        if cond.value:
            return inp
        return Out(table=pa.schema([pa.field(i, t) for i, t in node.output]).empty_table(),
                   ordered=True)
    if is_small(inp) and inp.table is not None and inp.table.num_columns:
        return Out(table=inp.table.filter(evaluate(inp.table, cond)), ordered=inp.ordered)
    return ex.pipe(inp, ac.Declaration("filter", ac.FilterNodeOptions(to_arrow(cond))))


@operator(Project)
def run_project(ex: Executor, node: Project) -> Out:
    inp = ex.run(node.input)
    if is_small(inp) and node.exprs:  # (a table without columns would lose its row count)
        assert inp.table is not None
        cols = [evaluate(inp.table, ex.resolve(e)) for _, e in node.exprs]
        return Out(table=pa.table(cols, names=[i for i, _ in node.exprs]),
                   ordered=inp.ordered)
    names = [i for i, _ in node.exprs]
    if inp.reader is not None and node.exprs and all(isinstance(e, Col) for _, e in node.exprs):
        # columns chosen and renamed: the input's batches pass through untouched
        ids = inp.reader.schema.names
        return Out(reader=picked(inp.reader, [ids.index(e.id) for _, e in node.exprs], names),
                   ordered=inp.ordered)
    exprs = [ex.compile(e) for _, e in node.exprs]
    return ex.pipe(inp, ac.Declaration("project", ac.ProjectNodeOptions(exprs, names)))
