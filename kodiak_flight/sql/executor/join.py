"""Hash joins through Acero, and index joins: a small side's keys looked up through the
other side's primary key or index instead of a full scan of it."""

from __future__ import annotations

import copy

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from engine import predicate as P

from ..expr import Call, Col, Expr, Lit, and_all, cast
from ..optimizer import estimate
from ..optimizer.cardinality import col_ndv
from ..plan import Filter, Join, Node, Project, Scan
from ..types import normalize
from .acero import seq
from .checked import checked_output, checked_residual
from .core import Executor, Out, operator
from .filter_project import KEPT_SHARE, on_scan
from .int_tests import cheap_members
from .kernels import evaluate, unsigned_zero
from .nested_loop import applies as nested_loop_applies
from .nested_loop import run_nested_loop
from .nested_payload import carried

# A join whose one side is expected to have at most this many rows, and the other side to be
# a table scan at least INDEX_JOIN_RATIO times larger, looks the small side's keys up through
# the big side's primary key or index (``index_join_inputs``) instead of scanning it.
INDEX_JOIN_KEYS = 10_000
INDEX_JOIN_RATIO = 16
# (kinds for which restricting the right / the left input to the other's keys is exact)
RESTRICT_RIGHT = {"inner", "left", "semi", "anti"}
RESTRICT_LEFT = {"inner", "semi"}
KEY_FILTERED = RESTRICT_LEFT  # (the left input restricted, to the right's keys)
# A key filter runs the right input first when it is expected to have at most
# KEY_FILTER_INNER_ROWS rows (KEY_FILTER_RIGHT_ROWS for a semi join) and the left filter
# KEY_FILTER_PLAN_RATIO times as many, then uses its keys if they are at most KEY_FILTER_KEYS
# and the left filter is expected to keep KEY_FILTER_RATIO times as many rows. Planning asks
# less than the run because a right input's estimate often runs high (TPC-H Q3's orders of
# one segment's customers: 219 K estimated, 147 K found); where the keys then are too many
# (Q8's 44 K customers against 455 K orders), running the right input apart from the left
# costs 3-10 ms, which the planning ratio keeps Q5 and Q8 from paying. A semi join's right
# input is often estimated far above what it holds (Q20's part-supplier pairs of parts named
# like 'forest%': 80 K guessed, 8.5 K found), so it is not held to the ratio at planning.
# The keys of a join's 147 K orders cut Q3's lineitem from the 3.2 M rows its ship dates
# keep to 30 K before any column is copied: 92 -> 66 ms embedded.
KEY_FILTER_RIGHT_ROWS = 100_000
KEY_FILTER_INNER_ROWS = 250_000
KEY_FILTER_PLAN_RATIO = 12
KEY_FILTER_KEYS = 250_000
KEY_FILTER_FEW = INDEX_JOIN_KEYS  # more keys than this: at most KEY_FILTER_SHARE of the
KEY_FILTER_SHARE = 0.4  # key column's distinct values (``few_of``)
KEY_FILTER_RATIO = INDEX_JOIN_RATIO

JOIN_TYPES = {"inner": "inner", "cross": "inner", "left": "left outer",
              "full": "full outer", "semi": "left semi", "anti": "left anti"}
# with the inputs swapped (Acero hashes its right input)
SWAPPED_JOIN_TYPES = {"semi": "right semi", "anti": "right anti", "left": "right outer"}


