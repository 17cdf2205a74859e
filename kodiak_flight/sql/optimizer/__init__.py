"""Optimizer: rewrite rules run in order over a bound plan (``RULES``).

The binder emits joins in FROM order with every condition in a filter above them, which
for comma-joined TPC-H queries means cross products. The rules

* optimise each shared CTE's plan on its own, once (``optimize_ctes``);
* push conjuncts down to the relation they touch, into engine scans where the engine can
  use them (zone maps, B+ tree), and into hash-join keys, factoring ORs on the way
  (``pushdown``, ``scan_predicates``, ``or_factoring``, ``join_keys``), turning a LEFT JOIN
  into an INNER JOIN when a filter above rejects the NULLs it would add, and ordering
  inner joins by estimated cardinality (``join_order``, ``cardinality``,
  ``reduce_aggregates``);
* group by a table's primary key instead of the columns it fixes, fetched after the
  aggregation (``dependent_keys``);
* aggregate a join's side by the join key before the join where that folds its rows and
  the join would not drop them (``eager_aggregation``);
* compute below a join the expressions that would carry several columns through it
  (``early_projection``);
* evaluate a filter on a hash join's probe input in the join, on the matched rows only,
  where the join keeps far fewer rows than the filter (``join_filters``);
* group by keys alone, computing keys that are functions of other keys after the
  aggregation (``derived_keys``), and compute sums of a column plus constants from one sum
  and one count (``sum_offsets``);
* prune every operator to the columns used above it (``prune``);
* let a guarded CASE branch read the same expression the projection computes unguarded
  anyway (``case_branches``), then compute arithmetic a projection repeats once
  (``shared_subexpressions``);
* compute sums of decimal arithmetic on unscaled int64s where the data's bounds allow
  (``integer_decimals``);
* find only each partition's first row for a window a filter keeps at ``row_number() = 1``
  (``window_first``).
"""

from __future__ import annotations

from ..plan import Node, Shared
from .cardinality import estimate
from .case_branches import unguard_case_branches
from .dependent_keys import fetch_dependent_keys
from .derived_keys import compute_derived_keys
from .eager_aggregation import aggregate_early
from .early_projection import compute_early
from .engine_predicates import to_engine_predicate
from .integer_decimals import integer_decimals
from .join_filters import filters_into_joins
from .prune import prune_columns
from .pushdown import push_predicates
from .shared_subexpressions import share_subexpressions
from .sum_offsets import sums_of_offsets
from .window_first import first_rows_only


def optimize_ctes(node: Node) -> Node:
    """Optimise the plan of every shared CTE ``node`` reads, once, on its own."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Shared) and not n.holder.optimized:
            n.holder.plan = optimize(n.holder.plan)
            n.holder.optimized = True
        stack.extend(n.children())
    return node


RULES = (optimize_ctes, push_predicates, fetch_dependent_keys, aggregate_early, compute_early,
         filters_into_joins, compute_derived_keys, sums_of_offsets, prune_columns,
         unguard_case_branches, share_subexpressions, integer_decimals, first_rows_only)


def optimize(node: Node) -> Node:
    """``node`` rewritten by every rule, in order (operators are rewritten in place)."""
    for rule in RULES:
        node = rule(node)
    return node


__all__ = ["RULES", "estimate", "optimize", "to_engine_predicate"]
