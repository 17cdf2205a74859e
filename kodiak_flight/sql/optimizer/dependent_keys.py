"""Group keys a primary key determines, fetched after the aggregation instead of grouped on.

TPC-H Q10 groups by ``c_custkey, c_name, c_acctbal, c_phone, n_name, c_address,
c_comment``: every ``customer`` column there is fixed by ``c_custkey``, its primary key.
Carried through the joins and hashed as group keys, those strings cost more than the rest
of the query. Grouped by the key alone (with the keys from other relations), the
aggregation's groups then look their other columns up by a join with a second scan of the
table: each group's key is one row of it (the key came from that table, in the same
snapshot), so the rows and values are the same.

Only keys found through projections that rename, filters and inner joins down to a table
scan with a one-column primary key are rewritten.
"""

from __future__ import annotations

from ..binder.context import new_id
from ..expr import Col
from ..plan import Aggregate, Join, Node, Project, Scan
from .cardinality import estimate
from .util import column_source, rewrite_aggregates


def fetch_dependent_keys(node: Node) -> Node:
    """The rule: every aggregation groups by a primary key, not by the columns it fixes."""
    return rewrite_aggregates(node, _rewritten)


def _rewritten(agg: Aggregate) -> Node | None:
    """``agg`` grouping by a primary key instead of the other columns of its table, those
    joined back after; None when no key qualifies."""
    found = {k: column_source(agg.input, k) for k in agg.keys}
    for k in agg.keys:
        src = found[k]
        if src is None or not src[2] or len(src[0].primary_key) != 1:
            continue
        scan, cid = src[0], src[1]
        by_id = {i: (s, t) for s, i, t in scan.columns}
        if by_id[cid][0] != scan.primary_key[0]:
            continue
        deps = [d for d in agg.keys if d != k and found[d] is not None
                and found[d][0] is scan]
        if deps:
            return _regroup(agg, k, scan, deps, {d: by_id[found[d][1]] for d in deps})
    return None


def _regroup(agg: Aggregate, k: str, scan: Scan, deps: list[str],
             columns: dict[str, tuple]) -> Node:
    types = dict(agg.input.output)
    out = agg.output
    grouped = Aggregate(agg.input, [x for x in agg.keys if x not in deps], agg.aggs)
    key_id = new_id()
    again = Scan(scan.table, [(scan.primary_key[0], key_id, types[k])] +
                 [(columns[d][0], d, columns[d][1]) for d in deps],
                 est_rows=scan.est_rows, raw_types=scan.raw_types, stats=scan.stats,
                 keyed=scan.keyed, primary_key=scan.primary_key)
    if estimate(again) >= estimate(grouped):  # the larger input probes (Acero hashes right)
        j = Join(again, grouped, "inner", [Col(key_id, types[k])], [Col(k, types[k])])
    else:
        j = Join(grouped, again, "inner", [Col(k, types[k])], [Col(key_id, types[k])])
    return Project(j, [(i, Col(i, t)) for i, t in out])
