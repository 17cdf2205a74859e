"""Model-based tests for engine.btree: every result is compared with a dict + sorted list."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_left, bisect_right

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.btree import BPlusTree, DuplicateKeyError

SMALL_ORDERS = (3, 4, 5, 16)


def model_range(model: dict, lo, hi, lo_inc: bool, hi_inc: bool) -> list:
    keys = sorted(model)
    start = 0 if lo is None else (bisect_left(keys, lo) if lo_inc else bisect_right(keys, lo))
    end = len(keys) if hi is None else (bisect_right(keys, hi) if hi_inc else bisect_left(keys, hi))
    return [(k, model[k]) for k in keys[start : max(start, end)]]


def assert_matches(tree: BPlusTree, model: dict) -> None:
    tree.check()
    assert len(tree) == len(model)
    expected = sorted(model.items())
    assert list(tree.items()) == expected
    assert tree.keys() == [k for k, _ in expected]
    assert tree.values() == [v for _, v in expected]
    assert list(tree) == [k for k, _ in expected]
    if model:
        assert tree.min_key() == expected[0][0]
        assert tree.max_key() == expected[-1][0]


def assert_range(tree: BPlusTree, model: dict, lo, hi, lo_inc: bool, hi_inc: bool) -> None:
    expected = model_range(model, lo, hi, lo_inc, hi_inc)
    args = (lo, hi, lo_inc, hi_inc)
    assert list(tree.items(*args)) == expected
    assert tree.keys(*args) == [k for k, _ in expected]
    assert tree.values(*args) == [v for _, v in expected]
    assert tree.count_range(*args) == len(expected)


# ------------------------------------------------------------------------------------------
# (1) long random operation sequences against a model, with small orders


@pytest.mark.parametrize("order", SMALL_ORDERS)
@pytest.mark.parametrize("seed", [1, 2])
def test_random_operations_match_model(order: int, seed: int) -> None:
    rng = random.Random(order * 1000 + seed)
    key_space = 600
    tree = BPlusTree.empty(order)
    model: dict = {}

    def rkey() -> int:
        return rng.randrange(key_space)

    for step in range(2500):
        op = rng.random()
        k = rkey()
        if op < 0.22:
            if k in model:
                with pytest.raises(DuplicateKeyError) as info:
                    tree.insert(k, step)
                assert info.value.key == k
            else:
                tree = tree.insert(k, step)
                model[k] = step
        elif op < 0.40:
            tree = tree.put(k, step)
            model[k] = step
        elif op < 0.55:
            if k in model:
                tree = tree.delete(k)
                del model[k]
            else:
                with pytest.raises(KeyError):
                    tree.delete(k)
        elif op < 0.65:
            new = tree.discard(k)
            if k not in model:
                assert new is tree
            model.pop(k, None)
            tree = new
        elif op < 0.72:
            # Batches big enough to split or empty many leaves at once; duplicates included.
            dense = rng.random() < 0.3
            n_del = rng.randrange(key_space if dense else 60)
            deletes = [rkey() for _ in range(n_del)]
            puts = [(rkey(), (step, i)) for i in range(rng.randrange(150))]
            tree = tree.update_many(puts, deletes)
            for d in deletes:
                model.pop(d, None)
            model.update(puts)  # last put of a key wins, as in the tree
        elif op < 0.80:
            probes = [rkey() for _ in range(rng.randrange(40))] + [None]
            rng.shuffle(probes)
            assert tree.get_many(probes) == [model.get(p) for p in probes]
        elif op < 0.90:
            lo = rng.choice([None, rkey()])
            hi = rng.choice([None, rkey()])
            assert_range(tree, model, lo, hi, rng.random() < 0.5, rng.random() < 0.5)
        else:
            assert tree.get(k) == model.get(k)
            assert tree.get(k, "missing") == model.get(k, "missing")
            assert (k in tree) == (k in model)
        if step % 25 == 0:
            assert_matches(tree, model)
    assert_matches(tree, model)


@pytest.mark.parametrize("order", SMALL_ORDERS)
def test_update_many_mass_deletes_rebalance(order: int) -> None:
    """Deleting most of a tree in one batch leaves single-child chains that must be repaired."""
    rng = random.Random(order)
    n = 3000
    base = BPlusTree.bulk_load(list(range(n)), [k * 10 for k in range(n)], order)
    base.check()
    patterns = [
        set(rng.sample(range(n), 1)),
        set(rng.sample(range(n), 7)),
        set(rng.sample(range(n), n // 100)),
        set(range(0, n, 97)),
        set(range(1500, 1510)),
        set(range(0, 5)) | set(range(n - 5, n)),
        set(rng.sample(range(n), n // 2)),
        set(),
    ]
    for survivors in patterns:
        tree = base.update_many(deletes=[k for k in range(n) if k not in survivors])
        assert_matches(tree, {k: k * 10 for k in survivors})
        # and back again, from a sparse tree to a dense one
        grown = tree.update_many(puts=[(k, -k) for k in range(n) if k not in survivors])
        assert_matches(grown, {k: (k * 10 if k in survivors else -k) for k in range(n)})
    assert_matches(base, {k: k * 10 for k in range(n)})


def test_update_many_equals_put_loop_and_is_one_pass() -> None:
    rng = random.Random(7)
    base = BPlusTree.bulk_load(list(range(0, 20000, 2)), list(range(10000)), order=32)
    puts = [(rng.randrange(25000), i) for i in range(5000)]
    deletes = rng.sample(range(0, 20000, 2), 2000)
    looped = base
    for k in deletes:
        looped = looped.discard(k)
    for k, v in puts:
        looped = looped.put(k, v)
    batched = base.update_many(puts, deletes)
    batched.check()
    assert list(batched.items()) == list(looped.items())


def test_update_many_semantics() -> None:
    tree = BPlusTree.bulk_load([1, 2, 3], ["a", "b", "c"], order=4)
    # a key both deleted and put ends up put; the last put wins; absent deletes are ignored
    new = tree.update_many(puts=[(2, "x"), (4, "d"), (2, "y")], deletes=[2, 3, 99])
    assert list(new.items()) == [(1, "a"), (2, "y"), (4, "d")]
    assert tree.update_many() is tree
    assert tree.update_many(deletes=[42, 43]) is tree
    with pytest.raises(ValueError):
        tree.update_many(puts=[(None, 1)])
    assert tree.update_many(deletes=[None]) is tree
    emptied = tree.update_many(deletes=[1, 2, 3])
    assert len(emptied) == 0 and list(emptied.items()) == []
    emptied.check()
    # unhashable (but ordered) keys take the sort-based path
    lists = BPlusTree.empty(4).update_many(puts=[([2], "b"), ([1], "a"), ([2], "c")])
    assert list(lists.items()) == [([1], "a"), ([2], "c")]


# ------------------------------------------------------------------------------------------
# (2) hypothesis: a stateful machine and a one-shot @given batch test


class TreeMachine(RuleBasedStateMachine):
    """Drives one tree with random operations and keeps every version for persistence."""

    def __init__(self) -> None:
        super().__init__()
        self.tree = BPlusTree.empty(4)
        self.model: dict = {}
        self.versions: list = []

    keys = st.integers(0, 80)

    @initialize(order=st.sampled_from([3, 4, 5, 8]), n=st.integers(0, 120))
    def start(self, order: int, n: int) -> None:
        keys = list(range(0, 2 * n, 2))
        self.tree = BPlusTree.bulk_load(keys, keys, order)
        self.model = dict(zip(keys, keys, strict=True))

    def commit(self, tree: BPlusTree) -> None:
        # called before the model changes: remember the old version with its contents
        self.versions.append((self.tree, dict(self.model)))
        self.tree = tree

    @rule(k=keys, v=st.integers())
    def insert(self, k: int, v: int) -> None:
        if k in self.model:
            with pytest.raises(DuplicateKeyError):
                self.tree.insert(k, v)
            return
        self.commit(self.tree.insert(k, v))
        self.model[k] = v

    @rule(k=keys, v=st.integers())
    def put(self, k: int, v: int) -> None:
        self.commit(self.tree.put(k, v))
        self.model[k] = v

    @rule(k=keys)
    def delete(self, k: int) -> None:
        if k not in self.model:
            with pytest.raises(KeyError):
                self.tree.delete(k)
            return
        self.commit(self.tree.delete(k))
        del self.model[k]

    @rule(k=keys)
    def discard(self, k: int) -> None:
        self.commit(self.tree.discard(k))
        self.model.pop(k, None)

    @rule(
        puts=st.lists(st.tuples(st.integers(0, 300), st.integers()), max_size=80),
        deletes=st.lists(st.integers(0, 300), max_size=200),
    )
    def update_many(self, puts: list, deletes: list) -> None:
        self.commit(self.tree.update_many(puts, deletes))
        for d in deletes:
            self.model.pop(d, None)
        self.model.update(puts)

    @rule(probes=st.lists(st.integers(-5, 310), max_size=30))
    def get_many(self, probes: list) -> None:
        assert self.tree.get_many(probes) == [self.model.get(p) for p in probes]

    @rule(
        lo=st.none() | st.integers(-5, 310),
        hi=st.none() | st.integers(-5, 310),
        lo_inc=st.booleans(),
        hi_inc=st.booleans(),
    )
    def range_query(self, lo, hi, lo_inc: bool, hi_inc: bool) -> None:
        assert_range(self.tree, self.model, lo, hi, lo_inc, hi_inc)

    @invariant()
    def matches_model(self) -> None:
        assert_matches(self.tree, self.model)

    def teardown(self) -> None:
        for tree, snapshot in self.versions:
            assert list(tree.items()) == sorted(snapshot.items())
            tree.check()


TestTreeMachine = TreeMachine.TestCase
TestTreeMachine.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(max_examples=80, deadline=None)
@given(
    order=st.sampled_from([3, 4, 6]),
    initial=st.sets(st.integers(-200, 200), max_size=150),
    puts=st.lists(st.tuples(st.integers(-250, 250), st.text(max_size=2)), max_size=100),
    deletes=st.lists(st.integers(-250, 250), max_size=150),
)
def test_given_batch_matches_model(order: int, initial: set, puts: list, deletes: list) -> None:
    keys = sorted(initial)
    tree = BPlusTree.bulk_load(keys, [str(k) for k in keys], order)
    model = {k: str(k) for k in keys}
    new = tree.update_many(puts, deletes)
    for d in deletes:
        model.pop(d, None)
    model.update(puts)
    assert_matches(new, model)
    assert_matches(tree, {k: str(k) for k in keys})  # the old version is untouched


# ------------------------------------------------------------------------------------------
# (3) persistence: every old version keeps its contents and its shared structure


@pytest.mark.parametrize("order", [3, 4, 16])
def test_old_versions_are_frozen_snapshots(order: int) -> None:
    rng = random.Random(order)
    tree = BPlusTree.empty(order)
    model: dict = {}
    history = [(tree, {})]
    for step in range(600):
        k = rng.randrange(300)
        r = rng.random()
        if r < 0.5:
            tree = tree.put(k, step)
            model[k] = step
        elif r < 0.8:
            tree = tree.discard(k)
            model.pop(k, None)
        else:
            puts = [(rng.randrange(300), step) for _ in range(rng.randrange(30))]
            deletes = [rng.randrange(300) for _ in range(rng.randrange(30))]
            tree = tree.update_many(puts, deletes)
            for d in deletes:
                model.pop(d, None)
            model.update(puts)
        history.append((tree, dict(model)))
    for old, snapshot in history:
        assert_matches(old, snapshot)


def _leaves(tree: BPlusTree) -> list:
    nodes = [tree._root]
    for _ in range(tree.height):
        nodes = [kid for node in nodes for kid in node.kids]
    return nodes


def test_mutations_share_untouched_nodes() -> None:
    tree = BPlusTree.bulk_load(list(range(10000)), list(range(10000)), order=16)
    before = {id(leaf) for leaf in _leaves(tree)}
    for new in (
        tree.put(5000, "x"),
        tree.put(5000.5, "y"),
        tree.delete(5000),
        tree.update_many([(3, "a"), (9000, "b")], [4000]),
    ):
        new.check()
        after = _leaves(new)
        fresh = [leaf for leaf in after if id(leaf) not in before]
        assert 1 <= len(fresh) <= 6, len(fresh)
    assert tree.get(5000) == 5000 and len(tree) == 10000


# ------------------------------------------------------------------------------------------
# (4) bulk_load


@pytest.mark.parametrize("order", [3, 4, 5, 16, 256])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 16, 17, 100, 1000])
def test_bulk_load_shapes(order: int, n: int) -> None:
    keys = [k * 3 for k in range(n)]
    tree = BPlusTree.bulk_load(keys, [-k for k in keys], order)
    assert_matches(tree, {k: -k for k in keys})
    assert tree.order == order


def test_bulk_load_rejects_unsorted_and_duplicates() -> None:
    with pytest.raises(
        ValueError, match=r"strictly ascending: keys\[3\]=2 is less than keys\[2\]=5"
    ):
        BPlusTree.bulk_load([1, 3, 5, 2, 7], range(5))
    with pytest.raises(ValueError, match=r"keys\[2\]=3 duplicates keys\[1\]=3"):
        BPlusTree.bulk_load([1, 3, 3, 4], range(4))
    with pytest.raises(ValueError, match=r"3 keys but 2 values"):
        BPlusTree.bulk_load([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"None \(position 1\)"):
        BPlusTree.bulk_load([1, None, 3], range(3))
    with pytest.raises(ValueError, match=r"None \(position 0\)"):
        BPlusTree.bulk_load([None], [1])


def test_bulk_load_accepts_tuples_and_ranges() -> None:
    tree = BPlusTree.bulk_load(range(100), tuple(range(100)), order=8)
    assert tree.get(42) == 42 and len(tree) == 100
    tree.check()


# ------------------------------------------------------------------------------------------
# (5) composite tuple keys, string keys, other key types


def test_composite_tuple_keys_and_prefix_ranges() -> None:
    rng = random.Random(5)
    model = {}
    tree = BPlusTree.empty(5)
    for i in range(1500):
        key = (rng.randrange(20), rng.choice("abcdefgh"), rng.randrange(10))
        tree = tree.put(key, i)
        model[key] = i
    # shorter tuples sort before their extensions, exactly as Python orders them
    tree = tree.put((7,), "prefix-only").put((7, "c"), "two-part")
    model[(7,)] = "prefix-only"
    model[(7, "c")] = "two-part"
    assert_matches(tree, model)
    for v in range(20):
        expected = sorted((k, val) for k, val in model.items() if k[0] == v)
        assert list(tree.items(lo=(v,), hi=(v + 1,), hi_inclusive=False)) == expected
        assert tree.count_range((v,), (v + 1,), hi_inclusive=False) == len(expected)
    # two-column prefix, bounded above by the next value of the second column
    expected = sorted((k, val) for k, val in model.items() if k[:2] == (7, "c"))
    assert tree.values((7, "c"), (7, "d"), hi_inclusive=False) == [v for _, v in expected]
    assert tree.get((7,)) == "prefix-only"
    assert tree.get_many([(7,), (99,), (7, "c")]) == ["prefix-only", None, "two-part"]


def test_string_keys() -> None:
    rng = random.Random(11)
    words = {"".join(rng.choice("abcxyzé") for _ in range(rng.randrange(0, 6))) for _ in range(800)}
    ordered = sorted(words)
    tree = BPlusTree.bulk_load(ordered, list(range(len(ordered))), order=4)
    model = dict(zip(ordered, range(len(ordered)), strict=True))
    assert_matches(tree, model)
    tree = tree.update_many([("zz", -1), ("", -2)], deletes=ordered[::3])
    for w in ordered[::3]:
        del model[w]
    model.update({"zz": -1, "": -2})
    assert_matches(tree, model)
    for lo, hi in [("a", "b"), ("b", "c"), ("x", None), (None, "ab"), ("é", "é")]:
        for lo_inc in (True, False):
            for hi_inc in (True, False):
                assert_range(tree, model, lo, hi, lo_inc, hi_inc)


def test_float_and_date_keys() -> None:
    floats = BPlusTree.empty(4).update_many([(0.5, "h"), (-1.25, "n"), (3.0, "t")])
    assert floats.keys() == [-1.25, 0.5, 3.0]
    assert floats.get(3) == "t"  # 3 == 3.0, as in Python
    day = dt.date(2024, 1, 1)
    dates = BPlusTree.bulk_load([day + dt.timedelta(d) for d in range(400)], range(400), order=8)
    assert dates.count_range(dt.date(2024, 2, 1), dt.date(2024, 3, 1), hi_inclusive=False) == 29


# ------------------------------------------------------------------------------------------
# edge cases and errors


def test_empty_tree_and_errors() -> None:
    tree = BPlusTree.empty()
    assert len(tree) == 0 and tree.order == 256 and tree.height == 0
    tree.check()
    with pytest.raises(ValueError):
        tree.min_key()
    with pytest.raises(ValueError):
        tree.max_key()
    with pytest.raises(KeyError):
        tree.delete(1)
    assert tree.discard(1) is tree
    assert tree.get(1, "d") == "d" and tree.get_many([1, 2]) == [None, None]
    assert list(tree.items()) == [] and tree.values() == [] and tree.count_range(0, 9) == 0
    with pytest.raises(ValueError):
        tree.put(None, 1)
    with pytest.raises(ValueError):
        tree.insert(None, 1)
    assert tree.get(None) is None and None not in tree and tree.discard(None) is tree
    with pytest.raises(KeyError):
        tree.delete(None)
    for bad in (0, 2, 2.5, "8"):
        with pytest.raises(ValueError):
            BPlusTree.empty(bad)


def test_duplicate_key_error() -> None:
    tree = BPlusTree.empty(4).insert((1, "a"), 10)
    with pytest.raises(DuplicateKeyError) as info:
        tree.insert((1, "a"), 11)
    assert isinstance(info.value, KeyError)
    assert info.value.key == (1, "a")
    assert "duplicate key (1, 'a')" in str(info.value)
    assert tree.put((1, "a"), 11).get((1, "a")) == 11 and tree.get((1, "a")) == 10


def test_ranges_with_empty_or_inverted_bounds() -> None:
    tree = BPlusTree.bulk_load(list(range(0, 100, 2)), list(range(50)), order=4)
    model = dict(zip(range(0, 100, 2), range(50), strict=True))
    for lo, hi in [(10, 10), (11, 11), (20, 10), (-5, -1), (200, 300), (99, 100), (-1, 0)]:
        for lo_inc in (True, False):
            for hi_inc in (True, False):
                assert_range(tree, model, lo, hi, lo_inc, hi_inc)


def test_check_detects_corruption() -> None:
    tree = BPlusTree.bulk_load(list(range(100)), list(range(100)), order=4)
    leaves = _leaves(tree)
    leaves[3].keys[0], leaves[3].keys[1] = leaves[3].keys[1], leaves[3].keys[0]
    with pytest.raises(ValueError, match="invariant violated"):
        tree.check()
    tree = BPlusTree.bulk_load(list(range(100)), list(range(100)), order=4)
    tree._size += 1
    with pytest.raises(ValueError, match="len"):
        tree.check()
    tree = BPlusTree.bulk_load(list(range(100)), list(range(100)), order=4)
    _leaves(tree)[5].keys.pop()
    with pytest.raises(ValueError, match="invariant violated"):
        tree.check()


@pytest.mark.parametrize("order", [3, 4, 8, 256])
def test_append_run_matches_update_many(order: int) -> None:
    rng = random.Random(order)
    tree = BPlusTree.empty(order)
    model: dict = {}
    nxt = 0
    for _ in range(150):
        if rng.random() < 0.6:
            start = nxt + rng.randint(-3, 3)
            keys = list(range(start, start + rng.randint(1, 3 * order)))
            grown = tree.append_run(keys, [k * 2 for k in keys])
            if grown is None:
                assert model and keys[0] <= max(model)
                grown = tree.update_many(puts=[(k, k * 2) for k in keys])
            else:
                assert not model or keys[0] > max(model)
            tree = grown
            model.update((k, k * 2) for k in keys)
            nxt = max(nxt, keys[-1] + 1)
        elif model:
            k = rng.choice(sorted(model))
            tree = tree.delete(k)
            del model[k]
        tree.check()
        assert dict(tree.items()) == model and len(tree) == len(model)
    assert tree.append_run([nxt + 5, nxt + 5], [1, 1]) is None  # not strictly ascending
