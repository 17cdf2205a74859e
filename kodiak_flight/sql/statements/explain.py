"""EXPLAIN <query> (the optimised plan) and EXPLAIN ANALYZE <query> (the query run, its plan
answered with each operator's actual output rows and elapsed time, including its inputs',
and the total)."""

from __future__ import annotations

import time

import pyarrow as pa
from sqlglot import exp

from ..binder import Context
from ..binder.coverage import check_supported
from ..dialect import parse
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..executor.profile import ProfilingExecutor, Stats
from ..plan import Node, Shared, explain
from ..result import Result, rows
from .query import is_query, plan_query
from .registry import Statement, register


class PlanStatement(Statement):
    """What EXPLAIN and EXPLAIN ANALYZE share: the verb, a plan-lines result, the query."""

    node = exp.Command
    writes = False
    verb = ""

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == self.verb

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return pa.schema([pa.field("plan", pa.string())])

    def query(self, ex: ExecContext, node: exp.Expression) -> exp.Expression:
        """The one query after the verb, checked for clauses the binder would ignore."""
        stmts = parse(node.expression.name, ex.session.max_nesting)
        if len(stmts) != 1 or not is_query(stmts[0]):
            raise NotSupportedError(f"{self.verb} supports a single query")
        check_supported(stmts[0])
        return stmts[0]


@register
class Explain(PlanStatement):
    """EXPLAIN <query>: the optimised plan, one line a row (the query is not run)."""

    verb = "EXPLAIN"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        plan, _ = plan_query(ex.bind, self.query(ex, node))
        return rows(pa.table({"plan": pa.array(explain(plan), pa.string())}))


@register
class ExplainAnalyze(PlanStatement):
    """EXPLAIN ANALYZE <query>: the plan after running it, with rows and times."""

    verb = "EXPLAIN ANALYZE"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        query = self.query(ex, node)
        start = time.perf_counter()
        plan, _ = plan_query(ex.bind, query)
        planned = time.perf_counter()
        runner = ProfilingExecutor(ex.snap, ex.interrupt)
        result = runner.table(plan)
        done = time.perf_counter()
        lines = annotated(plan, runner.stats)
        lines.append(f"Total: {result.num_rows} rows in {_ms(done - start)} "
                     f"(planning {_ms(planned - start)}, execution {_ms(done - planned)})")
        return rows(pa.table({"plan": pa.array(lines, pa.string())}))


def annotated(node: Node, stats: dict[int, Stats], indent: int = 0,
              seen: set[int] | None = None) -> list[str]:
    """``plan.explain``'s lines, each with its node's actual rows and time."""
    seen = set() if seen is None else seen
    st = stats.get(id(node))
    actual = f"  (actual rows={st.rows} time={_ms(st.seconds)}" + \
        (f" runs={st.runs})" if st.runs > 1 else ")") if st else "  (not run)"
    lines = ["  " * indent + node.label() + actual]
    kids = node.children()
    if isinstance(node, Shared):
        kids = [] if node.key in seen else [node.holder.plan]
        seen.add(node.key)
    for c in kids:
        lines.extend(annotated(c, stats, indent + 1, seen))
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"
