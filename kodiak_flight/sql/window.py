"""Window functions, computed column-at-a-time over a sorted copy of the input.

Acero has no window operator, so the executor sorts by (partition, order) once per call,
derives partition and peer-group boundaries as boolean arrays, and computes ranks, offsets
and running or whole-partition aggregates with numpy cumulative operations before
scattering results back to the input order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from . import functions as F
from .errors import BindError, NotSupportedError
from .expr import Col, Expr, Lit, cast
from .plan import SortKey, Window, WindowCall

_RANKS = {"row_number", "rank", "dense_rank"}
_OFFSETS = {"lag", "lead"}
_AGGS = {"sum", "count", "count_star", "avg", "min", "max"}


def bind_window(binder: Any, node: exp.Window, scope: Any, agg: Any) -> Expr:
    from .binder import _FUNC_ALIASES, _func_args, new_id

    fn = node.this
    if isinstance(fn, exp.Anonymous):
        name = fn.name.lower()
    else:
        name = fn.sql_name().lower()
    name = F.canonical_agg(_FUNC_ALIASES.get(name, name))
    raw_args = _func_args(fn)
    if name == "count" and (not raw_args or isinstance(raw_args[0], exp.Star)):
        name, raw_args = "count_star", []
    if name not in _RANKS | _OFFSETS | _AGGS:
        raise NotSupportedError(f"window function {name}() is not supported")
    args = [binder.expr(a, scope, agg) for a in raw_args]
    part = [binder.expr(p, scope, agg) for p in node.args.get("partition_by") or []]
    order = []
    o = node.args.get("order")
    for item in (o.expressions if o is not None else []):
        order.append(SortKey(binder.expr(item.this, scope, agg), bool(item.args.get("desc")),
                             bool(item.args.get("nulls_first"))))
    spec = node.args.get("spec")
    if spec is not None:
        kind = (spec.args.get("kind") or "").lower()
        start = str(spec.args.get("start") or "").upper()
        end = str(spec.args.get("end") or "").upper()
        if start == "UNBOUNDED" and end == "CURRENT ROW":
            frame = "rows" if kind == "rows" else "range"
        elif start == "UNBOUNDED" and end == "UNBOUNDED":
            frame = "all"
        else:
            raise NotSupportedError(f"window frame {spec.sql()} is not supported")
    else:
        frame = "range" if order else "all"
    extra = None
    if name in _OFFSETS:
        if not args:
            raise BindError(f"{name}() needs an argument")
        n = args[1] if len(args) > 1 else Lit(1, pa.int64())
        if not isinstance(n, Lit):
            raise NotSupportedError(f"{name}() offset must be a constant")
        default = args[2] if len(args) > 2 else None
        if default is not None:
            default = cast(F.coerce_literal(default, args[0].type), args[0].type)
        extra = (int(n.value), default.value if isinstance(default, Lit) else None)
        args = args[:1]
        t = args[0].type
    elif name in _RANKS or name in ("count", "count_star"):
        t = pa.int64()
    elif name in ("min", "max"):
        if frame != "all":
            raise NotSupportedError(f"running {name}() over an ordered window is not "
                                    "supported")
        t = args[0].type
    else:
        if name == "avg" and pa.types.is_decimal(args[0].type):
            args = [cast(args[0], pa.float64())]
        t = F.agg_type(name, args[0].type)
    call = WindowCall(new_id(), name, args, t, part, order, extra, frame)
    binder._windows.append(call)
    return Col(call.id, t)


def _boundaries(sorted_cols: list[pa.Array], n: int) -> np.ndarray:
    """True where a row starts a new run of equal values (NULLs equal each other)."""
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
    for a in sorted_cols:
        if n < 2:
            break
        cur, prev = a.slice(1), a.slice(0, n - 1)
        ne = pc.fill_null(pc.not_equal(cur, prev), True)
        both_null = pc.and_(pc.is_null(cur), pc.is_null(prev))
        diff = pc.and_(ne, pc.invert(both_null)).to_numpy(zero_copy_only=False)
        starts[1:] |= diff
    return starts


def run_window(ex: Any, node: Window, t: pa.Table) -> pa.Table:
    from .executor import _eval

    n = t.num_rows
    out = t
    for c in node.calls:
        def ev(e: Expr) -> pa.Array:
            if isinstance(e, Col) and e.id in t.column_names:
                col = t.column(e.id)
            else:
                col = _eval(t, ex.compile(e))
            return col.combine_chunks() if col.num_chunks else pa.array([], col.type)

        parts = [ev(p) for p in c.partition]
        orders = [ev(k.expr) for k in c.order]
        keys, cols = [], {}
        for i, a in enumerate(parts):
            cols[f"p{i}"] = a
            keys.append((f"p{i}", "ascending"))
        for i, (a, k) in enumerate(zip(orders, c.order, strict=True)):
            nulls = pc.is_null(a)
            cols[f"n{i}"] = pc.invert(nulls) if k.nulls_first else nulls
            cols[f"o{i}"] = a
            keys += [(f"n{i}", "ascending"), (f"o{i}", "descending" if k.desc else "ascending")]
        if keys and n:
            perm = pc.sort_indices(pa.table(cols), sort_keys=keys).to_numpy()
        else:
            perm = np.arange(n)
        idx = pa.array(perm)
        sparts = [a.take(idx) for a in parts]
        sorders = [a.take(idx) for a in orders]
        pstart = _boundaries(sparts, n)
        peer = pstart | _boundaries(sorders, n) if sorders else pstart.copy()
        pos = np.arange(n)
        gid = np.cumsum(pstart) - 1
        gstart = pos[pstart]
        gfirst = gstart[gid] if n else pos
        res = _compute(c, pos, gid, gfirst, pstart, peer, [ev(a).take(idx) for a in c.args], n)
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = pos
        out = out.append_column(c.id, res.take(pa.array(inv)).cast(c.type))
    return out


def _compute(c: WindowCall, pos: np.ndarray, gid: np.ndarray, gfirst: np.ndarray,
             pstart: np.ndarray, peer: np.ndarray, args: list[pa.Array], n: int) -> pa.Array:
    if c.func == "row_number":
        return pa.array(pos - gfirst + 1, pa.int64())
    if c.func == "rank":
        peer_first = np.maximum.accumulate(np.where(peer, pos, 0)) if n else pos
        return pa.array(peer_first - gfirst + 1, pa.int64())
    if c.func == "dense_rank":
        cp = np.cumsum(peer)
        return pa.array(cp - cp[gfirst] + 1, pa.int64())
    if c.func in _OFFSETS:
        k, default = c.extra
        j = pos - k if c.func == "lag" else pos + k
        gend = _group_end(pstart, gid, n)
        ok = (j >= gfirst) & (j <= gend)
        vals = args[0].take(pa.array(np.clip(j, 0, max(n - 1, 0)))) if n else args[0]
        fill = pa.scalar(default, args[0].type)
        return pc.if_else(pa.array(ok), vals, fill)
    # aggregates
    if c.func == "count_star":
        v = np.ones(n)
        valid = np.ones(n, dtype=bool)
    else:
        a = args[0]
        valid = pc.is_valid(a).to_numpy(zero_copy_only=False)
        if c.func in ("min", "max"):
            g = pa.table({"g": pa.array(gid), "v": a}).group_by("g").aggregate(
                [("v", c.func)]).sort_by("g")
            return g.column(f"v_{c.func}").combine_chunks().take(pa.array(gid))
        v = np.where(valid, pc.fill_null(a.cast(pa.float64()) if not
                                         pa.types.is_integer(a.type) else a, 0)
                     .to_numpy(zero_copy_only=False), 0)
    cs = np.cumsum(v)
    cc = np.cumsum(valid)
    if c.frame == "all":
        end = _group_end(pstart, gid, n)
    elif c.frame == "rows":
        end = pos
    else:  # range: through the last peer of the current row
        end = _group_end(peer, np.cumsum(peer) - 1, n)
    before = gfirst - 1
    s = cs[end] - np.where(before >= 0, cs[np.maximum(before, 0)], 0)
    cnt = cc[end] - np.where(before >= 0, cc[np.maximum(before, 0)], 0)
    if c.func in ("count", "count_star"):
        return pa.array(cnt, pa.int64())
    if c.func == "avg":
        return pa.array(s / np.where(cnt == 0, 1, cnt), pa.float64(), mask=cnt == 0)
    if pa.types.is_integer(c.type):
        return pa.array(s.astype(np.int64), pa.int64(), mask=cnt == 0)
    return pa.array(s, pa.float64(), mask=cnt == 0)


def _group_end(starts: np.ndarray, gid: np.ndarray, n: int) -> np.ndarray:
    if not n:
        return gid
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, n - 1)
    return last[gid]
