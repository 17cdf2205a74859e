"""Tests for engine.betree: random operations against a dict model, with capacities small
enough that flushes, splits and merges happen on nearly every operation."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.betree import BeTree

# ---------------------------------------------------------------------------- model helpers


def patched(value, changes):
    if type(value) is not tuple:
        return value
    row = list(value)
    for pos, new in changes.items():
        if pos < len(row):
            row[pos] = new
    return tuple(row)


def model_patch(model: dict, key, changes) -> None:
    if key in model:
        model[key] = patched(model[key], changes)


def in_range(key, lo, hi, lo_inc, hi_inc) -> bool:
    if lo is not None and (key < lo if lo_inc else key <= lo):
        return False
    if hi is not None and (key > hi if hi_inc else key >= hi):
        return False
    return True


def model_items(model: dict, lo=None, hi=None, lo_inc=True, hi_inc=True) -> list:
    return [(k, v) for k, v in sorted(model.items()) if in_range(k, lo, hi, lo_inc, hi_inc)]


def assert_matches(tree: BeTree, model: dict) -> None:
    tree.check()
    assert tree.items() == sorted(model.items())
    assert len(tree) == len(model)
    assert tree.message_count >= len(model)


# ---------------------------------------------------------------------------- random driver


def int_key(rng: random.Random, space: int):
    return rng.randrange(space)


def tuple_key(rng: random.Random, space: int):
    return (rng.randrange(space // 10 + 1), rng.choice("abcdefghij"))


def str_key(rng: random.Random, space: int):
    return "".join(rng.choice("abcd") for _ in range(rng.randrange(1, 5)))


def random_run(seed, fanout, bcap, lcap, nops, make_key=int_key, space=300, keep_every=0):
    """Drives a tree and a dict model through the same random operations.

    Returns the final tree and model plus (tree, model-copy) snapshots taken every
    ``keep_every`` operations, so callers can check old versions afterwards.
    """
    rng = random.Random(seed)
    tree = BeTree.empty(fanout=fanout, buffer_capacity=bcap, leaf_capacity=lcap)
    model: dict = {}
    versions = []

    def key():
        return make_key(rng, space)

    for step in range(1, nops + 1):
        r = rng.random()
        if r < 0.35:
            k = key()
            v = (step, rng.random(), str(step))
            tree = tree.put(k, v)
            model[k] = v
        elif r < 0.50:
            k = key()
            tree = tree.delete(k)
            model.pop(k, None)
        elif r < 0.65:
            k = key()
            changes = {rng.randrange(3): rng.randrange(1000) for _ in range(rng.randrange(1, 3))}
            tree = tree.patch(k, changes)
            model_patch(model, k, changes)
        elif r < 0.70:
            batch = [(key(), (step, i, "m")) for i in range(rng.randrange(0, 25))]
            tree = tree.put_many(batch)
            model.update(batch)
        elif r < 0.74:
            keys = [key() for _ in range(rng.randrange(0, 25))]
            tree = tree.delete_many(keys)
            for k in keys:
                model.pop(k, None)
        elif r < 0.92:
            k = key()
            assert tree.get(k, "absent") == model.get(k, "absent")
            assert (k in tree) == (k in model)
        else:
            a, b = sorted([key(), key()])
            lo = None if rng.random() < 0.15 else a
            hi = None if rng.random() < 0.15 else b
            lo_inc, hi_inc = rng.random() < 0.5, rng.random() < 0.5
            assert tree.items(lo, hi, lo_inc, hi_inc) == model_items(model, lo, hi, lo_inc, hi_inc)
        if step % 100 == 0:
            assert_matches(tree, model)
        if keep_every and step % keep_every == 0:
            versions.append((tree, dict(model)))
    assert_matches(tree, model)
    return tree, model, versions


CONFIGS = [
    (3, 4, 4),
    (4, 8, 8),
    (3, 8, 4),
    (4, 4, 8),
    (3, 6, 5),
    (2, 1, 1),  # degenerate: every write flushes, every leaf holds one key
]


@pytest.mark.parametrize("fanout,bcap,lcap", CONFIGS)
@pytest.mark.parametrize("seed", [1, 2])
def test_random_ops_against_dict(seed, fanout, bcap, lcap):
    random_run(seed, fanout, bcap, lcap, nops=3000)


def test_random_ops_small_keyspace_heavy_collisions():
    # Few keys: buffers combine messages for the same key all the time.
    random_run(7, 3, 5, 4, nops=4000, space=20)


def test_random_ops_large_keyspace_deep_tree():
    tree, model, _ = random_run(8, 3, 4, 4, nops=4000, space=100_000)
    assert len(model) > 500


def test_default_capacities_bulk():
    rng = random.Random(3)
    keys = list(range(5000))
    rng.shuffle(keys)
    tree = BeTree.empty()
    model = {}
    for k in keys:
        tree = tree.put(k, (k, "x"))
        model[k] = (k, "x")
    for k in keys[::3]:
        tree = tree.delete(k)
        del model[k]
    for k in keys[1::3]:
        tree = tree.patch(k, {1: "y"})
        model[k] = (k, "y")
    assert_matches(tree, model)
    assert all(tree.get(k) == model.get(k) for k in range(-10, 5010))


@pytest.mark.parametrize(
    "make_key,space", [(tuple_key, 300), (str_key, 0)], ids=["tuple", "str"]
)
@pytest.mark.parametrize("fanout,bcap,lcap", [(3, 4, 4), (4, 8, 8)])
def test_tuple_and_string_keys(make_key, space, fanout, bcap, lcap):
    random_run(11, fanout, bcap, lcap, nops=2500, make_key=make_key, space=space)


# ---------------------------------------------------------------------------- persistence


@pytest.mark.parametrize("fanout,bcap,lcap", [(3, 4, 4), (4, 8, 8), (2, 1, 1)])
def test_old_versions_unchanged(fanout, bcap, lcap):
    tree, model, versions = random_run(5, fanout, bcap, lcap, nops=3000, keep_every=150)
    assert len(versions) == 20
    rng = random.Random(0)
    for old, snapshot in versions:
        assert_matches(old, snapshot)
        for _ in range(20):
            k = rng.randrange(300)
            assert old.get(k) == snapshot.get(k)


def test_branching_versions_are_independent():
    base = BeTree.empty(fanout=3, buffer_capacity=4, leaf_capacity=4)
    for k in range(200):
        base = base.put(k, (k, 0))
    before = base.items()
    left = base.delete_many(range(0, 200, 2))
    right = base.put_many([(k, (k, 1)) for k in range(100, 300)])
    patched_tree = base.patch(5, {1: 99})
    assert base.items() == before
    assert left.items() == [(k, (k, 0)) for k in range(1, 200, 2)]
    assert right.items() == [(k, (k, 0)) for k in range(100)] + [
        (k, (k, 1)) for k in range(100, 300)
    ]
    assert patched_tree.get(5) == (5, 99) and base.get(5) == (5, 0)
    for t in (base, left, right, patched_tree):
        t.check()


def test_patch_changes_dict_is_copied():
    tree = BeTree.empty(fanout=3, buffer_capacity=4, leaf_capacity=4)
    for k in range(50):
        tree = tree.put(k, (k, 0))
    changes = {1: "a"}
    tree = tree.patch(10, changes)
    changes[1] = "mutated"
    changes[0] = "mutated"
    assert tree.get(10) == (10, "a")


# ---------------------------------------------------------------------------- semantics


def test_message_semantics_and_combining():
    tree = BeTree.empty(fanout=4, buffer_capacity=1000, leaf_capacity=4)
    for k in range(20):  # enough keys to make the root internal
        tree = tree.put(k, (k, "v", 0))
    tree = tree.patch(100, {0: "x"})  # absent: no effect
    assert 100 not in tree and tree.get(100) is None
    tree = tree.put(100, (1, 2, 3)).patch(100, {2: 30}).patch(100, {0: 10})
    assert tree.get(100) == (10, 2, 30)
    tree = tree.delete(100).patch(100, {0: 1})  # DELETE then PATCH stays deleted
    assert 100 not in tree
    tree = tree.patch(3, {1: "p"}).patch(3, {2: 9})  # PATCH+PATCH on a leaf value
    assert tree.get(3) == (3, "p", 9)
    tree = tree.patch(4, {1: "p"}).put(4, ("new",))  # PUT overrides a pending PATCH
    assert tree.get(4) == ("new",)
    tree = tree.delete(5).put(5, (5, "back", 0))
    assert tree.get(5) == (5, "back", 0)
    tree = tree.delete(999)  # blind delete of an absent key
    assert 999 not in tree
    tree.check()
    expected = {k: (k, "v", 0) for k in range(20)}
    expected.update({3: (3, "p", 9), 4: ("new",), 5: (5, "back", 0)})
    assert tree.items() == sorted(expected.items())


def test_message_count_counts_combined_messages():
    tree = BeTree.empty(fanout=4, buffer_capacity=1000, leaf_capacity=2)
    tree = tree.put_many([(1, (1,)), (2, (2,)), (3, (3,))])  # leaf root splits
    base = tree.message_count
    assert base == 3
    tree = tree.put(9, (9,))
    assert tree.message_count == base + 1
    tree = tree.put(9, (10,)).patch(9, {0: 11})  # combined into the same buffered message
    assert tree.message_count == base + 1
    tree = tree.delete(9)
    assert tree.message_count == base + 1 and len(tree) == 3


def test_patch_never_fails_lazily():
    tree = BeTree.empty(fanout=3, buffer_capacity=2, leaf_capacity=2)
    tree = tree.put(1, (1, 2)).put(2, "not a tuple").put(3, [3, 4])
    tree = tree.patch(1, {5: "out of range", 0: "in"}).patch(2, {0: "x"}).patch(3, {0: "x"})
    for k in range(10, 40):  # force everything down to the leaves
        tree = tree.put(k, (k,))
    assert tree.get(1) == ("in", 2)
    assert tree.get(2) == "not a tuple"
    assert tree.get(3) == [3, 4]
    tree.check()


@pytest.mark.parametrize("bad", [{-1: 0}, {"a": 0}, {1.0: 0}, {True: 0}])
def test_patch_rejects_bad_positions(bad):
    tree = BeTree.empty().put(1, (1, 2))
    with pytest.raises(ValueError):
        tree.patch(1, bad)


def test_empty_tree_and_trivial_batches():
    tree = BeTree.empty()
    tree.check()
    assert tree.items() == [] and len(tree) == 0 and tree.message_count == 0
    assert tree.get(1, "d") == "d" and 1 not in tree
    assert tree.put_many([]) is tree and tree.delete_many([]) is tree
    assert tree.delete(1).items() == []
    assert tree.put_many([(1, "a"), (1, "b")]).items() == [(1, "b")]  # later pair wins
    with pytest.raises(ValueError):
        BeTree.empty(fanout=1)
    for write in (
        lambda t: t.put(None, 1),
        lambda t: t.delete(None),
        lambda t: t.patch(None, {0: 1}),
        lambda t: t.put_many([(1, 1), (None, 2)]),
        lambda t: t.delete_many([None]),
    ):
        with pytest.raises(ValueError):
            write(tree)
    assert tree.get(None, "d") == "d"


def test_items_ranges_edge_cases():
    tree = BeTree.empty(fanout=3, buffer_capacity=4, leaf_capacity=4)
    tree = tree.put_many([(k, k) for k in range(0, 100, 2)])
    tree = tree.put(51, 51).delete(52)
    model = {k: k for k in range(0, 100, 2)}
    model[51] = 51
    del model[52]
    assert tree.items(10, 5) == []
    assert tree.items(10, 10, True, False) == []
    assert tree.items(10, 10) == [(10, 10)]
    assert tree.items(11, 11) == []
    for lo, hi in [(None, None), (None, 50), (50, None), (49, 53), (-5, 200), (99, 1000)]:
        for lo_inc in (True, False):
            for hi_inc in (True, False):
                assert tree.items(lo, hi, lo_inc, hi_inc) == model_items(
                    model, lo, hi, lo_inc, hi_inc
                )


def test_delete_everything():
    keys = list(range(500))
    random.Random(2).shuffle(keys)
    tree = BeTree.empty(fanout=3, buffer_capacity=4, leaf_capacity=4)
    tree = tree.put_many([(k, k) for k in keys])
    for k in keys:
        tree = tree.delete(k)
    tree.check()
    assert tree.items() == [] and len(tree) == 0
    # Tombstones that have not reached a leaf still count as messages.
    assert tree.message_count > 0

    # With default capacities the tombstones flush all the way down, emptied leaves are
    # merged away and the one-child roots collapse back to a single empty leaf.
    tree = BeTree.empty()
    for k in keys * 4:
        tree = tree.put(k, k)
    for k in keys:
        tree = tree.delete(k)
    tree.check()
    assert tree.items() == [] and tree.message_count == 0


def test_one_child_root_is_pushed_down_and_resplit():
    tree = BeTree.empty(fanout=3, buffer_capacity=4, leaf_capacity=4)
    tree = tree.put_many([(k, k) for k in range(1, 7)])  # leaves [1, 2, 3] | [4, 5, 6]
    tree = tree.delete(4).delete(5).put(-1, -1).put(-2, -2)
    # The fifth message overflows the root: the right leaf empties and merges into the
    # left one, and the root's remaining buffer is pushed into that single child, which
    # splits again.
    tree = tree.delete(6)
    tree.check()
    assert tree.items() == [(-2, -2), (-1, -1), (1, 1), (2, 2), (3, 3)]
    assert len(tree._root.children) == 2 and tree._root.nbuf == 0


def test_check_detects_corruption():
    tree = BeTree.empty(fanout=3, buffer_capacity=4, leaf_capacity=4)
    tree = tree.put_many([(k, k) for k in range(100)])
    tree.check()
    node = tree._root
    while hasattr(node, "children"):
        node = node.children[-1]
    node.keys.reverse()  # break sortedness of the last leaf (test-only mutation)
    with pytest.raises(ValueError, match="sorted"):
        tree.check()


# ---------------------------------------------------------------------------- hypothesis

KEYS = st.integers(min_value=0, max_value=40)
ROWS = st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9))


class BeTreeMachine(RuleBasedStateMachine):
    """Stateful test: every step mirrors one operation on a dict; old versions are kept."""

    @initialize(fanout=st.integers(2, 4), bcap=st.integers(1, 8), lcap=st.integers(1, 8))
    def init(self, fanout, bcap, lcap):
        self.tree = BeTree.empty(fanout=fanout, buffer_capacity=bcap, leaf_capacity=lcap)
        self.model: dict = {}
        self.history: list = []

    def remember(self):
        self.history.append((self.tree, dict(self.model)))

    @rule(key=KEYS, row=ROWS)
    def put(self, key, row):
        self.remember()
        self.tree = self.tree.put(key, row)
        self.model[key] = row

    @rule(key=KEYS)
    def delete(self, key):
        self.remember()
        self.tree = self.tree.delete(key)
        self.model.pop(key, None)

    @rule(key=KEYS, changes=st.dictionaries(st.integers(0, 4), st.integers(10, 19), max_size=3))
    def patch(self, key, changes):
        self.remember()
        self.tree = self.tree.patch(key, changes)
        model_patch(self.model, key, changes)

    @rule(items=st.lists(st.tuples(KEYS, ROWS), max_size=12))
    def put_many(self, items):
        self.remember()
        self.tree = self.tree.put_many(items)
        self.model.update(items)

    @rule(keys=st.lists(KEYS, max_size=12))
    def delete_many(self, keys):
        self.remember()
        self.tree = self.tree.delete_many(keys)
        for k in keys:
            self.model.pop(k, None)

    @rule(key=KEYS)
    def get(self, key):
        assert self.tree.get(key, "absent") == self.model.get(key, "absent")
        assert (key in self.tree) == (key in self.model)

    @rule(
        lo=st.none() | KEYS, hi=st.none() | KEYS, lo_inc=st.booleans(), hi_inc=st.booleans()
    )
    def range_items(self, lo, hi, lo_inc, hi_inc):
        assert self.tree.items(lo, hi, lo_inc, hi_inc) == model_items(
            self.model, lo, hi, lo_inc, hi_inc
        )

    @invariant()
    def matches_model(self):
        assert_matches(self.tree, self.model)

    def teardown(self):
        for old, snapshot in getattr(self, "history", []):
            assert old.items() == sorted(snapshot.items())


BeTreeMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestBeTreeStateful = BeTreeMachine.TestCase


TEXT_KEYS = st.text(alphabet="abcde", max_size=4)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), TEXT_KEYS, ROWS),
        st.tuples(st.just("delete"), TEXT_KEYS),
        st.tuples(st.just("patch"), TEXT_KEYS, st.dictionaries(st.integers(0, 3), st.integers())),
        st.tuples(st.just("put_many"), st.lists(st.tuples(TEXT_KEYS, ROWS), max_size=10)),
        st.tuples(st.just("delete_many"), st.lists(TEXT_KEYS, max_size=10)),
    ),
    max_size=120,
)


@given(
    ops=OPS,
    fanout=st.integers(2, 4),
    bcap=st.integers(1, 8),
    lcap=st.integers(1, 8),
    bounds=st.tuples(st.none() | TEXT_KEYS, st.none() | TEXT_KEYS, st.booleans(), st.booleans()),
)
@settings(max_examples=150, deadline=None)
def test_given_op_sequences_with_string_keys(ops, fanout, bcap, lcap, bounds):
    tree = BeTree.empty(fanout=fanout, buffer_capacity=bcap, leaf_capacity=lcap)
    model: dict = {}
    versions = []
    for op in ops:
        versions.append((tree, dict(model)))
        if op[0] == "put":
            tree = tree.put(op[1], op[2])
            model[op[1]] = op[2]
        elif op[0] == "delete":
            tree = tree.delete(op[1])
            model.pop(op[1], None)
        elif op[0] == "patch":
            tree = tree.patch(op[1], op[2])
            model_patch(model, op[1], op[2])
        elif op[0] == "put_many":
            tree = tree.put_many(op[1])
            model.update(op[1])
        else:
            tree = tree.delete_many(op[1])
            for k in op[1]:
                model.pop(k, None)
    assert_matches(tree, model)
    assert tree.items(*bounds) == model_items(model, *bounds)
    for k in {k for op in ops[:20] for k in ([op[1]] if isinstance(op[1], str) else [])}:
        assert tree.get(k, "absent") == model.get(k, "absent")
    for old, snapshot in versions[::10]:
        assert_matches(old, snapshot)


@pytest.mark.parametrize("seed", range(40))
def test_append_run_against_dict(seed):
    """Right-edge runs skip the buffers; interleaved with puts, deletes and tombstones past
    the end (which must refuse a run that reaches them), every version stays exact."""
    rng = random.Random(seed)
    tree = BeTree.empty(rng.choice([2, 3, 16]), rng.choice([1, 8, 256]), rng.choice([1, 5, 256]))
    model: dict = {}
    nxt = 0
    taken = 0
    for step in range(80):
        op = rng.random()
        if op < 0.5:
            start = nxt + rng.randint(-4, 4)
            keys = list(range(start, start + rng.randint(1, 40)))
            vals = [(k, step) for k in keys]
            before = tree
            grown = tree.append_run(keys, vals)
            if grown is None:  # not past every key, message or pivot: the general path
                grown = tree.put_many(list(zip(keys, vals, strict=True)))
            else:
                taken += 1
                assert keys[0] > max([*model, *_message_keys(before)], default=keys[0] - 1)
            tree = grown
            model.update(zip(keys, vals, strict=True))
            nxt = max(nxt, keys[-1] + 1)
        elif op < 0.65 and model:
            k = rng.choice(sorted(model))
            tree = tree.delete(k)
            del model[k]
        elif op < 0.8:
            k = nxt + rng.randint(0, 8)  # a tombstone past the last key
            tree = tree.delete(k)
            model.pop(k, None)
        else:
            k = rng.randint(-4, nxt + 4)
            tree = tree.put(k, ("put", k))
            model[k] = ("put", k)
        tree.check()
        assert dict(tree.items()) == model
    assert taken > 0
    assert tree.append_run([nxt + 100, nxt + 99], [1, 2]) is None  # not ascending


def _message_keys(tree):
    out = []

    def walk(node):
        if hasattr(node, "bufs"):
            for b in node.bufs:
                out.extend(b)
            for c in node.children:
                walk(c)

    walk(tree._root)
    return out