@operator(Join)
def run_join(ex: Executor, node: Join) -> Out:
    if nested_loop_applies(node):
        return run_nested_loop(ex, node)
    with ex.plan_estimates():
        lookup = index_join(node)
        found = key_filter(node) if lookup is None else None
    if lookup is not None:
        left, right = index_join_inputs(ex, node, *lookup)
    elif found is not None:
        left, right = key_filtered_inputs(ex, node, *found)
    else:
        left, right = ex.run(node.left), ex.run(node.right)
    if (out := carried(ex, node, left, right)) is not None:
        return out  # lists, structs or maps set aside around Acero's join
    lids, rids = node.left.out_ids(), node.right.out_ids()
    lkeys, rkeys = node.left_keys, node.right_keys
    ldecl, rdecl = ex.as_decl(left), ex.as_decl(right)
    if not lkeys:
        lkeys, rkeys = [Lit(0, pa.int32())], [Lit(0, pa.int32())]
    ldecl, lnames = keyed(ex, ldecl, lids, lkeys, "__lk")
    rdecl, rnames = keyed(ex, rdecl, rids, rkeys, "__rk")
    residual = ex.compile(node.residual) if node.residual is not None else None
    # checked inside the probe (each mini-batch of matches) and on the join's output
    residual = checked_residual(residual, ex.interrupt)
    if build_left(ex, node):
        decl = swapped_inner_join(node, ldecl, rdecl, lnames, rnames, residual)
    else:
        decl = hash_join(node, ldecl, rdecl, lnames, rnames, residual)
    return Out(decl=checked_output(decl, ex.interrupt))


def build_left(ex: Executor, node: Join) -> bool:
    """Whether an inner join hashes its left input after all: the optimizer put the side it
    expected larger on the left, but a part of the plan below that has run since (an
    aggregate and its HAVING filter, run into a table) can show the left side far smaller
    than guessed (TPC-H Q18: 57 orders over 300 in quantity, against the 1.5 M customers
    of SF10 that would be hashed instead)."""
    if node.kind != "inner" or not node.left_keys or \
            not (ex.ran_below(node.left) or ex.ran_below(node.right)):
        return False
    return ex.estimate(node.left) * 2 < ex.estimate(node.right)


def swapped_inner_join(node: Join, ldecl: ac.Declaration, rdecl: ac.Declaration,
                       lnames: list[str], rnames: list[str], residual: pc.Expression | None
                       ) -> ac.Declaration:
    """``node``'s inner join with its left input hashed (Acero hashes its right input), the
    columns in the join's order."""
    lids, rids = node.left.out_ids(), node.right.out_ids()
    opts = ac.HashJoinNodeOptions("inner", rnames, lnames, left_output=rids,
                                  right_output=lids, filter_expression=residual)
    j = ac.Declaration("hashjoin", opts, inputs=[rdecl, ldecl])
    proj = ac.ProjectNodeOptions([pc.field(i) for i in lids + rids], lids + rids)
    return seq(j, ac.Declaration("project", proj))


def hash_join(node: Join, ldecl: ac.Declaration, rdecl: ac.Declaration, lnames: list[str],
              rnames: list[str], residual: pc.Expression | None) -> ac.Declaration:
    """The Acero hash join of ``node``'s keyed inputs."""
    lids, rids = node.left.out_ids(), node.right.out_ids()
    if node.build_left and node.kind in SWAPPED_JOIN_TYPES:
        # Acero hashes its right input: swap the inputs, keep the semantics
        rjt = SWAPPED_JOIN_TYPES[node.kind]
        if node.kind == "left":
            opts = ac.HashJoinNodeOptions(rjt, rnames, lnames, left_output=rids,
                                          right_output=lids, filter_expression=residual)
            j = ac.Declaration("hashjoin", opts, inputs=[rdecl, ldecl])
            proj = ac.ProjectNodeOptions([pc.field(i) for i in lids + rids], lids + rids)
            return seq(j, ac.Declaration("project", proj))
        opts = ac.HashJoinNodeOptions(rjt, rnames, lnames, left_output=[],
                                      right_output=lids, filter_expression=residual)
        return ac.Declaration("hashjoin", opts, inputs=[rdecl, ldecl])
    right_output = [] if node.kind in ("semi", "anti") else rids
    opts = ac.HashJoinNodeOptions(JOIN_TYPES[node.kind], lnames, rnames, left_output=lids,
                                  right_output=right_output, filter_expression=residual)
    return ac.Declaration("hashjoin", opts, inputs=[ldecl, rdecl])


