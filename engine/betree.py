"""Persistent (copy-on-write) B^epsilon tree: Kodiak's in-memory buffer for small writes.

Single-row inserts, updates, deletes and upserts land here, keyed by primary key (or row id),
until the buffer is checkpointed to a file. A B^epsilon ("fractal") tree is used because a
write touches only the root: it appends a *message* to the root's buffer, and messages move
down the tree in batches, so the cost of reaching a leaf is shared by many writes.

Message semantics
-----------------
Messages for a key apply oldest first; the newest message wins.

* ``PUT(value)``: the key now maps to ``value``.
* ``DELETE``: the key is now absent. Blind: deleting an absent key is not an error. When a
  tombstone reaches a leaf it removes the key (if present) and disappears.
* ``PATCH(changes)``: ``changes`` maps tuple positions to new values. If the key is present
  and its value is a ``tuple``, a new tuple with those positions replaced becomes the value;
  if the key is absent, nothing happens. A patch is applied lazily, possibly long after
  ``patch()`` returned, so it must never fail: positions outside the tuple are ignored and a
  value that is not exactly a ``tuple`` is left unchanged. Positions must be non-negative ints
  (checked eagerly by ``patch()``). The ``changes`` dict is copied, so callers may reuse it.

A buffer holds at most one message per key; a newer message for the same key is combined
with the older one at once: PUT then PATCH is the PUT of the patched value, PATCH then PATCH
is one PATCH (later positions win), DELETE then PATCH is DELETE, and anything followed by a
PUT or DELETE is that later message. Messages in a node's buffer are always newer than any
message or entry further down the same path, which is what makes "first message found on
the way down wins" correct for reads.

Layout
------
An internal node has ``pivots`` (sorted, ``len(children) - 1`` of them), ``children`` and
one small dict buffer *per child* (``bufs[i]`` holds the messages destined for
``children[i]``), so a write copies only one per-child dict (about B/F entries) plus a
list of F references, and a read does one bisect and one dict lookup per level. Child ``i``
covers ``pivots[i-1] <= key < pivots[i]``. Leaves hold parallel sorted ``keys``/``vals``
lists. PUT values are stored as-is, DELETE is a private sentinel and PATCH is a private dict
subclass (the copy of ``changes``), so PUT and DELETE allocate no message object.

Flush policy
------------
When a node's buffer holds more than ``buffer_capacity`` messages, the whole batch destined
for the child with the most pending messages moves one level down in one step (the child
is path-copied once, the batch is merged into its buffers or, for a leaf, into its sorted
lists). This repeats until the node is back within capacity; a child pushed over capacity
flushes in turn. The heaviest child receives at least ``B/F`` messages per flush, which is
what amortizes the cost. Leaves that grow past ``leaf_capacity`` split into evenly filled
pieces; internal nodes with more than ``fanout`` children split likewise and the root grows
a level. A child left under a quarter full by a flush is merged with a neighbour when the
result fits, and a root with a single child is flushed into it and dropped, so deletes do
not leave long chains of empty nodes (there is no other rebalancing). Messages below the
root move only when their node overflows, so tombstones and superseded entries can sit in
the tree indefinitely; ``message_count`` counts them, which is what the checkpoint trigger
wants (memory held), not the number of live keys.

Costs (N entries, F fanout, B buffer capacity, L leaf capacity, h = log_F(N/L) height)
----------------------------------------------------------------------------------------
* ``put``/``delete``/``patch``: O(log F + F + b) to copy the root, where b <= B is the size
  of the target child's buffer (about B/F for spread-out keys); while the root is still a
  single leaf (under L entries) it is O(L). Amortized flushing adds
  O(h * (F/B) * (F + B + L)) element copies per message, mostly done in C (list/dict
  copies, slices). One call can cascade flushes down several levels; its worst case is
  bounded by the number of messages buffered below the root, not by h.
* ``put_many``/``delete_many`` of k items: O(k log k) to sort and distribute, then flushing.
* ``get``/``in``: O(h log F) plus applying any pending patches for the key.
* ``items(lo, hi)``: O(n + M log M + h log F) for n leaf entries and M buffered messages in
  range, i.e. one pass over leaves plus a sort of the (few) pending messages -- not a
  ``get`` per key.
* ``message_count``: O(1) (kept per node). ``len()``: O(N + M log M), it resolves everything.
* ``check()``: O(N + M).

Why persistent
--------------
Every mutation returns a new ``BeTree`` that shares all untouched nodes with the old one
(path copying); published nodes are never modified. A snapshot is therefore just a
reference to a ``BeTree``: queries and the checkpointer read a consistent version with no
locks while the writer keeps producing new versions, and an operation that raises leaves
the tree it was called on intact. Old versions are freed by the garbage collector when no
reader holds them. Nodes created during one operation are mutated in place until the
operation returns, which keeps the copying to one copy per touched node.

Keys must be hashable and totally ordered among themselves (ints, strs, tuples of
those...; never ``None``, which ``items()`` uses for "unbounded" and writes reject);
keys that compare equal (``1``, ``1.0``, ``True``) are the same key, and NaN is
not a valid key. A key that is not comparable with the others is usually rejected at once
by a bisect against a pivot or leaf key, but a pathological one (e.g. a tuple that compares
with the pivots but not with another buffered key) can make a later flush raise -- and then
every write that triggers that flush, though older versions stay readable. Do not mix key
types.

Mutators are pure functions of the tree they are called on, so two writers working from the
same version produce two diverging versions; whoever publishes "the current tree" must
serialize writers (in Kodiak, the database writer lock does).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import islice, pairwise
from operator import lt
from typing import Any

__all__ = ["BeTree"]


class _Tombstone:
    """DELETE message; a singleton so that a check is one identity test."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DELETE"


