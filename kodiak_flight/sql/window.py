"""Window functions, computed column-at-a-time over a sorted copy of the input.

Acero has no window operator, so the executor sorts by (partition, order) once per distinct
window, derives partition and peer-group boundaries as numpy arrays, turns every frame
(``ROWS``, ``RANGE``, ``GROUPS``, with ``UNBOUNDED``/``n PRECEDING``/``CURRENT ROW``/``n
FOLLOWING`` bounds) into two index arrays ``lo``/``hi`` over the sorted rows, and evaluates
each function over those intervals without looping over rows:

* ranks, ``ntile``, ``percent_rank``, ``cume_dist``, ``lag``/``lead`` from the boundaries;
* ``count``/``sum``/``avg``/``stddev``/``variance`` from prefix sums (exact in int64 for
  integers and decimals up to 18 digits; floats in narrow frames by segmented reduction);
* ``min``/``max``/``bool_and``/``bool_or`` on value ranks: segmented running accumulation for
  frames anchored at a partition edge, a sparse table (range-minimum query) otherwise;
* ``first_value``/``last_value``/``nth_value`` (optionally ``IGNORE NULLS``) by indexing;
* anything else (``string_agg``, ``list``, ``median``, quantiles, ``DISTINCT``...) by a hash
  aggregation keyed by partition for whole-partition frames, or over the frames' rows
  expanded into one list per row (bounded by ``_EXPAND_LIMIT`` elements).

Results are scattered back to the input order. Binding ``f(...) OVER (...)`` into a
``WindowCall`` is ``binder.windows``'s part.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import functions as F
from .errors import BindError, NotSupportedError
from .expr import Col, Expr, Lit, repeated
from .plan import AggCall, SortKey, Window, WindowCall

_EXPAND_LIMIT = 50_000_000  # elements, for frames of functions with no incremental form

# A frame is (mode, start, end); a bound is ("unbounded", None) | ("current", None) |
# ("offset", signed value) with preceding offsets negative.
Frame = tuple[str, tuple[str, Any], tuple[str, Any]]
WHOLE: Frame = ("rows", ("unbounded", -1), ("unbounded", 1))
RUNNING: Frame = ("range", ("unbounded", -1), ("current", None))


def _boundaries(sorted_cols: list[pa.Array], n: int) -> np.ndarray:
    """True where a row starts a new run of equal values (NULLs equal each other)."""
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
    for a in sorted_cols:
        if n < 2:
            break
        if pa.types.is_null(a.type):
            continue  # all NULL: one run
        cur, prev = a.slice(1), a.slice(0, n - 1)
        ne = pc.fill_null(pc.not_equal(cur, prev), True)
        both_null = pc.and_(pc.is_null(cur), pc.is_null(prev))
        diff = pc.and_(ne, pc.invert(both_null)).to_numpy(zero_copy_only=False)
        starts[1:] |= diff
    return starts


def _run_end(starts: np.ndarray, n: int) -> np.ndarray:
    """For each row, the index of the last row of its run (runs begin where starts)."""
    if not n:
        return np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, n - 1)
    return last[np.cumsum(starts) - 1]


class _Sorted:
    """One (partition, order) arrangement shared by every call with the same window: the
    permutation, where partitions and peer groups start, and (computed when a function or
    frame first asks) each row's partition and peer group bounds."""

    def __init__(self, perm: np.ndarray, pstart: np.ndarray, peer: np.ndarray,
                 orders: list[pa.Array], keys: list[SortKey]) -> None:
        self.n = len(perm)
        self.perm = perm
        self.idx = pa.array(perm, pa.int64())
        # rows already in the window's order (a table stored by its key): nothing to move
        self.identity = bool(self.n == 0 or (perm[0] == 0 and np.all(perm[1:] > perm[:-1])))
        self.pstart, self.peer = pstart, peer
        self.order_keys = keys
        self._orders = orders
        self._inv: np.ndarray | None = None

    @functools.cached_property
    def sorted_orders(self) -> list[pa.Array]:
        return [self.arranged(a) for a in self._orders]

    @functools.cached_property
    def pos(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64)

    @functools.cached_property
    def gid(self) -> np.ndarray:
        return np.cumsum(self.pstart) - 1

    @functools.cached_property
    def gfirst(self) -> np.ndarray:
        return np.flatnonzero(self.pstart)[self.gid] if self.n else self.pos

    @functools.cached_property
    def gend(self) -> np.ndarray:
        return _run_end(self.pstart, self.n)

    @functools.cached_property
    def peer_first(self) -> np.ndarray:
        return np.flatnonzero(self.peer)[np.cumsum(self.peer) - 1] if self.n else self.pos

    @functools.cached_property
    def peer_last(self) -> np.ndarray:
        return _run_end(self.peer, self.n)

    def arranged(self, a: pa.Array) -> pa.Array:
        """``a`` in the window's order."""
        return a if self.identity else a.take(self.idx)

    def restored(self, a: pa.Array) -> pa.Array:
        """``a``, in the window's order, back in the input's order."""
        return a if self.identity else a.take(self.inverse())

    def inverse(self) -> pa.Array:
        if self._inv is None:
            inv = np.empty(self.n, dtype=np.int64)
            inv[self.perm] = self.pos
            self._inv = inv
        return pa.array(self._inv, pa.int64())

    # frames --------------------------------------------------------------------------

    def bounds(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        mode, start, end = frame
        if mode == "rows":
            lo = self._rows_bound(start, True)
            hi = self._rows_bound(end, False)
        elif mode == "groups":
            lo = self._groups_bound(start, True)
            hi = self._groups_bound(end, False)
        else:
            lo = self._range_bound(start, True)
            hi = self._range_bound(end, False)
        return lo, hi

    def _rows_bound(self, b: tuple[str, Any], is_start: bool) -> np.ndarray:
        kind, v = b
        if kind == "unbounded":
            return self.gfirst if v < 0 else self.gend
        if kind == "current":
            return self.pos
        out = self.pos + int(v)
        # clamp into the partition, leaving empty frames empty (lo > hi)
        if is_start:
            return np.clip(out, self.gfirst, self.gend + 1)
        return np.clip(out, self.gfirst - 1, self.gend)

    def _groups_bound(self, b: tuple[str, Any], is_start: bool) -> np.ndarray:
        kind, v = b
        if kind == "unbounded":
            return self.gfirst if v < 0 else self.gend
        if kind == "current":
            return self.peer_first if is_start else self.peer_last
        pg = np.cumsum(self.peer) - 1
        firsts = np.flatnonzero(self.peer)
        lasts = np.append(firsts[1:] - 1, self.n - 1)
        g = pg + int(v)
        g0, g1 = pg[self.gfirst], pg[self.gend]
        below, above = g < g0, g > g1
        gc = np.clip(g, 0, len(firsts) - 1)
        row = firsts[gc] if is_start else lasts[gc]
        return np.where(below, self.gfirst - (0 if is_start else 1),
                        np.where(above, self.gend + (1 if is_start else 0), row))

    def _range_key(self) -> np.ndarray:
        a = self.sorted_orders[0]
        k = self.order_keys[0]
        t = a.type
        if pa.types.is_date(t):
            vals = a.cast(pa.int32()).cast(pa.float64())
        elif pa.types.is_timestamp(t):
            vals = a.cast(pa.int64()).cast(pa.float64())
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            vals = a.cast(pa.float64())
        else:
            raise NotSupportedError(f"RANGE offsets need a numeric or temporal ORDER BY, not "
                                    f"{t}")
        v = vals.to_numpy(zero_copy_only=False).astype(np.float64)
        nulls = pc.is_null(a).to_numpy(zero_copy_only=False)
        if k.desc:
            v = -v
        v[nulls] = -np.inf if k.nulls_first else np.inf
        return v

    def _range_offset(self, v: Any) -> float:
        t = self.sorted_orders[0].type
        if isinstance(v, tuple):
            neg = v[0] == "neg"
            _, days, nanos = v[1:] if neg else v
            if pa.types.is_date(t):
                off = days + nanos / 86_400e9
            elif pa.types.is_timestamp(t):
                per = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[t.unit]
                off = (days * 86_400e9 + nanos) / per
            else:
                raise BindError("an INTERVAL frame offset needs a date or timestamp ORDER BY")
            return -off if neg else off
        return float(v)

    def _range_bound(self, b: tuple[str, Any], is_start: bool) -> np.ndarray:
        kind, v = b
        if kind == "unbounded":
            return self.gfirst if v < 0 else self.gend
        if kind == "current":
            return self.peer_first if is_start else self.peer_last
        off = self._range_offset(v)
        key = self._range_key()  # negated for DESC, so PRECEDING is always "smaller"
        g = self.gid.astype(np.float64)
        hay = np.empty(len(key), dtype=np.complex128)
        hay.real, hay.imag = g, key
        target = hay.copy()
        finite = ~np.isinf(key)  # NULL keys (+-inf) keep their own peer group
        target.imag[finite] = key[finite] + off
        if is_start:
            return np.searchsorted(hay, target, side="left").astype(np.int64)
        return np.searchsorted(hay, target, side="right").astype(np.int64) - 1


def run_window(ex: Any, node: Window, t: pa.Table) -> pa.Table:
    from .executor import evaluate_compiled

    n = t.num_rows
    out = t
    cache: dict[str, pa.Array] = {}
    arrangements: dict[str, _Sorted] = {}

    def ev(e: Expr) -> pa.Array:
        key = repr(e)
        if key in cache:
            return cache[key]
        if isinstance(e, Col) and e.id in t.column_names:
            col = t.column(e.id)
        elif isinstance(e, Lit):
            col = pa.chunked_array([repeated(pa.scalar(e.value, e.type), n)])
        else:
            col = evaluate_compiled(t, ex.compile(e))
        arr = col.combine_chunks() if col.num_chunks else pa.array([], col.type)
        cache[key] = arr
        return arr

    if node.first_only and (firsts := first_of_each(ex, node.calls[0], t, ev)) is not None:
        return firsts
    for c in node.calls:
        ex.checkpoint()
        if _groups_whole(c) and (res := _grouped(c, [ev(p) for p in c.partition],
                                                  [ev(a) for a in c.args], n)) is not None:
            out = out.append_column(c.id, _to_type(res, c.type))
            continue
        wkey = repr(([repr(p) for p in c.partition],
                     [(repr(k.expr), k.desc, k.nulls_first) for k in c.order]))
        s = arrangements.get(wkey)
        if s is None:
            s = _arrange(ex, [ev(p) for p in c.partition], [ev(k.expr) for k in c.order],
                         c.order, n)
            arrangements[wkey] = s
        args = [s.arranged(ev(a)) for a in c.args]
        res = _compute(c, s, args)
        out = out.append_column(c.id, _to_type(s.restored(res), c.type))
    return out


def _groups_whole(c: WindowCall) -> bool:
    """A count, sum or average over whole partitions: each partition computed once by
    grouping (``_grouped``), no sort needed."""
    return (not c.order and bool(c.partition) and not c.distinct
            and c.func in ("count_star", "count", "sum", "avg")
            and (c.frame is None or c.frame in (WHOLE, RUNNING)))


def _grouped(c: WindowCall, parts: list[pa.Array], args: list[pa.Array], n: int
             ) -> pa.Array | None:
    """Window call ``c`` over whole partitions by hashing the partition keys into group
    ids and summing per group with ``np.bincount`` (exact: integer sums are only taken while
    every partial sum stays below 2**53); None when the keys or values do not allow it."""
    if not n:
        return None
    ids = _partition_ids(parts)
    if ids is None:
        return None
    if c.func == "count_star":
        return pa.array(np.bincount(ids)[ids], pa.int64())
    a = args[0]
    valid = pc.is_valid(a).to_numpy(zero_copy_only=False)
    cnt = np.bincount(ids, weights=valid)[ids].astype(np.int64)
    if c.func == "count":
        return pa.array(cnt, pa.int64())
    none = cnt == 0
    t = a.type
    if pa.types.is_floating(t) or c.func == "avg":
        v = pc.fill_null(a.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        total = np.bincount(ids, weights=v)[ids]
        out = total if c.func == "sum" else total / np.where(none, 1, cnt)
        return pa.array(out, pa.float64(), mask=none)
    if pa.types.is_decimal(t):
        unscaled = _decimal_unscaled(pc.fill_null(a, pa.scalar(0, t)) if a.null_count else a)
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        unscaled = pc.fill_null(a.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    else:
        return None
    if unscaled is None or not _sums_fit(unscaled, 2**53):  # (float64's exact integers)
        return None
    total = np.bincount(ids, weights=unscaled)[ids].astype(np.int64)
    if pa.types.is_decimal(t):
        return _decimal_from_unscaled(total, c.type, none)
    return pa.array(total, pa.int64(), mask=none)


def _partition_ids(parts: list[pa.Array]) -> np.ndarray | None:
    """A group id for each row, equal where the partition keys are (NULLs a group of their
    own): a dense integer key as it is, else Arrow's hashing (several keys packed into one
    integer first); None when several keys do not pack."""
    from .executor import radix

    key = parts[0]
    if len(parts) == 1 and not key.null_count:
        v = radix.int_values(key)
        if v is not None and len(v):
            lo = int(v.min())
            if int(v.max()) - lo < 4 * len(v):
                return (v - lo).astype(np.intp)
    if len(parts) > 1:
        found = radix.packed(parts, [False] * len(parts))
        if found is None:
            return None
        key = pa.array(found[0])
    enc = pc.dictionary_encode(key, null_encoding="encode")
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.intp)


def first_of_each(ex: Any, c: WindowCall, t: pa.Table, ev: Any) -> pa.Table | None:
    """``t``'s first row of each partition in ``c``'s order, with ``c``'s row number (1):
    each partition's least packed order key (``radix.packed``) and, among ties, its first
    row, which the stable sort numbers 1; None when the order keys do not pack."""
    from .executor import radix

    if t.num_rows < radix.MIN_ROWS:
        return None
    found = radix.packed(*_order_columns([ev(k.expr) for k in c.order], c.order))
    ids = _partition_ids([ev(p) for p in c.partition]) if found is not None else None
    if found is None or ids is None:
        return None
    okey = found[0]
    best = np.full(int(ids.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, ids, okey)
    ex.checkpoint()
    ties = np.flatnonzero(okey == best[ids])
    _, first = np.unique(ids[ties], return_index=True)
    rows = np.sort(ties[first])
    ones = pa.array(np.ones(len(rows), dtype=np.int64)).cast(c.type)
    return t.take(pa.array(rows)).append_column(c.id, ones)


def _arrange(ex: Any, parts: list[pa.Array], orders: list[pa.Array], keys: list[SortKey],
             n: int) -> _Sorted:
    """Rows sorted by partition, then order: partition and order keys packed into integers
    when they can be (``radix``), their boundaries then read off the sorted integers."""
    from .executor import radix
    from .executor.sort_limit import sort_indices

    cols, descs = _order_columns(orders, keys)
    if not parts and not cols or not n:
        return _Sorted(np.arange(n, dtype=np.int64), _firsts(np.zeros(n, np.int64)),
                       _firsts(np.zeros(n, np.int64)), orders, keys)
    packed = _packed_pair(parts, cols, descs, n)
    if packed is not None:
        (pkey, ptop), (okey, otop) = packed
        perm = radix.radix_order(pkey * (otop + 1) + okey, (ptop + 1) * (otop + 1) - 1,
                                 ex.checkpoint)
        pstart = _firsts(pkey[perm])
        return _Sorted(perm, pstart, pstart | _firsts(okey[perm]), orders, keys)
    table = {f"p{i}": a for i, a in enumerate(parts)} | {f"o{i}": a for i, a in enumerate(cols)}
    sort_keys = [(f"p{i}", "ascending") for i in range(len(parts))] + \
        [(f"o{i}", "descending" if d else "ascending") for i, d in enumerate(descs)]
    perm = sort_indices(ex, pa.table(table), sort_keys).to_numpy().astype(np.int64)
    idx = pa.array(perm, pa.int64())
    pstart = _boundaries([a.take(idx) for a in parts], n)
    peer = pstart | _boundaries([a.take(idx) for a in orders], n) if orders else pstart.copy()
    return _Sorted(perm, pstart, peer, orders, keys)


def _order_columns(orders: list[pa.Array], keys: list[SortKey]
                   ) -> tuple[list[pa.Array], list[bool]]:
    """The columns to sort by for ORDER BY ``keys`` (each order column, after a NULL
    indicator where it has NULLs) and whether each is descending."""
    cols, descs = [], []
    for a, k in zip(orders, keys, strict=True):
        if a.null_count:  # NULLs first or last, whichever way the values go
            nulls = pc.is_null(a)
            cols.append(pc.invert(nulls) if k.nulls_first else nulls)
            descs.append(False)
        cols.append(a)
        descs.append(k.desc)
    return cols, descs


def _packed_pair(parts: list[pa.Array], cols: list[pa.Array], descs: list[bool], n: int
                 ) -> tuple[tuple[np.ndarray, int], tuple[np.ndarray, int]] | None:
    """The partition keys and the order keys each packed into one integer per row, when
    both pack and fit in one int64 together; None otherwise."""
    from .executor import radix

    if n < radix.MIN_ROWS:
        return None
    none = (np.zeros(n, np.int64), 0)
    p = radix.packed(parts, [False] * len(parts)) if parts else none
    o = radix.packed(cols, descs) if cols else none
    if p is None or o is None or (p[1] + 1) * (o[1] + 1) - 1 > radix.MAX_KEY:
        return None
    return p, o


def _firsts(sorted_key: np.ndarray) -> np.ndarray:
    """True where a sorted key differs from the one before (and at the first row)."""
    out = np.empty(len(sorted_key), dtype=bool)
    if len(out):
        out[0] = True
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=out[1:])
    return out


def _to_type(a: pa.Array, t: pa.DataType) -> pa.Array:
    return a if a.type == t else a.cast(t)


def _compute(c: WindowCall, s: _Sorted, args: list[pa.Array]) -> pa.Array:
    """Window call ``c`` over arrangement ``s``, by the function's ``window`` method in the
    registry."""
    method = F.require(c.func).window
    if method == "rank":
        return _rank(c, s)
    if method == "offset":
        return _offset(c, s, args)
    lo, hi = s.bounds(c.frame)
    empty = hi < lo
    if method == "value":
        return _value_at(c, args[0], lo, hi, empty, s.n)
    if c.distinct:
        return _generic(c, s, args, lo, hi)
    if method == "prefix":
        whole = (s.gid, s.pstart) if lo is s.gfirst and hi is s.gend else None
        return _prefix_agg(c, args, lo, hi, empty, s.n, whole)
    if method == "extreme":
        return _extreme(c, s, args[0], lo, hi, empty)
    return _generic(c, s, args, lo, hi)


def _rank(c: WindowCall, s: _Sorted) -> pa.Array:
    """row_number, rank, dense_rank, percent_rank, cume_dist, ntile: from the boundaries."""
    n = s.n
    f = c.func
    if f == "row_number":
        return pa.array(s.pos - s.gfirst + 1, pa.int64())
    if f == "rank":
        return pa.array(s.peer_first - s.gfirst + 1, pa.int64())
    if f == "dense_rank":
        cp = np.cumsum(s.peer)
        return pa.array(cp - cp[s.gfirst] + 1 if n else cp, pa.int64())
    size = s.gend - s.gfirst + 1
    if f == "percent_rank":
        rank = s.peer_first - s.gfirst
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(size > 1, rank / np.maximum(size - 1, 1), 0.0)
        return pa.array(v, pa.float64())
    if f == "cume_dist":
        return pa.array((s.peer_last - s.gfirst + 1) / np.maximum(size, 1), pa.float64())
    if f == "ntile":
        k = int(c.extra)
        row = s.pos - s.gfirst
        small = size // k
        large = size - k * small
        i_small = large * (small + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = 1 + row // (small + 1)
            b = 1 + large + (row - i_small) // np.maximum(small, 1)
        return pa.array(np.where(row < i_small, a, b), pa.int64())
    raise NotSupportedError(f"window function {f}() is not implemented")  # pragma: no cover


def _offset(c: WindowCall, s: _Sorted, args: list[pa.Array]) -> pa.Array:
    """lag / lead: the value ``extra`` rows before / after, in the partition."""
    n = s.n
    k = int(c.extra)
    if c.ignore_nulls and k and args[0].null_count:
        j, ok = _offset_valid(args[0], s, k if c.func == "lead" else -k)
    else:
        j = s.pos - k if c.func == "lag" else s.pos + k
        ok = (j >= s.gfirst) & (j <= s.gend)
    vals = args[0].take(pa.array(np.clip(j, 0, max(n - 1, 0)))) if n else args[0]
    fill = args[1] if len(args) > 1 else pa.nulls(n, args[0].type)
    return pc.if_else(pa.array(ok), vals, fill)


def _offset_valid(a: pa.Array, s: _Sorted, k: int) -> tuple[np.ndarray, np.ndarray]:
    """lead (k > 0) / lag (k < 0) IGNORE NULLS: the position of the |k|-th non-NULL value
    after / before each row, and whether it is in the row's partition."""
    valid = pc.is_valid(a).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(valid)  # the non-NULL rows' positions, in order
    before = np.concatenate([[0], np.cumsum(valid)])[s.pos]  # non-NULL rows before each
    rank = before + k - 1 + valid[s.pos] if k > 0 else before + k
    inside = (rank >= 0) & (rank < len(at))
    j = at[np.clip(rank, 0, max(len(at) - 1, 0))] if len(at) else np.zeros_like(s.pos)
    ok = inside & (j >= s.gfirst) & (j <= s.gend)
    return j, ok


def _value_at(c: WindowCall, a: pa.Array, lo: np.ndarray, hi: np.ndarray, empty: np.ndarray,
              n: int) -> pa.Array:
    f = c.func
    ignore = c.ignore_nulls or f == "any_value"
    if ignore and a.null_count:
        valid = pc.is_valid(a).to_numpy(zero_copy_only=False)
        idx = np.arange(n, dtype=np.int64)
        nxt = np.minimum.accumulate(np.where(valid, idx, n)[::-1])[::-1]
        prv = np.maximum.accumulate(np.where(valid, idx, -1))
        if f in ("first_value", "any_value"):
            at = nxt[np.clip(lo, 0, max(n - 1, 0))] if n else lo
            ok = ~empty & (at <= hi) & (lo < n)
        elif f == "last_value":
            at = prv[np.clip(hi, 0, max(n - 1, 0))] if n else hi
            ok = ~empty & (at >= lo) & (hi >= 0)
        else:  # nth valid value: count valid rows
            cv = np.concatenate([[0], np.cumsum(valid)])
            want = cv[np.clip(lo, 0, n)] + int(c.extra)  # 1-based count target
            # index of the want-th valid row overall
            valid_idx = np.flatnonzero(valid)
            kk = np.clip(want - 1, 0, max(len(valid_idx) - 1, 0))
            at = valid_idx[kk] if len(valid_idx) else np.zeros(n, dtype=np.int64)
            ok = ~empty & (want - 1 < len(valid_idx)) & (at <= hi)
    else:
        if f == "first_value":
            at = lo
        elif f == "last_value":
            at = hi
        else:
            at = lo + int(c.extra) - 1
        ok = ~empty & (at <= hi)
    if not n:
        return a
    vals = a.take(pa.array(np.clip(at, 0, n - 1), pa.int64()))
    return pc.if_else(pa.array(ok), vals, pa.nulls(n, a.type))


def _window_sums(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: np.ndarray,
                 whole: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The sum of ``v`` over each row's frame: differences of prefix sums, or for frames
    that are whole partitions (``whole``: each row's partition and where partitions start)
    each partition's own sum."""
    if whole is not None and len(v):
        gid, pstart = whole
        return np.add.reduceat(v, np.flatnonzero(pstart))[gid]
    cs = np.empty(len(v) + 1, dtype=v.dtype)
    cs[0] = 0
    np.cumsum(v, out=cs[1:])
    out = cs.take(hi + 1, mode="clip") - cs.take(lo, mode="clip")  # (clipped into 0..n)
    if empty.any():
        out[empty] = 0
    return out


def _sums_fit(v: np.ndarray, limit: float = 9e18) -> bool:
    """Every sum of ``v``'s values stays below ``limit`` in magnitude (int64's range by
    default): by the largest magnitude times the count (two reductions), else by the sum of
    magnitudes."""
    if not len(v):
        return True
    if max(abs(int(v.min())), abs(int(v.max()))) * len(v) < limit:
        return True
    return float(np.abs(v.astype(np.float64)).sum()) < limit


def _decimal_unscaled(a: pa.Array) -> np.ndarray | None:
    """int64 unscaled values of a decimal128 array whose precision fits in 18 digits."""
    if a.type.precision > 18 or not pa.types.is_decimal128(a.type):
        return None
    buf = a.buffers()[1]
    words = np.frombuffer(buf, dtype=np.int64)[2 * a.offset: 2 * (a.offset + len(a))]
    return words[0::2].copy()


def _decimal_from_unscaled(v: np.ndarray, t: pa.DataType, mask: np.ndarray) -> pa.Array:
    words = np.empty(2 * len(v), dtype=np.int64)
    words[0::2] = v
    words[1::2] = np.where(v < 0, -1, 0)
    validity = pa.array(~mask).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(pa.decimal128(38, t.scale), len(v),
                                 [validity, pa.py_buffer(words.tobytes())]).cast(t)


def _narrow_float_sums(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: np.ndarray
                       ) -> np.ndarray | None:
    """Exact-as-possible float frame sums by segmented reduction, for narrow frames."""
    width = np.where(empty, 0, hi - lo + 1)
    total = int(width.sum())
    if total > 8 * max(len(v), 1) or total > _EXPAND_LIMIT or total == 0:
        return None
    elems = _expand(lo, width)
    starts = np.concatenate([[0], np.cumsum(width)[:-1]])
    vals = v[elems]
    safe = np.minimum(starts, max(total - 1, 0))
    out = np.add.reduceat(vals, safe) if total else np.zeros(len(v))
    return np.where(width > 0, out, 0.0)


def _prefix_agg(c: WindowCall, args: list[pa.Array], lo: np.ndarray, hi: np.ndarray,
                empty: np.ndarray, n: int,
                whole: tuple[np.ndarray, np.ndarray] | None = None) -> pa.Array:
    f = c.func
    sums = functools.partial(_window_sums, lo=lo, hi=hi, empty=empty, whole=whole)
    if f == "count_star":
        return pa.array(np.where(empty, 0, hi - lo + 1), pa.int64())
    a = args[0]
    valid = pc.is_valid(a).to_numpy(zero_copy_only=False) if a.null_count else None
    cnt = sums(valid.astype(np.int64)) if valid is not None else np.where(empty, 0, hi - lo + 1)
    if f == "count":
        return pa.array(cnt, pa.int64())
    none = cnt == 0
    t = a.type
    if f == "sum" and (pa.types.is_integer(t) or pa.types.is_boolean(t)):
        # UBIGINT sums in uint64 (as the grouped sum does), every other integer in int64
        wide = pa.uint64() if pa.types.is_uint64(t) else pa.int64()
        v = pc.fill_null(a.cast(wide), 0).to_numpy(zero_copy_only=False)
        from .executor import sum_check

        exact = sums(v)
        if sum_check.wide(t) and sum_check.wrapped(exact, sums(v.astype(np.float64))):
            raise sum_check.overflow(c.type)  # (numpy's sums wrap as Arrow's do)
        return pa.array(exact, wide, mask=none).cast(c.type)
    if f == "sum" and pa.types.is_decimal(t):
        un = _decimal_unscaled(pc.fill_null(a, pa.scalar(0, t)) if a.null_count else a)
        if un is not None and _sums_fit(un):
            return _decimal_from_unscaled(sums(un), c.type, none)
    v = pc.fill_null(a.cast(pa.float64(), safe=not pa.types.is_integer(t)), 0.0) \
        .to_numpy(zero_copy_only=False)  # (integers past 2**53 round, as in any average)
    if f in ("sum", "avg"):
        s = _narrow_float_sums(v, lo, hi, empty) \
            if pa.types.is_floating(t) and whole is None else None
        if s is None:
            s = sums(v)
        if f == "sum":
            res = pa.array(s, pa.float64(), mask=none)
            return res.cast(c.type) if pa.types.is_decimal(c.type) else res
        return pa.array(s / np.where(none, 1, cnt), pa.float64(), mask=none)
    # variance family: shifted prefix sums of x and x^2
    if valid is None:
        valid = np.ones(len(v), dtype=bool)
    shift = float(np.mean(v[valid])) if valid.any() else 0.0
    x = np.where(valid, v - shift, 0.0)
    s1 = sums(x)
    s2 = sums(x * x)
    ddof = 1 if f.endswith("samp") else 0
    denom = cnt - ddof
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / np.where(cnt == 0, 1, cnt)) / np.where(denom <= 0, 1, denom)
    # a frame's sums are differences of prefix sums over the whole input, whose rounding
    # (up to eps times those sums) would show as a variance where every value is equal
    noise = 16 * np.finfo(np.float64).eps * float(np.sum(x * x)) / np.maximum(denom, 1)
    var = np.where(var <= noise, 0.0, var)
    out = np.sqrt(var) if f.startswith("stddev") else var
    return pa.array(out, pa.float64(), mask=denom <= 0)


def _ranks(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each row's value, row holding each rank); NULLs rank last."""
    order = pc.sort_indices(pa.table({"v": a}), sort_keys=[("v", "ascending", "at_end")]
                            ).to_numpy()
    rank = np.empty(len(a), dtype=np.int64)
    rank[order] = np.arange(len(a), dtype=np.int64)
    return rank, order


def _extreme(c: WindowCall, s: _Sorted, a: pa.Array, lo: np.ndarray, hi: np.ndarray,
             empty: np.ndarray) -> pa.Array:
    n = s.n
    if not n:
        return a
    use_max = c.func in ("max", "bool_or")
    rank, order = _ranks(a)
    valid = pc.is_valid(a).to_numpy(zero_copy_only=False)
    # Maximise a score: the max's own rank, or (for min) the reversed rank; NULLs score -1.
    score = np.where(valid, rank if use_max else n - 1 - rank, -1).astype(np.int64)
    whole = bool(np.all(lo == s.gfirst) and np.all(hi == s.gend))
    anchored_lo = bool(np.all((lo == s.gfirst) | empty))
    anchored_hi = bool(np.all((hi == s.gend) | empty))
    if whole or anchored_lo:
        shift = s.gid * (n + 1)
        acc = np.maximum.accumulate(score + 1 + shift) - shift - 1
        best = acc[np.clip(hi, 0, n - 1)]
    elif anchored_hi:
        shift = (s.gid.max() - s.gid) * (n + 1)
        acc = np.maximum.accumulate((score + 1 + shift)[::-1])[::-1] - shift - 1
        best = acc[np.clip(lo, 0, n - 1)]
    else:
        best = _sparse_max(score, lo, hi, empty)
    ok = ~empty & (best >= 0)
    rk = np.where(ok, best if use_max else n - 1 - best, 0)
    vals = a.take(pa.array(order[np.clip(rk, 0, n - 1)], pa.int64()))
    return pc.if_else(pa.array(ok), vals, pa.nulls(n, a.type))


def _sparse_max(score: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: np.ndarray
                ) -> np.ndarray:
    """Range-maximum over [lo, hi] for every row with a sparse table (log levels)."""
    n = len(score)
    width = np.where(empty, 1, hi - lo + 1)
    lo_c = np.where(empty, 0, lo)
    maxw = int(width.max()) if n else 1
    levels = [score]
    k = 1
    while (1 << k) <= maxw:
        prev = levels[-1]
        half = 1 << (k - 1)
        levels.append(np.maximum(prev[:-half], prev[half:]) if len(prev) > half else prev[:0])
        k += 1
    lvl = np.floor(np.log2(width)).astype(np.int64)
    out = np.full(n, -1, dtype=np.int64)
    for j in np.unique(lvl):
        sel = lvl == j
        table = levels[j]
        a = lo_c[sel]
        b = lo_c[sel] + width[sel] - (1 << j)
        out[sel] = np.maximum(table[a], table[b])
    return np.where(empty, -1, out)


def _expand(lo: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Concatenated ranges lo[i] .. lo[i] + width[i] - 1."""
    total = int(width.sum())
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(width)[:-1]]), width)
    return starts + np.arange(total, dtype=np.int64)


def _generic(c: WindowCall, s: _Sorted, args: list[pa.Array], lo: np.ndarray,
             hi: np.ndarray) -> pa.Array:
    """Any aggregate via hash aggregation over partitions or expanded frames."""
    from .executor import agg_spec, finalize

    n = s.n
    a = args[0] if args else pa.nulls(n, pa.int32())
    func = c.func
    distinct = c.distinct
    agg = AggCall("__r", func, "__v", c.type, distinct, c.extra)
    if func in ("sum", "avg"):
        agg.type = F.result_type(F.require(func), [a.type])
    empty = hi < lo
    whole = bool(np.all(lo == s.gfirst) and np.all(hi == s.gend))
    if whole:
        keys, vals, take = pa.array(s.gid, pa.int64()), a, s.gid
    else:
        width = np.where(empty, 0, hi - lo + 1)
        total = int(width.sum())
        if total > _EXPAND_LIMIT:
            raise NotSupportedError(f"{c.func}() over this window frame would expand to "
                                    f"{total} values (limit {_EXPAND_LIMIT})")
        keys = pa.array(np.repeat(np.arange(n, dtype=np.int64), width), pa.int64())
        vals = a.take(pa.array(_expand(lo, width), pa.int64())) if total else a.slice(0, 0)
        take = np.arange(n, dtype=np.int64)
    if func == "avg" and pa.types.is_decimal(vals.type):
        vals = vals.cast(pa.float64())
    table = pa.table({"__k": keys, "__v": vals})
    if distinct:
        table = table.group_by(["__k", "__v"], use_threads=False).aggregate([])
        agg.distinct = False
    target, fn, opts, _ = agg_spec(agg)
    grouped = table.group_by("__k", use_threads=False).aggregate(
        [(target, fn.removeprefix("hash_"), opts)])
    res_col = grouped.column([c for c in grouped.column_names if c != "__k"][0])
    key_col = grouped.column("__k").to_numpy()
    res = finalize(agg, res_col)
    # scatter group results back to rows (groups absent from keys -> empty frame -> NULL)
    if not n:
        return pa.array([], c.type)
    slot = np.full(int(take.max()) + 1, -1, dtype=np.int64)
    slot[key_col] = np.arange(len(key_col), dtype=np.int64)
    where = slot[take]
    got = res.take(pa.array(np.maximum(where, 0), pa.int64())) if len(res) else \
        pa.nulls(n, res.type)
    missing = where < 0
    if missing.any():
        empty_value = F.aggregate_spec(c.func).empty
        got = pc.if_else(pa.array(missing), pa.scalar(empty_value, got.type), got)
    return got


__all__ = ["RUNNING", "WHOLE", "Frame", "run_window"]