def keyed(ex: Executor, decl: ac.Declaration, ids: list[str], keys: list[Expr], prefix: str
          ) -> tuple[ac.Declaration, list[str]]:
    """``decl`` with the join ``keys`` as columns (computed ones named ``prefix<n>``), and
    their names."""
    if all(isinstance(k, Col) and not pa.types.is_null(k.type)
           and not pa.types.is_floating(k.type) for k in keys):
        return decl, [k.id for k in keys]  # type: ignore[attr-defined]
    names = [f"{prefix}{n}" for n in range(len(keys))]
    exprs = [pc.field(i) for i in ids] + [key_expression(ex, k) for k in keys]
    proj = ac.Declaration("project", ac.ProjectNodeOptions(exprs, ids + names))
    return seq(decl, proj), names


def key_expression(ex: Executor, k: Expr) -> pc.Expression:
    """A join key as Acero hashes it: a NULL-typed key (an all-NULL column, which matches
    nothing) as INTEGER, which Acero takes; a double with -0.0 as 0.0 (equal in SQL, two
    bit patterns to a hash)."""
    if pa.types.is_null(k.type):
        return ex.compile(cast(k, pa.int32()))
    if pa.types.is_floating(k.type):
        return unsigned_zero(ex.compile(k))
    return ex.compile(k)


def index_join_inputs(ex: Executor, node: Join, side: str, pos: int, column: str
                      ) -> tuple[Out, Out]:
    """Run the small side first, then read only the matching rows of the other side (a
    table scan) through its primary key or index: one batched B+ tree probe with the
    small side's distinct keys (an engine ``In`` predicate) instead of a full scan."""
    small_node, scan_node = (node.left, node.right) if side == "right" else \
        (node.right, node.left)
    small_keys = node.left_keys if side == "right" else node.right_keys
    small = ex.as_table(ex.run(small_node))
    keys = pc.unique(evaluate(small, ex.resolve(small_keys[pos]))).drop_null()
    if len(keys) <= INDEX_JOIN_KEYS:
        scan_node = restricted(scan_node, P.In(column, tuple(keys.to_pylist())))
    outs = (Out(table=small), ex.run(scan_node))
    return outs if side == "right" else (outs[1], outs[0])


def key_filter(node: Join) -> tuple[int, list[Node], str] | None:
    """Where the small right input of an inner or semi join hands its keys to a filter that
    runs on a scan's batches (``key_filtered_inputs``): the key position, the path from the
    left input down to that filter (through inner joins and renames: each row above comes
    from one row there with the same key value), and the key's column id there. A left row
    whose key the right lacks matches nothing in either kind. (TPC-H Q20: lineitem's 909 K
    rows of 1994 were copied before a semi join with 8.5 K part-supplier pairs kept 9.7 K
    of them; Q7: lineitem's 1.83 M rows of two years were copied and joined with the
    orders of two nations' customers before the suppliers of those nations kept 8 %.)"""
    if node.kind not in KEY_FILTERED or node.build_left or not node.left_keys:
        return None
    small = estimate(node.right)
    if small > (KEY_FILTER_RIGHT_ROWS if node.kind == "semi" else KEY_FILTER_INNER_ROWS):
        return None  # (how many keys it has is known once it has run: see below)
    for pos, (lk, rk) in enumerate(zip(node.left_keys, node.right_keys, strict=True)):
        if isinstance(lk, Col) and lk.type == rk.type and pa.types.is_integer(lk.type):
            found = scan_filter_below(node.left, lk.id)
            if found is not None and (node.kind == "semi" or
                                      estimate(found[0][-1]) >= KEY_FILTER_PLAN_RATIO * small):
                return pos, found[0], found[1]
    return None


