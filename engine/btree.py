"""Persistent (copy-on-write) B+ tree: Kodiak's primary-key and secondary index.

A tree maps totally ordered keys (ints, strs, floats, dates, tuples of those) to row
locations. Trees are immutable: every mutation returns a new ``BPlusTree`` that shares every
untouched node with the old one (path copying, as bbolt does with its pages). A reader that
holds a tree therefore sees a frozen snapshot for as long as it likes, and the single writer
never waits for readers; publishing a new version is one reference assignment. Writers must
still be serialised by the caller (the transaction's writer lock).

Layout. Nodes are ``_Leaf(keys, vals)`` and ``_Inner(keys, kids)`` holding plain lists, and
searches use ``bisect``; the tree records its height, so hot paths never test node types.
Inner node ``keys[i]`` separates ``kids[i]`` (keys ``< keys[i]``) from ``kids[i + 1]``
(keys ``>= keys[i]``). A separator is only a bound, not necessarily the smallest key of its
right subtree: deleting that key leaves the separator alone, since it still routes correctly.
There are no sibling pointers (they cannot survive path copying); range scans keep a stack.

Sizes. ``order`` is the most keys any node holds, leaf or inner (an inner node has one more
child than keys). Every node except the root holds at least ``order // 2`` keys. The root
may be smaller, but an inner root always has at least two children.

Rebalancing policy (the simplest that keeps those bounds): an underfull node is joined with
its right neighbour (its left one if it is the last child), and if the joined node is too
big it is cut into two even halves. Join-then-cut covers both "merge" and "borrow". A root
left with one child is replaced by that child. ``update_many`` applies the same rule after a
whole batch: it walks the tree once, merging each leaf with its sorted slice of the batch,
cutting over-full results into even chunks and joining underfull ones with a neighbour, so
each affected node is copied once per batch rather than once per key.

Fill factor. ``bulk_load`` packs leaves and inner nodes full, which is best for reads and
for appends by ``update_many``; single ``insert`` calls split nodes in half, so keys
inserted one at a time in ascending order leave leaves about half full.

Costs (n keys, fan-out b = order, h = height ~ log_b n): point lookups O(h log b); single
mutations O(h b) list copying, done in C; ``get_many``/``update_many`` with m keys visit
each affected node once; range scans, ``values``/``keys`` and ``count_range`` are
O(h log b + leaves touched), with leaf slices copied in C. ``count_range`` walks leaves
(nodes carry no subtree counts, which would make every write dearer).

``None`` is never a key: storing it raises ``ValueError``, looking it up finds nothing, and
``None`` as a range bound means "unbounded". Keys must be mutually comparable; a ``TypeError``
from comparing them propagates.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from itertools import islice
from operator import itemgetter, lt
from typing import Any

__all__ = ["BPlusTree", "DuplicateKeyError"]

_DELETE: Any = object()  # marks a delete in a normalised update_many batch
_MISSING: Any = object()


class DuplicateKeyError(KeyError):
    """Raised by ``insert`` so unique indexes can enforce uniqueness without a separate probe."""

    def __init__(self, key: Any) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"duplicate key {self.key!r}"


class _Leaf:
    __slots__ = ("keys", "vals")

    def __init__(self, keys: list, vals: list) -> None:
        self.keys = keys
        self.vals = vals


class _Inner:
    __slots__ = ("keys", "kids")

    def __init__(self, keys: list, kids: list) -> None:
        self.keys = keys
        self.kids = kids


_Node = _Leaf | _Inner


# --------------------------------------------------------------------------------------------
# Node surgery shared by single-key and batch mutations. They only ever mutate lists they
# were handed fresh, never lists reachable from a published tree.


def _split_leaf(keys: list, vals: list, order: int) -> tuple[list, list]:
    """Cut an over-full leaf into even chunks, so every chunk respects the minimum size."""
    n = len(keys)
    if n <= order:
        return [_Leaf(keys, vals)], []
    chunks = -(-n // order)
    nodes = []
    seps = []
    start = 0
    for j in range(1, chunks + 1):
        end = j * n // chunks
        if start:
            seps.append(keys[start])
        nodes.append(_Leaf(keys[start:end], vals[start:end]))
        start = end
    return nodes, seps


def _split_inner(keys: list, kids: list, order: int) -> tuple[list, list]:
    """Cut an over-full inner node into even chunks; boundary separators move up a level."""
    if len(keys) <= order:
        return [_Inner(keys, kids)], []
    m = len(kids)
    chunks = -(-m // (order + 1))
    nodes = []
    seps = []
    start = 0
    for j in range(1, chunks + 1):
        end = j * m // chunks
        nodes.append(_Inner(keys[start : end - 1], kids[start:end]))
        if end < m:
            seps.append(keys[end - 1])
        start = end
    return nodes, seps


def _merge_pair(a: _Node, sep: Any, b: _Node, height: int, order: int) -> tuple[list, list]:
    """Join two adjacent nodes of the given height and re-cut them if the result is too big."""
    if height == 0:
        return _split_leaf(a.keys + b.keys, a.vals + b.vals, order)
    keys = a.keys + [sep] + b.keys
    kids = a.kids + b.kids
    seam = len(a.kids)
    minimum = order // 2
    # After a batch, an underfull node can have a single (underfull) child; once it has a
    # sibling, that child must be fixed too, so repair the seam a level down.
    if len(kids[seam - 1].keys) < minimum or len(kids[seam].keys) < minimum:
        _normalize(kids, keys, height - 1, order, (seam - 1, seam))
    return _split_inner(keys, kids, order)


def _normalize(kids: list, seps: list, height: int, order: int,
               positions: Sequence[int]) -> None:
    """Join the underfull nodes at ``positions`` (the ones a batch rebuilt) with a neighbour,
    in place.

    Untouched siblings are within bounds already, so only rebuilt positions are checked —
    scanning every sibling made a one-key insert cost O(fan-out) ``len`` calls per level.
    Positions are handled from the highest down, so a merge never shifts one still to come;
    a neighbour that was not rebuilt holds at least ``order // 2`` keys, so merging with it
    leaves nothing underfull. Afterwards every node is within bounds unless only one is left.
    """
    minimum = order // 2
    for p in sorted(set(positions), reverse=True):
        if len(kids) <= 1:
            return
        if p >= len(kids) or len(kids[p].keys) >= minimum:
            continue
        a = p if p + 1 < len(kids) else p - 1
        nodes, new_seps = _merge_pair(kids[a], seps[a], kids[a + 1], height, order)
        kids[a : a + 2] = nodes
        seps[a : a + 1] = new_seps


def _as_list(seq: Sequence) -> list:
    """Turn numpy/pandas inputs into lists of Python scalars, which compare much faster."""
    tolist = getattr(seq, "tolist", None)
    if tolist is not None:
        return tolist()
    return seq if isinstance(seq, list) else list(seq)


class BPlusTree:
    """Immutable B+ tree; each mutation returns a new version sharing untouched nodes."""

    __slots__ = ("_root", "_height", "_size", "_order")

    def __init__(self, order: int = 256) -> None:
        if not isinstance(order, int) or order < 3:
            raise ValueError(f"order must be an int >= 3, got {order!r}")
        self._root: _Node = _Leaf([], [])
        self._height = 0
        self._size = 0
        self._order = order

    @classmethod
    def _new(cls, root: _Node, height: int, size: int, order: int) -> BPlusTree:
        tree = object.__new__(cls)
        tree._root = root
        tree._height = height
        tree._size = size
        tree._order = order
        return tree

    # ---------------------------------------------------------------- construction

    @classmethod
    def empty(cls, order: int = 256) -> BPlusTree:
        """Start an index; order trades per-write copying against tree height."""
        return cls(order)

    @classmethod
    def bulk_load(cls, keys: Sequence, values: Sequence, order: int = 256) -> BPlusTree:
        """Build a packed tree from sorted data in O(n), far cheaper than n inserts."""
        empty = cls(order)
        keys = _as_list(keys)
        values = _as_list(values)
        n = len(keys)
        if n != len(values):
            raise ValueError(f"bulk_load got {n} keys but {len(values)} values")
        if n == 0:
            return empty
        _check_ascending(keys)
        # Leaves: as few as fit, sizes differing by at most one.
        chunks = -(-n // order)
        nodes: list = []
        lows: list = []
        start = 0
        for j in range(1, chunks + 1):
            end = j * n // chunks
            nodes.append(_Leaf(keys[start:end], values[start:end]))
            lows.append(keys[start])
            start = end
        height = 0
        fan = order + 1
        while len(nodes) > 1:
            m = len(nodes)
            chunks = -(-m // fan)
            parents = []
            parent_lows = []
            start = 0
            for j in range(1, chunks + 1):
                end = j * m // chunks
                parents.append(_Inner(lows[start + 1 : end], nodes[start:end]))
                parent_lows.append(lows[start])
                start = end
            nodes, lows = parents, parent_lows
            height += 1
        return cls._new(nodes[0], height, n, order)

    # ---------------------------------------------------------------- introspection

    @property
    def order(self) -> int:
        """Maximum keys per node, needed to build compatible trees."""
        return self._order

    @property
    def height(self) -> int:
        """Number of inner levels above the leaves (0 for a single leaf)."""
        return self._height

    def __len__(self) -> int:
        """Kept as a counter so ``len`` is O(1) for planner row estimates."""
        return self._size

    def __repr__(self) -> str:
        return f"BPlusTree(len={self._size}, order={self._order}, height={self._height})"

    def __iter__(self) -> Iterator:
        """Iterate keys ascending, like a sorted dict."""
        for leaf, start, end in self._slices(None, None, True, True):
            if start == 0 and end == len(leaf.keys):
                yield from leaf.keys
            else:
                yield from leaf.keys[start:end]

    # ---------------------------------------------------------------- point reads

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def get(self, key: Any, default: Any = None) -> Any:
        """Point lookup; ``default`` lets callers tell a stored None from a miss."""
        if key is None:
            return default
        node = self._root
        for _ in range(self._height):
            node = node.kids[bisect_right(node.keys, key)]
        keys = node.keys
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return node.vals[i]
        return default

    def get_many(self, keys: Sequence) -> list:
        """Batch lookup (IN lists, joins): sorts probes once and visits each node once."""
        probes = _as_list(keys)
        n = len(probes)
        if n == 0:
            return []
        if None in probes:
            positions = [i for i, k in enumerate(probes) if k is not None]
        else:
            positions = range(n)
        perm = sorted(positions, key=probes.__getitem__)
        ordered = [probes[i] for i in perm]
        found: list = [None] * len(ordered)

        def walk(node: _Node, height: int, lo: int, hi: int) -> None:
            if height == 0:
                lkeys = node.keys
                lvals = node.vals
                size = len(lkeys)
                j = 0
                for t in range(lo, hi):
                    k = ordered[t]
                    j = bisect_left(lkeys, k, j)
                    if j == size:
                        return
                    if lkeys[j] == k:
                        found[t] = lvals[j]
                return
            ikeys = node.keys
            kids = node.kids
            nkeys = len(ikeys)
            c = 0
            t = lo
            while t < hi:
                c = bisect_right(ikeys, ordered[t], c)
                u = bisect_left(ordered, ikeys[c], t, hi) if c < nkeys else hi
                walk(kids[c], height - 1, t, u)
                t = u

        walk(self._root, self._height, 0, len(ordered))
        out: list = [None] * n
        for i, v in zip(perm, found, strict=True):
            out[i] = v
        return out

    def min_key(self) -> Any:
        """Smallest key (e.g. MIN() over the key column without a scan)."""
        if not self._size:
            raise ValueError("min_key() of an empty tree")
        node = self._root
        for _ in range(self._height):
            node = node.kids[0]
        return node.keys[0]

    def max_key(self) -> Any:
        """Largest key (e.g. the next value of an auto-increment key)."""
        if not self._size:
            raise ValueError("max_key() of an empty tree")
        node = self._root
        for _ in range(self._height):
            node = node.kids[-1]
        return node.keys[-1]

    # ---------------------------------------------------------------- range reads

    def _slices(
        self, lo: Any, hi: Any, lo_inclusive: bool, hi_inclusive: bool
    ) -> Iterator[tuple[_Leaf, int, int]]:
        """Yield (leaf, start, end) runs covering the range, so callers can slice in C."""
        if not self._size:
            return
        if lo is not None and hi is not None:
            if hi < lo or (not lo < hi and not (lo_inclusive and hi_inclusive)):
                return
        height = self._height
        node = self._root
        stack: list = []
        for _ in range(height):
            i = 0 if lo is None else bisect_right(node.keys, lo)
            stack.append((node.kids, i))
            node = node.kids[i]
        keys = node.keys
        if lo is None:
            start = 0
        elif lo_inclusive:
            start = bisect_left(keys, lo)
        else:
            start = bisect_right(keys, lo)
        while True:
            size = len(keys)
            if hi is None or (size and keys[-1] < hi):
                end = size
            elif hi_inclusive:
                end = bisect_right(keys, hi, start)
            else:
                end = bisect_left(keys, hi, start)
            if end > start:
                yield node, start, end
            if end < size:
                return
            while stack:
                kids, i = stack[-1]
                if i + 1 < len(kids):
                    stack[-1] = (kids, i + 1)
                    node = kids[i + 1]
                    while len(stack) < height:
                        stack.append((node.kids, 0))
                        node = node.kids[0]
                    break
                stack.pop()
            else:
                return
            keys = node.keys
            start = 0

    def items(
        self,
        lo: Any = None,
        hi: Any = None,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> Iterator[tuple[Any, Any]]:
        """Lazy ascending (key, value) pairs in a range, for scans that may stop early."""
        for leaf, start, end in self._slices(lo, hi, lo_inclusive, hi_inclusive):
            yield from zip(leaf.keys[start:end], leaf.vals[start:end], strict=True)

    def keys(
        self,
        lo: Any = None,
        hi: Any = None,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> list:
        """Keys in a range as a list, built from leaf slices rather than per item."""
        out: list = []
        for leaf, start, end in self._slices(lo, hi, lo_inclusive, hi_inclusive):
            out += leaf.keys if start == 0 and end == len(leaf.keys) else leaf.keys[start:end]
        return out

    def values(
        self,
        lo: Any = None,
        hi: Any = None,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> list:
        """Row locations for a key range, built from leaf slices so big ranges stay cheap."""
        out: list = []
        for leaf, start, end in self._slices(lo, hi, lo_inclusive, hi_inclusive):
            out += leaf.vals if start == 0 and end == len(leaf.vals) else leaf.vals[start:end]
        return out

    def count_range(
        self,
        lo: Any = None,
        hi: Any = None,
        lo_inclusive: bool = True,
        hi_inclusive: bool = True,
    ) -> int:
        """Selectivity estimates and COUNT(*) over a key range without materialising it."""
        if lo is None and hi is None:
            return self._size
        return sum(
            end - start for _, start, end in self._slices(lo, hi, lo_inclusive, hi_inclusive)
        )

    # ---------------------------------------------------------------- single-key writes

    def insert(self, key: Any, value: Any) -> BPlusTree:
        """Add a new key; raising on duplicates is how primary keys stay unique."""
        return self._put(key, value, False)

    def put(self, key: Any, value: Any) -> BPlusTree:
        """Insert or replace (upsert, or moving a row to a new location)."""
        return self._put(key, value, True)

    def _put(self, key: Any, value: Any, replace: bool) -> BPlusTree:
        if key is None:
            raise ValueError("None cannot be a B+ tree key")
        order = self._order
        height = self._height
        node = self._root
        path = []
        for _ in range(height):
            i = bisect_right(node.keys, key)
            path.append((node, i))
            node = node.kids[i]
        lkeys = node.keys
        i = bisect_left(lkeys, key)
        if i < len(lkeys) and lkeys[i] == key:
            if not replace:
                raise DuplicateKeyError(key)
            vals = node.vals[:]
            vals[i] = value
            new: _Node = _Leaf(lkeys, vals)  # keys list is shared: it did not change
            for parent, ci in reversed(path):
                kids = parent.kids[:]
                kids[ci] = new
                new = _Inner(parent.keys, kids)
            return self._new(new, height, self._size, order)

        keys = lkeys[:]
        keys.insert(i, key)
        vals = node.vals[:]
        vals.insert(i, value)
        right: _Node | None = None
        sep: Any = None
        if len(keys) <= order:
            new = _Leaf(keys, vals)
        else:
            mid = len(keys) // 2
            sep = keys[mid]
            new = _Leaf(keys[:mid], vals[:mid])
            right = _Leaf(keys[mid:], vals[mid:])
        for parent, ci in reversed(path):
            kids = parent.kids[:]
            kids[ci] = new
            if right is None:
                new = _Inner(parent.keys, kids)
                continue
            keys = parent.keys[:]
            keys.insert(ci, sep)
            kids.insert(ci + 1, right)
            if len(keys) <= order:
                new = _Inner(keys, kids)
                right = None
            else:
                mid = len(keys) // 2
                sep = keys[mid]
                new = _Inner(keys[:mid], kids[: mid + 1])
                right = _Inner(keys[mid + 1 :], kids[mid + 1 :])
        if right is not None:
            new = _Inner([sep], [new, right])
            height += 1
        return self._new(new, height, self._size + 1, order)

    def append_run(self, keys: list, values: list) -> BPlusTree | None:
        """Add strictly ascending ``keys`` that all lie past the largest key, rebuilding only
        the right spine: a few list concatenations per level instead of a bisect per key
        (the sequential-key insert runs an insert tail folds). None when the run does not
        qualify; the caller then uses ``update_many``."""
        if not keys:
            return self
        if len(keys) != len(values):
            raise ValueError(f"append_run got {len(keys)} keys but {len(values)} values")
        try:
            if (self._size and not keys[0] > self.max_key()) or not all(
                    map(lt, keys, islice(keys, 1, None))):
                return None
        except TypeError:  # keys that do not compare (None among them): not a run
            return None
        order = self._order
        path = []
        node = self._root
        for _ in range(self._height):
            path.append(node)
            node = node.kids[-1]
        nodes, seps = _split_leaf(node.keys + keys, node.vals + values, order)
        for parent in reversed(path):
            nodes, seps = _split_inner(parent.keys + seps, parent.kids[:-1] + nodes, order)
        height = self._height
        while len(nodes) > 1:
            nodes, seps = _split_inner(seps, nodes, order)
            height += 1
        return self._new(nodes[0], height, self._size + len(keys), order)

    def delete(self, key: Any) -> BPlusTree:
        """Remove a key that must exist; a miss usually means index corruption."""
        return self._remove(key, False)

    def discard(self, key: Any) -> BPlusTree:
        """Remove a key if present; returns ``self`` when absent so callers can detect no-ops."""
        return self._remove(key, True)

    def _remove(self, key: Any, missing_ok: bool) -> BPlusTree:
        if key is None:
            if missing_ok:
                return self
            raise KeyError(key)
        order = self._order
        height = self._height
        node = self._root
        path = []
        for _ in range(height):
            i = bisect_right(node.keys, key)
            path.append((node, i))
            node = node.kids[i]
        lkeys = node.keys
        i = bisect_left(lkeys, key)
        if i == len(lkeys) or lkeys[i] != key:
            if missing_ok:
                return self
            raise KeyError(key)
        keys = lkeys[:]
        del keys[i]
        vals = node.vals[:]
        del vals[i]
        new: _Node = _Leaf(keys, vals)
        minimum = order // 2
        child_height = 0
        for parent, ci in reversed(path):
            kids = parent.kids[:]
            kids[ci] = new
            pkeys = parent.keys
            if len(new.keys) < minimum:
                pkeys = pkeys[:]
                a = ci if ci + 1 < len(kids) else ci - 1
                nodes, seps = _merge_pair(kids[a], pkeys[a], kids[a + 1], child_height, order)
                kids[a : a + 2] = nodes
                pkeys[a : a + 1] = seps
            new = _Inner(pkeys, kids)
            child_height += 1
        if height and len(new.kids) == 1:
            new = new.kids[0]
            height -= 1
        return self._new(new, height, self._size - 1, order)

    # ---------------------------------------------------------------- batch writes

    def update_many(self, puts: Sequence[tuple] = (), deletes: Sequence = ()) -> BPlusTree:
        """Apply a statement's index changes in one pass, copying each touched node once.

        Deletes are applied first, then puts (insert-or-replace; the last put of a key
        wins), so deleting and re-putting a key in one batch leaves the put. Deleting an
        absent key is ignored, like ``discard``. Returns ``self`` if nothing changed.
        """
        ks, vs = _normalise_batch(puts, deletes)
        if not ks:
            return self
        order = self._order
        delta = 0

        def apply(node: _Node, height: int, lo: int, hi: int) -> tuple[list, list] | None:
            nonlocal delta
            if height == 0:
                lkeys = node.keys
                lvals = node.vals
                size = len(lkeys)
                keys: list = []
                vals: list = []
                j = 0
                changed = False
                for t in range(lo, hi):
                    k = ks[t]
                    v = vs[t]
                    i = bisect_left(lkeys, k, j)
                    if i > j:
                        keys += lkeys[j:i]
                        vals += lvals[j:i]
                    if i < size and lkeys[i] == k:
                        j = i + 1
                        changed = True
                        if v is _DELETE:
                            continue
                    else:
                        j = i
                        if v is _DELETE:
                            continue
                        changed = True
                    keys.append(k)
                    vals.append(v)
                if not changed:
                    return None
                keys += lkeys[j:]
                vals += lvals[j:]
                delta += len(keys) - size
                if not keys:
                    return [], []
                return _split_leaf(keys, vals, order)

            ikeys = node.keys
            kids = node.kids
            nkeys = len(ikeys)
            out_kids: list = []
            out_seps: list = []
            touched: list[int] = []  # positions in out_kids of rebuilt children
            done = 0  # original children before this index are already handled
            t = lo
            while t < hi:
                c = bisect_right(ikeys, ks[t], done)
                u = bisect_left(ks, ikeys[c], t, hi) if c < nkeys else hi
                result = apply(kids[c], height - 1, t, u)
                t = u
                if result is None:
                    continue
                if done < c:  # untouched children kept as they are
                    if out_kids:
                        out_seps.append(ikeys[done - 1])
                    out_seps += ikeys[done : c - 1]
                    out_kids += kids[done:c]
                nodes, seps = result
                if nodes:
                    if out_kids:
                        out_seps.append(ikeys[c - 1])
                    out_seps += seps
                    touched.extend(range(len(out_kids), len(out_kids) + len(nodes)))
                    out_kids += nodes
                elif out_kids:  # the child vanished: its left neighbour gains a new seam
                    touched.append(len(out_kids) - 1)
                done = c + 1
            if not done:
                return None
            if done < len(kids):
                if out_kids:
                    out_seps.append(ikeys[done - 1])
                out_seps += ikeys[done:]
                out_kids += kids[done:]
            if not out_kids:
                return [], []
            _normalize(out_kids, out_seps, height - 1, order, touched)
            return _split_inner(out_seps, out_kids, order)

        height = self._height
        result = apply(self._root, height, 0, len(ks))
        if result is None:
            return self
        nodes, seps = result
        if not nodes:
            return self._new(_Leaf([], []), 0, 0, order)
        while len(nodes) > 1:
            nodes, seps = _split_inner(seps, nodes, order)
            height += 1
        root = nodes[0]
        while height and len(root.kids) == 1:
            root = root.kids[0]
            height -= 1
        return self._new(root, height, self._size + delta, order)

    # ---------------------------------------------------------------- verification

    def check(self) -> None:
        """Verify every structural invariant; raise ValueError naming the first violation."""
        order = self._order
        minimum = order // 2
        height = self._height
        count = 0
        last: list = []  # last key of the previous leaf, if any

        def fail(msg: str) -> None:
            raise ValueError(f"B+ tree invariant violated: {msg}")

        def visit(node: Any, depth: int, lo: Any, hi: Any, path: str) -> None:
            nonlocal count
            where = f"node {path or 'root'} (depth {depth})"
            keys = node.keys
            if not isinstance(keys, list):
                fail(f"{where}: keys is {type(keys).__name__}, not list")
            for i in range(1, len(keys)):
                if not keys[i - 1] < keys[i]:
                    fail(f"{where}: keys[{i - 1}]={keys[i - 1]!r} !< keys[{i}]={keys[i]!r}")
            if keys:
                if lo is not None and keys[0] < lo:
                    fail(f"{where}: key {keys[0]!r} below separator {lo!r}")
                if hi is not None and not keys[-1] < hi:
                    fail(f"{where}: key {keys[-1]!r} not below separator {hi!r}")
            is_root = depth == 0
            if len(keys) > order:
                fail(f"{where}: {len(keys)} keys > order {order}")
            if not is_root and len(keys) < minimum:
                fail(f"{where}: {len(keys)} keys < minimum {minimum}")
            if depth == height:
                if not isinstance(node, _Leaf):
                    fail(f"{where}: expected a leaf at depth {height}")
                if len(node.vals) != len(keys):
                    fail(f"{where}: {len(keys)} keys but {len(node.vals)} values")
                if keys:
                    if last and not last[0] < keys[0]:
                        fail(f"{where}: first key {keys[0]!r} !> previous leaf's {last[0]!r}")
                    last[:] = [keys[-1]]
                count += len(keys)
                return
            if not isinstance(node, _Inner):
                fail(f"{where}: leaf above the leaf level (tree height {height})")
            kids = node.kids
            if len(kids) != len(keys) + 1:
                fail(f"{where}: {len(keys)} keys but {len(kids)} children")
            if is_root and len(kids) < 2:
                fail(f"{where}: inner root with {len(kids)} child")
            for i, kid in enumerate(kids):
                visit(
                    kid,
                    depth + 1,
                    keys[i - 1] if i else lo,
                    keys[i] if i < len(keys) else hi,
                    f"{path}/{i}",
                )

        visit(self._root, 0, None, None, "")
        if count != self._size:
            fail(f"len() is {self._size} but the leaves hold {count} keys")


def _check_ascending(keys: list) -> None:
    """Reject input bulk_load cannot pack, naming the first bad position."""
    if keys[0] is None:
        raise ValueError("bulk_load keys must not contain None (position 0)")
    try:
        ordered = all(map(lt, keys, islice(keys, 1, None)))
    except TypeError:
        for i, k in enumerate(keys):
            if k is None:
                raise ValueError(f"bulk_load keys must not contain None (position {i})") from None
        raise
    if ordered:
        return
    for i in range(1, len(keys)):
        prev, cur = keys[i - 1], keys[i]
        if not prev < cur:
            what = "duplicates" if prev == cur else "is less than"
            raise ValueError(
                f"bulk_load keys must be strictly ascending: keys[{i}]={cur!r} {what} "
                f"keys[{i - 1}]={prev!r}"
            )


def _normalise_batch(puts: Sequence[tuple], deletes: Sequence) -> tuple[list, list]:
    """Collapse a batch to one sorted op per key: deletes first, then puts, last put wins."""
    try:
        final = dict.fromkeys(deletes, _DELETE)
        final.update(puts)
    except TypeError:  # unhashable keys: fall back to a stable sort
        return _normalise_batch_sorted(puts, deletes)
    if None in final:
        if final[None] is not _DELETE:
            raise ValueError("None cannot be a B+ tree key")
        del final[None]
    ks = sorted(final)
    return ks, list(map(final.__getitem__, ks))


def _normalise_batch_sorted(puts: Sequence[tuple], deletes: Sequence) -> tuple[list, list]:
    ops = [(k, _DELETE) for k in deletes if k is not None]
    for k, v in puts:
        if k is None:
            raise ValueError("None cannot be a B+ tree key")
        ops.append((k, v))
    ops.sort(key=itemgetter(0))  # stable: for equal keys, later ops stay later
    ks: list = []
    vs: list = []
    for k, v in ops:
        if ks and ks[-1] == k:
            vs[-1] = v
        else:
            ks.append(k)
            vs.append(v)
    return ks, vs
