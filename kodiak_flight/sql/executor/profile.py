"""EXPLAIN ANALYZE's executor: runs a plan with every operator's output counted and timed.

Each operator's output is materialised as it is produced (so its rows are a table's
length, not a count of rows pulled through Python, and its time is its own work plus its
inputs'): the query runs fully, at some cost in streaming, which EXPLAIN ANALYZE accepts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..plan import Node
from .core import Executor, Out


@dataclass
class Stats:
    """One plan node's actuals: rows out, seconds including its inputs, and runs."""

    rows: int = 0
    seconds: float = 0.0
    runs: int = 0


class ProfilingExecutor(Executor):
    """An executor that records :class:`Stats` per plan node (by identity)."""

    merges_filters = False  # each filter's rows counted on their own
    shortcuts = False  # each operator's rows counted

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stats: dict[int, Stats] = {}

    def run(self, node: Node) -> Out:
        start = time.perf_counter()
        out = super().run(node)
        table = self.as_table(out)
        st = self.stats.setdefault(id(self.original(node)), Stats())
        st.seconds += time.perf_counter() - start
        st.rows += table.num_rows
        st.runs += 1
        return Out(table=table, ordered=out.ordered)