def scan_filter_below(node: Node, key: str) -> tuple[list[Node], str] | None:
    """The path from ``node`` down to the filter on a scan's batches that outputs column
    ``key``, through inner joins and renames, and the column's id there."""
    path = [node]
    while True:
        if type(node) is Filter:
            # a lone filter over a scan takes the key test into its own condition
            # (``tested``), which then runs on the batches however many rows it kept alone
            lone = isinstance(node.input, Scan)
            return (path, key) if (lone or on_batches(node)) and key in node.out_ids() \
                else None
        if isinstance(node, Project):
            e = dict(node.exprs).get(key)
            if not isinstance(e, Col):
                return None
            key, node = e.id, node.input
        elif isinstance(node, Join) and node.kind == "inner":
            node = node.left if key in node.left.out_ids() else node.right
            if key not in node.out_ids():
                return None
        else:
            return None
        path.append(node)


def on_batches(node: Node) -> bool:
    """Whether ``node`` is filters that run on a scan's batches (``filter_project.on_scan``),
    which a test put on them joins. (Not a bare scan: its batches go into the join without a
    copy, and its Bloom filter drops the rows that do not match; testing them on the
    reading thread first made TPC-H Q11 slower.)"""
    if type(node) is not Filter:
        return False
    return len(on_scan(node)[0]) > 1 or (isinstance(node.input, Scan) and
                                      estimate(node) <= KEPT_SHARE * estimate(node.input))


def key_filtered_inputs(ex: Executor, node: Join, pos: int, path: list[Node], key: str
                        ) -> tuple[Out, Out]:
    """Run the small right input first, then the left one with the rows of the scan filter
    at the end of ``path`` whose key is among the right's (an integer set test on the
    scan's batches, ``int_tests.Members``): the scan's columns are then copied, and joined
    on the way up, only for rows the join can match. TPC-H Q7's lineitem kept 1.83 M rows
    of its ship-date range, 8% of which have a supplier of the two nations; reading and
    testing them cost about 50 ms of CPU, and about 32 with the supplier keys tested too
    (148 K rows kept)."""
    small = ex.as_table(ex.run(node.right))
    keys = evaluate(small, ex.resolve(node.right_keys[pos]))
    keys = (keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys).drop_null()
    if not usable_keys(keys, path, key):
        # counted again without repeats (the keys of a primary key have none, and Arrow's
        # hashing of 147 K of them took 5-34 ms a run, so it is done only when needed)
        keys = pc.unique(keys)
        if not usable_keys(keys, path, key):
            return ex.run(node.left), Out(table=small)
    test = Call("is_in", (Col(key, node.left_keys[pos].type),),
                pc.SetLookupOptions(keys, skip_nulls=True), pa.bool_())
    # (as IN lists carry theirs; an array, repeats allowed: ``int_tests.Members``)
    test._values = keys.to_numpy()  # type: ignore[attr-defined]
    return ex.run(tested(ex, path, test)), Out(table=small)


def usable_keys(keys: pa.Array, path: list[Node], key: str) -> bool:
    """Whether the set test over ``keys`` (repeats counted) is worth putting on the filter
    at the end of ``path``, whose column ``key`` it tests."""
    end = path[-1]
    return len(keys) <= KEY_FILTER_KEYS and len(keys) * KEY_FILTER_RATIO <= estimate(end) \
        and cheap_keys(keys) and few_of(keys, end, key, on_batches(end))


def few_of(keys: pa.Array, node: Node, key: str, batched: bool) -> bool:
    """Whether ``keys`` are few of column ``key``'s distinct values in ``node`` (where the
    statistics tell): a set of more than ``KEY_FILTER_FEW`` keys is used only when it drops
    most rows, since its test runs on one thread where Acero's filter and join run on all.
    Against 3 M rows with 150 K distinct keys, medians of 11: 20% of the keys 41 -> 31 ms
    with the test, 35% and 40% about even, 50% 42 -> 51 ms; Q3's 147 K orders of 1.5 M
    92 -> 66 ms, and its 30 K customers of the 100 K with orders help it too. A filter that
    would stay in Acero without the keys (not ``batched``) is held to the share whatever
    their number: the test moves all of its work onto one thread."""
    if batched and len(keys) <= KEY_FILTER_FEW:
        return True
    distinct = col_ndv(node, (key,))
    return distinct is None or len(keys) <= KEY_FILTER_SHARE * distinct


