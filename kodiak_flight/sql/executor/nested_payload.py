"""Lists, structs, maps and all-NULL columns carried through a hash join.

Acero's hash join takes no nested or NULL-typed column on either side, key or not ("Data
type struct<...> is not supported in join non-key field"), so ``SELECT t.tags, k.name FROM t
JOIN k ON t.id = k.id`` failed whenever ``t`` held a list. A side holding nested columns
that the join's keys (and an outer join's condition) do not read is run into a table,
those columns set aside and replaced by the row's number; the join runs on the rest, and
each is taken back by the numbers the join kept (a NULL number, the unmatched side of an
outer join, takes NULL); an inner join's condition reading such a column filters the
joined rows after they are taken back. An all-NULL (NULL-typed) column goes through as
INTEGER NULLs and comes out as the NULLs it holds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..plan import Join, Node, Values
from .core import Executor, Out
from .kernels import evaluate

ROW = "__row_{}"  # the row-number column standing in for a side's nested columns


def carried(ex: Executor, node: Join, left: Out, right: Out) -> Out | None:
    """``node`` run with the nested columns of its inputs set aside (see the module); None
    when no input holds a nested column the join could leave aside."""
    read = set().union(*(k.col_ids() for k in (*node.left_keys, *node.right_keys)))
    after = node.residual if node.kind in ("inner", "cross") else None  # a filter after
    if node.residual is not None and after is None:
        read |= node.residual.col_ids()
    held = [[i for i, t in side.output if pa.types.is_nested(t) and i not in read]
            for side in (node.left, node.right)]
    empty = [[i for i, t in side.output if pa.types.is_null(t)]
             for side in (node.left, node.right)]
    if not any(held) and not any(empty):
        return None
    tables: list[pa.Table | None] = []
    inputs: list[Node] = []
    for n, (side, out, ids) in enumerate(zip((node.left, node.right), (left, right), held,
                                             strict=True)):
        t = ex.as_table(out).rename_columns(side.out_ids())
        tables.append(t if ids else None)
        if ids:
            t = t.drop_columns(ids).append_column(ROW.format(n), pa.array(
                np.arange(t.num_rows, dtype=np.int64)))
        for i in empty[n]:  # an all-NULL column, as INTEGER NULLs (its keys are cast so)
            t = t.set_column(t.schema.get_field_index(i), i, pa.nulls(t.num_rows, pa.int32()))
        inputs.append(Values(t))
    residual = node.residual if after is None else None
    joined = ex.as_table(ex.run(dataclasses.replace(node, left=inputs[0], right=inputs[1],
                                                    residual=residual)))
    cols = []
    nulls = set(empty[0]) | set(empty[1])
    for i in node.out_ids():
        side = next((n for n, ids in enumerate(held) if i in ids), None)
        if i in nulls:
            cols.append(pa.nulls(joined.num_rows))
        elif side is None:
            cols.append(joined.column(i))
        else:
            cols.append(tables[side].column(i).take(joined.column(ROW.format(side))))
    out = pa.table(cols, names=node.out_ids())
    if after is not None:
        out = out.filter(pc.fill_null(evaluate(out, after), False))
    return Out(table=out)