_DEL = _Tombstone()
_MISS = object()  # "no message / no entry", distinct from any user value


class _Patch(dict):
    """PATCH message; a private type so a PUT value can never be mistaken for a patch."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"PATCH({dict.__repr__(self)})"


def _apply_patch(value: Any, patch: dict) -> Any:
    """Never raises: a patch is applied at flush time, long after the caller has returned."""
    if type(value) is not tuple:
        return value
    lst = list(value)
    n = len(lst)
    for pos, new in patch.items():
        if pos < n:
            lst[pos] = new
    return tuple(lst)


def _combine(old: Any, new: Any) -> Any:
    """Combines an older and a newer message for the same key into one equivalent message."""
    if type(new) is not _Patch or old is _MISS:
        return new
    if old is _DEL:
        return _DEL
    if type(old) is _Patch:
        merged = _Patch(old)
        merged.update(new)
        return merged
    return _apply_patch(old, new)


class _Leaf:
    """Sorted parallel key/value lists; ``size`` mirrors the internal-node counter."""

    __slots__ = ("keys", "vals", "size")

    def __init__(self, keys: list, vals: list) -> None:
        self.keys = keys
        self.vals = vals
        self.size = len(keys)


class _Internal:
    """Pivots, children and per-child message buffers.

    ``nbuf`` (messages in this node) and ``size`` (messages plus leaf entries in the whole
    subtree) are kept up to date so overflow tests and ``message_count`` are O(1).
    """

    __slots__ = ("pivots", "children", "bufs", "nbuf", "size")

    def __init__(self, pivots: list, children: list, bufs: list, nbuf: int, size: int) -> None:
        self.pivots = pivots
        self.children = children
        self.bufs = bufs
        self.nbuf = nbuf
        self.size = size


def _split_evenly(n: int, cap: int) -> list[int]:
    """Boundaries of ceil(n / cap) nearly equal pieces, so no piece is left tiny."""
    k = -(-n // cap)
    return [n * j // k for j in range(k + 1)]


class BeTree:
    """An immutable B^epsilon tree; every mutator returns a new tree sharing unchanged nodes."""

    __slots__ = ("_root", "_fanout", "_bcap", "_lcap")

    def __init__(self, root: _Leaf | _Internal, fanout: int, bcap: int, lcap: int) -> None:
        # Private: use BeTree.empty(). Trees are only ever built from already-valid roots.
        self._root = root
        self._fanout = fanout
        self._bcap = bcap
        self._lcap = lcap

    @classmethod
    def empty(
        cls, fanout: int = 16, buffer_capacity: int = 256, leaf_capacity: int = 256
    ) -> BeTree:
        """Capacities are fixed per tree so every version agrees on when to flush and split."""
        if fanout < 2 or buffer_capacity < 1 or leaf_capacity < 1:
            raise ValueError("need fanout >= 2, buffer_capacity >= 1, leaf_capacity >= 1")
        return cls(_Leaf([], []), fanout, buffer_capacity, leaf_capacity)

    def _derive(self, root: _Leaf | _Internal) -> BeTree:
        return BeTree(root, self._fanout, self._bcap, self._lcap)

    # ------------------------------------------------------------------ writes

    def put(self, key: Any, value: Any) -> BeTree:
        """Upsert; lands in the root buffer so it costs a root copy, not a leaf search."""
        return self._write(key, value)

    def delete(self, key: Any) -> BeTree:
        """Blind delete: writes a tombstone without checking that the key exists."""
        return self._write(key, _DEL)

    def patch(self, key: Any, changes: dict[int, Any]) -> BeTree:
        """Partial update without a read; positions are validated now since apply can't fail."""
        p = _Patch(changes)
        for pos in p:
            if type(pos) is not int or pos < 0:
                raise ValueError(f"patch positions must be non-negative ints, got {pos!r}")
        return self._write(key, p)

    def put_many(self, items: Sequence[tuple]) -> BeTree:
        """Batch upsert: the root is copied once and the batch distributed in one pass."""
        batch = dict(items)
        if not batch:
            return self
        return self._write_batch(batch)

    def delete_many(self, keys: Sequence) -> BeTree:
        """Batch blind delete, with the same single root copy as put_many."""
        batch = dict.fromkeys(keys, _DEL)
        if not batch:
            return self
        return self._write_batch(batch)

    def append_run(self, keys: list, values: list) -> BeTree | None:
        """Put strictly ascending ``keys`` that all lie past every key the tree holds or has
        a message for, straight into the rightmost leaf and new leaves after it: no buffer
        to pass through, since no message can concern them (the sequential-key insert runs
        an insert tail folds). None when the run does not qualify; use ``put_many``.

        The old rightmost leaf is filled first and every new pivot is a new key, so each
        buffered message on the right spine still routes to the node holding its key."""
        if not keys:
            return self
        if len(keys) != len(values):
            raise ValueError(f"append_run got {len(keys)} keys but {len(values)} values")
        path = []
        node = self._root
        try:
            while type(node) is _Internal:
                if node.pivots and not keys[0] > node.pivots[-1]:
                    return None
                last = node.bufs[-1]
                if last and not keys[0] > max(last):
                    return None
                path.append(node)
                node = node.children[-1]
            if (node.keys and not keys[0] > node.keys[-1]) or not all(
                    map(lt, keys, islice(keys, 1, None))):
                return None
        except TypeError:  # keys that do not compare: not a run
            return None
        cap = self._lcap
        room = cap - len(node.keys)
        nodes = [_Leaf(node.keys + keys[:room], node.vals + values[:room])]
        seps = []
        for a in range(room, len(keys), cap):
            seps.append(keys[a])
            nodes.append(_Leaf(keys[a:a + cap], values[a:a + cap]))
        fanout = self._fanout
        for parent in reversed(path):
            # Same rule a level up: the old children (and with them every buffer) stay in
            # the first node, filled to the fanout; only new nodes spill into new parents.
            children = parent.children[:-1] + nodes
            pivots = parent.pivots + seps
            bufs = parent.bufs + [{} for _ in nodes[1:]]
            nodes, seps = [], []
            for a in range(0, len(children), fanout):
                if a:
                    seps.append(pivots[a - 1])
                part = children[a:a + fanout]
                nbuf = parent.nbuf if not a else 0
                nodes.append(_Internal(pivots[a:a + fanout - 1], part, bufs[a:a + fanout],
                                       nbuf, nbuf + sum(c.size for c in part)))
        return self._finish_root(nodes, seps)

    def _write(self, key: Any, msg: Any) -> BeTree:
        if key is None:
            raise ValueError("None is not a valid key (it means 'unbounded' in items())")
        root = self._root
        if type(root) is _Leaf:
            # A leaf root has no buffer: apply directly (the tree is tiny anyway).
            return self._write_sorted([key], [msg])
        i = bisect_right(root.pivots, key)
        bufs = root.bufs
        buf = bufs[i].copy()
        before = len(buf)
        if type(msg) is _Patch:
            buf[key] = _combine(buf.get(key, _MISS), msg)
        else:
            buf[key] = msg
        added = len(buf) - before
        new_bufs = bufs.copy()
        new_bufs[i] = buf
        nbuf = root.nbuf + added
        if nbuf <= self._bcap:
            # Fast path: pivots and children lists are shared with the old version.
            return self._derive(
                _Internal(root.pivots, root.children, new_bufs, nbuf, root.size + added)
            )
        node = _Internal(root.pivots.copy(), root.children.copy(), new_bufs, nbuf,
                         root.size + added)
        self._flush(node)
        if len(node.children) > self._fanout:
            return self._finish_root(*self._split_internal(node))
        return self._finish_root([node], [])

    def _write_batch(self, batch: dict) -> BeTree:
        if None in batch:
            raise ValueError("None is not a valid key (it means 'unbounded' in items())")
        keys = sorted(batch)
        return self._write_sorted(keys, [batch[k] for k in keys])

    def _write_sorted(self, keys: list, msgs: list) -> BeTree:
        nodes, seps = self._apply(self._root, keys, msgs)
        return self._finish_root(nodes, seps)

    def _finish_root(self, nodes: list, seps: list) -> BeTree:
        """Grows the tree while the root overflowed, shrinks it while the root has one child."""
        fanout = self._fanout
        while len(nodes) > 1:
            root = _Internal(seps, nodes, [{} for _ in nodes], 0, sum(n.size for n in nodes))
            nodes, seps = self._split_internal(root) if len(nodes) > fanout else ([root], [])
        root = nodes[0]
        while type(root) is _Internal and len(root.children) == 1:
            if root.nbuf == 0:
                root = root.children[0]
                continue
            # A one-child root would let keys skip every pivot comparison; push its buffer
            # down instead of keeping a level that routes nothing.
            d = root.bufs[0]
            keys = sorted(d)
            nodes, seps = self._apply(root.children[0], keys, [d[k] for k in keys])
            if len(nodes) > 1:
                return self._finish_root(nodes, seps)
            root = nodes[0]
        return self._derive(root)

    # ------------------------------------------------------------------ flushing

    def _apply(self, node: _Leaf | _Internal, keys: list, msgs: list) -> tuple[list, list]:
        """Applies a sorted batch to a shared node; returns its replacement(s) and separators.

        The returned nodes are fresh, so the caller owns them; ``node`` is never modified.
        """
        if type(node) is _Leaf:
            return self._apply_leaf(node, keys, msgs)
        new = _Internal(node.pivots.copy(), node.children.copy(), node.bufs.copy(),
                        node.nbuf, node.size)
        self._absorb(new, keys, msgs)
        if new.nbuf > self._bcap:
            self._flush(new)
        if len(new.children) > self._fanout:
            return self._split_internal(new)
        return [new], []

    def _apply_leaf(self, leaf: _Leaf, keys: list, msgs: list) -> tuple[list, list]:
        """One merge pass (bisect + slice copies) of the batch into the leaf's sorted lists."""
        old_k = leaf.keys
        old_v = leaf.vals
        n = len(old_k)
        out_k: list = []
        out_v: list = []
        pos = 0
        for key, msg in zip(keys, msgs, strict=True):
            j = bisect_left(old_k, key, pos)
            if j > pos:
                out_k += old_k[pos:j]
                out_v += old_v[pos:j]
            pos = j
            if j < n and old_k[j] == key:
                pos = j + 1
                if msg is _DEL:
                    continue
                if type(msg) is _Patch:
                    msg = _apply_patch(old_v[j], msg)
            elif msg is _DEL or type(msg) is _Patch:
                continue
            out_k.append(key)
            out_v.append(msg)
        if pos < n:
            out_k += old_k[pos:]
            out_v += old_v[pos:]
        cap = self._lcap
        if len(out_k) <= cap:
            return [_Leaf(out_k, out_v)], []
        bounds = _split_evenly(len(out_k), cap)
        leaves = [_Leaf(out_k[a:b], out_v[a:b]) for a, b in pairwise(bounds)]
        return leaves, [out_k[b] for b in bounds[1:-1]]

    def _absorb(self, node: _Internal, keys: list, msgs: list) -> None:
        """Distributes a sorted batch into a fresh node's per-child buffers (newer wins)."""
        pivots = node.pivots
        bufs = node.bufs
        nkeys = len(keys)
        start = 0
        i = bisect_right(pivots, keys[0])
        added = 0
        while start < nkeys:
            end = bisect_left(keys, pivots[i], start) if i < len(pivots) else nkeys
            if end > start:
                buf = bufs[i].copy()
                before = len(buf)
                for j in range(start, end):
                    msg = msgs[j]
                    if type(msg) is _Patch:
                        buf[keys[j]] = _combine(buf.get(keys[j], _MISS), msg)
                    else:
                        buf[keys[j]] = msg
                bufs[i] = buf
                added += len(buf) - before
                start = end
            i += 1
        node.nbuf += added
        node.size += added

    def _flush(self, node: _Internal) -> None:
        """Moves the heaviest child's batch down until the fresh ``node`` is within capacity."""
        bcap = self._bcap
        children = node.children
        bufs = node.bufs
        pivots = node.pivots
        while node.nbuf > bcap:
            lens = list(map(len, bufs))
            i = lens.index(max(lens))
            batch = bufs[i]
            keys = sorted(batch)
            child = children[i]
            nodes, seps = self._apply(child, keys, [batch[k] for k in keys])
            moved = len(batch)
            node.nbuf -= moved
            node.size += sum(n.size for n in nodes) - child.size - moved
            children[i:i + 1] = nodes
            bufs[i:i + 1] = [{} for _ in nodes]
            pivots[i:i] = seps
            if len(nodes) == 1 and len(children) > 1:
                self._maybe_merge(node, i)

    def _maybe_merge(self, node: _Internal, i: int) -> None:
        """Merges an under-quarter-full child ``i`` (just flushed, so bufs[i] is empty)."""
        child = node.children[i]
        children = node.children
        if type(child) is _Leaf:
            cap = self._lcap
            if len(child.keys) * 4 >= cap and child.keys:
                return
            for j in (i - 1, i + 1):
                if 0 <= j < len(children) and len(children[j].keys) + len(child.keys) <= cap:
                    break
            else:
                return
            a, b = (children[j], child) if j < i else (child, children[j])
            merged = _Leaf(a.keys + b.keys, a.vals + b.vals)
        else:
            cap = self._fanout
            n = len(child.children)
            if n * 4 >= cap and n > 1:
                return
            for j in (i - 1, i + 1):
                if (0 <= j < len(children)
                        and len(children[j].children) + n <= cap
                        and children[j].nbuf + child.nbuf <= self._bcap):
                    break
            else:
                return
            lo = min(i, j)
            a, b = children[lo], children[lo + 1]
            merged = _Internal(a.pivots + [node.pivots[lo]] + b.pivots,
                               a.children + b.children, a.bufs + b.bufs,
                               a.nbuf + b.nbuf, a.size + b.size)
        lo = min(i, j)
        # The neighbour's pending messages now target the merged child; both key ranges
        # were disjoint, and bufs[i] is empty after the flush.
        node.children[lo:lo + 2] = [merged]
        node.bufs[lo:lo + 2] = [node.bufs[j]]
        del node.pivots[lo]

    def _split_internal(self, node: _Internal) -> tuple[list, list]:
        children = node.children
        pivots = node.pivots
        bufs = node.bufs
        bounds = _split_evenly(len(children), self._fanout)
        parts = []
        for a, b in pairwise(bounds):
            part_bufs = bufs[a:b]
            nbuf = sum(map(len, part_bufs))
            size = nbuf + sum(c.size for c in children[a:b])
            parts.append(_Internal(pivots[a:b - 1], children[a:b], part_bufs, nbuf, size))
        return parts, [pivots[b - 1] for b in bounds[1:-1]]

    # ------------------------------------------------------------------ reads

    def get(self, key: Any, default: Any = None) -> Any:
        """Checks each buffer on the path top-down: the first message found is the newest."""
        node = self._root
        patches = None
        while type(node) is _Internal:
            i = bisect_right(node.pivots, key)
            msg = node.bufs[i].get(key, _MISS)
            if msg is not _MISS:
                if type(msg) is not _Patch:
                    if msg is _DEL:
                        return default
                    value = msg
                    break
                if patches is None:
                    patches = [msg]
                else:
                    patches.append(msg)
            node = node.children[i]
        else:
            keys = node.keys
            j = bisect_left(keys, key)
            if j == len(keys) or keys[j] != key:
                return default
            value = node.vals[j]
        if patches:
            for p in reversed(patches):
                value = _apply_patch(value, p)
        return value

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISS) is not _MISS

    def items(
        self,
        lo: Any = None,
        hi: Any = None,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> list[tuple]:
        """Resolves in one leaf pass plus a sort of pending messages, not a get() per key."""
        keys, vals = self._resolve(lo, hi, lo_inclusive, hi_inclusive)
        return list(zip(keys, vals, strict=True))

    def __len__(self) -> int:
        """O(N + M log M): liveness of a key depends on messages anywhere on its path."""
        return len(self._resolve(None, None, True, True)[0])

    @property
    def message_count(self) -> int:
        """Buffered messages plus leaf entries, O(1); a cheap signal for when to checkpoint."""
        return self._root.size

    def _resolve(self, lo: Any, hi: Any, lo_inc: bool, hi_inc: bool) -> tuple[list, list]:
        base_k: list = []
        base_v: list = []
        levels: list[list[dict]] = []

        def walk(node: _Leaf | _Internal, depth: int) -> None:
            if type(node) is _Leaf:
                keys = node.keys
                a = 0 if lo is None else (bisect_left if lo_inc else bisect_right)(keys, lo)
                b = len(keys) if hi is None else (bisect_right if hi_inc else bisect_left)(
                    keys, hi)
                if a == 0 and b == len(keys):
                    base_k.extend(keys)
                    base_v.extend(node.vals)
                elif a < b:
                    base_k.extend(keys[a:b])
                    base_v.extend(node.vals[a:b])
                return
            if depth == len(levels):
                levels.append([])
            level = levels[depth]
            pivots = node.pivots
            first = 0 if lo is None else bisect_right(pivots, lo)
            last = len(pivots) if hi is None else bisect_right(pivots, hi)
            bufs = node.bufs
            children = node.children
            for i in range(first, last + 1):
                if bufs[i]:
                    level.append(bufs[i])
                walk(children[i], depth + 1)

        if lo is not None and hi is not None and (hi < lo or (hi == lo and not (
                lo_inc and hi_inc))):
            return [], []
        walk(self._root, 0)
        if not levels or not any(levels):
            return base_k, base_v

        # Combine buffered messages oldest (deepest) first; a level's buffers are disjoint.
        pending: dict = {}
        bounded = lo is not None or hi is not None
        for level in reversed(levels):
            for buf in level:
                for key, msg in buf.items():
                    if bounded and not (
                        (lo is None or (key >= lo if lo_inc else key > lo))
                        and (hi is None or (key <= hi if hi_inc else key < hi))
                    ):
                        continue
                    if type(msg) is _Patch:
                        msg = _combine(pending.get(key, _MISS), msg)
                    pending[key] = msg
        if not pending:
            return base_k, base_v

        out_k: list = []
        out_v: list = []
        n = len(base_k)
        pos = 0
        for key in sorted(pending):
            j = bisect_left(base_k, key, pos)
            if j > pos:
                out_k += base_k[pos:j]
                out_v += base_v[pos:j]
            pos = j
            msg = pending[key]
            if j < n and base_k[j] == key:
                pos = j + 1
                if msg is _DEL:
                    continue
                if type(msg) is _Patch:
                    msg = _apply_patch(base_v[j], msg)
            elif msg is _DEL or type(msg) is _Patch:
                continue
            out_k.append(key)
            out_v.append(msg)
        if pos < n:
            out_k += base_k[pos:]
            out_v += base_v[pos:]
        return out_k, out_v

    # ------------------------------------------------------------------ invariants

    def check(self) -> None:
        """Validates the structure so tests and debug builds catch corruption at its source."""
        fanout, bcap, lcap = self._fanout, self._bcap, self._lcap

        def in_bounds(key: Any, lo: Any, hi: Any) -> bool:
            return (lo is None or key >= lo) and (hi is None or key < hi)

        def visit(node: Any, lo: Any, hi: Any, path: str) -> int:
            if type(node) is _Leaf:
                keys = node.keys
                if len(keys) != len(node.vals):
                    raise ValueError(f"{path}: {len(keys)} keys but {len(node.vals)} values")
                if node.size != len(keys):
                    raise ValueError(f"{path}: size {node.size} != {len(keys)} entries")
                if len(keys) > lcap:
                    raise ValueError(f"{path}: leaf holds {len(keys)} > capacity {lcap}")
                for a, b in pairwise(keys):
                    if not a < b:
                        raise ValueError(f"{path}: leaf keys not strictly sorted: {a!r}, {b!r}")
                for k in keys[:1] + keys[-1:]:
                    if not in_bounds(k, lo, hi):
                        raise ValueError(f"{path}: leaf key {k!r} outside [{lo!r}, {hi!r})")
                return 0
            if type(node) is not _Internal:
                raise ValueError(f"{path}: unexpected node type {type(node).__name__}")
            pivots, children, bufs = node.pivots, node.children, node.bufs
            if not 1 <= len(children) <= fanout:
                raise ValueError(f"{path}: {len(children)} children, fanout is {fanout}")
            if len(pivots) != len(children) - 1 or len(bufs) != len(children):
                raise ValueError(f"{path}: {len(pivots)} pivots, {len(children)} children, "
                                 f"{len(bufs)} buffers")
            for a, b in pairwise(pivots):
                if not a < b:
                    raise ValueError(f"{path}: pivots not strictly sorted: {a!r}, {b!r}")
            for p in pivots:
                if not in_bounds(p, lo, hi):
                    raise ValueError(f"{path}: pivot {p!r} outside [{lo!r}, {hi!r})")
            nbuf = sum(map(len, bufs))
            if nbuf != node.nbuf:
                raise ValueError(f"{path}: nbuf {node.nbuf} != {nbuf} buffered messages")
            if nbuf > bcap:
                raise ValueError(f"{path}: {nbuf} buffered messages > capacity {bcap}")
            bounds = [lo, *pivots, hi]
            depth = None
            for i, child in enumerate(children):
                clo, chi = bounds[i], bounds[i + 1]
                for k, m in bufs[i].items():
                    if not in_bounds(k, clo, chi):
                        raise ValueError(f"{path}/{i}: buffered key {k!r} outside "
                                         f"[{clo!r}, {chi!r})")
                    if type(m) is _Patch and not all(
                            type(p) is int and p >= 0 for p in m):
                        raise ValueError(f"{path}/{i}: malformed patch for {k!r}")
                d = visit(child, clo, chi, f"{path}/{i}")
                if depth is None:
                    depth = d
                elif d != depth:
                    raise ValueError(f"{path}: children at depths {depth} and {d}")
            size = nbuf + sum(c.size for c in children)
            if size != node.size:
                raise ValueError(f"{path}: size {node.size} != {size}")
            return depth + 1

        visit(self._root, None, None, "root")
        root = self._root
        if type(root) is _Internal and len(root.children) == 1:
            raise ValueError("root: internal root with a single child")

    def __repr__(self) -> str:
        return (f"BeTree(messages={self.message_count}, fanout={self._fanout}, "
                f"buffer_capacity={self._bcap}, leaf_capacity={self._lcap})")