def cheap_keys(keys: pa.Array) -> bool:
    """Whether a set test over ``keys`` costs little a row (``int_tests.cheap_members``):
    many keys spread wide, random 64-bit ids say, are left to the join's own hash table."""
    if not len(keys):
        return True
    bounds = pc.min_max(keys).as_py()
    return cheap_members(len(keys), int(bounds["min"]), int(bounds["max"]))


def tested(ex: Executor, path: list[Node], test: Expr) -> Node:
    """A copy of ``path``'s nodes (the plan may be run again) with ``test`` put on the
    filter at its end (into its condition when it is one filter over a scan, so that the
    filter is estimated, and run, as the selective one it now is); each copy stands in for
    its original (EXPLAIN ANALYZE)."""
    end = path[-1]
    if isinstance(end, Filter) and isinstance(end.input, Scan):
        below: Node = Filter(end.input, and_all([end.cond, test]))
        ex.stand_in(below, end)
    else:
        below = Filter(end, test)
    for upper, lower in zip(path[-2::-1], path[:0:-1], strict=True):
        c = copy.copy(upper)
        ex.stand_in(c, upper)
        if isinstance(c, Project):
            c.input = below
        elif c.left is lower:  # type: ignore[attr-defined]  # a Join
            c.left = below  # type: ignore[attr-defined]
        else:
            c.right = below  # type: ignore[attr-defined]
        below = c
    return below


def index_join(node: Join) -> tuple[str, int, str] | None:
    """(side to look up, key position, source column) when an index join applies."""
    if not node.left_keys:
        return None
    for side, big, other, keys in (("right", node.right, node.left, node.right_keys),
                                   ("left", node.left, node.right, node.left_keys)):
        if node.kind not in (RESTRICT_RIGHT if side == "right" else RESTRICT_LEFT):
            continue
        small = estimate(other)
        if small > INDEX_JOIN_KEYS:
            continue
        other_keys = node.left_keys if side == "right" else node.right_keys
        for pos, k in enumerate(keys):
            found = keyed_column(big, k)
            if found is None or other_keys[pos].type != k.type:
                continue
            scan, col = found
            if scan.est_rows >= INDEX_JOIN_RATIO * small:
                return side, pos, col
    return None


def keyed_column(node: Node, key: Expr) -> tuple[Scan, str] | None:
    """The table scan below ``node`` (through filters and renames) and the column ``key``
    reads, if a primary key or index answers lookups on it with the join's equality."""
    while isinstance(key, Col):
        if isinstance(node, Filter):
            node = node.input
        elif isinstance(node, Project):
            key = dict(node.exprs).get(key.id)  # type: ignore[assignment]
            node = node.input
        elif isinstance(node, Scan):
            source = {i: (c, t) for c, i, t in node.columns}
            if key.id not in source:
                return None
            col, t = source[key.id]
            raw = node.raw_types.get(col)
            if col in node.keyed and raw is not None and normalize(raw) == t:
                return node, col  # (the engine compares as the join does)
            return None
        else:
            return None
    return None


def restricted(node: Node, extra: P.Predicate) -> Node:
    """A copy of the path down to the Scan ``keyed_column`` found, whose engine predicate
    also has ``extra``."""
    if isinstance(node, (Filter, Project)):
        c = copy.copy(node)
        c.input = restricted(node.input, extra)
        return c
    assert isinstance(node, Scan)
    scan = copy.copy(node)
    scan.predicate = extra if node.predicate is None else P.And((node.predicate, extra))
    return scan
