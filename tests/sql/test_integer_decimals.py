"""Aggregations of decimals on unscaled int64s (``optimizer/integer_decimals.py``): the same
answers as the decimal plan (exactly, types included), the original run wherever the data's
bounds leave room for an int64 overflow (values, products, sums of many rows, rows added
after a plan was kept), and the premises: a decimal's low word and Arrow's cast to double."""

from __future__ import annotations

import importlib
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import optimizer
from kodiak_flight.sql.executor import integer_decimals as executed
from kodiak_flight.sql.expr import Call
from kodiak_flight.sql.session import Session

from .harness import check, duck_twin

N = 150_000  # more than two of the engine's batches
# (the package's name of the rule is its function)
rule = importlib.import_module("kodiak_flight.sql.optimizer.integer_decimals")


def prices(rng: np.random.Generator, n: int, lo: float, hi: float, nulls: int) -> pa.Array:
    v = [None if i % nulls == 0 else f"{x:.2f}" for i, x in enumerate(rng.uniform(lo, hi, n))]
    return pa.array(v, pa.string()).cast(pa.decimal128(15, 2))


@pytest.fixture(autouse=True)
def small_tables(monkeypatch):
    """Lowered however few rows are read (the tables here are small)."""
    monkeypatch.setattr(rule, "MIN_ROWS", 0)


@pytest.fixture
def duck(session):
    rng = np.random.default_rng(7)
    items = pa.table({
        "k": pa.array(rng.choice(["A", "N", "R"], N)),
        "s": pa.array(rng.choice(["F", "O"], N)),
        "o": pa.array(rng.integers(0, N // 10, N), pa.int64()),
        "price": prices(rng, N, -500, 100_000, 13),
        "disc": prices(rng, N, 0, 0.1, 17),
        "tax": prices(rng, N, 0, 0.08, 19),
        "qty": pa.array(rng.integers(1, 50, N), pa.int32()).cast(pa.decimal128(12, 0)),
        "w": pa.array(rng.integers(-10**6, 10**6, N), pa.int32()).cast(pa.decimal128(18, 4)),
        "day": pa.array(rng.integers(0, 3000, N), pa.int32()).cast(pa.date32()),
    })
    orders = pa.table({"o": pa.array(np.arange(N // 10), pa.int64()),
                       "p": pa.array(rng.choice(["1-URGENT", "2-HIGH", "3-LOW"], N // 10))})
    huge = pa.table({"k": pa.array(np.repeat(np.arange(100), 20), pa.int64()),
                     "d": pa.array([Decimal(9 * 10**17)] * 2000, pa.decimal128(18, 0)),
                     "m": pa.array([Decimal("123456789012.34")] * 2000,
                                   pa.decimal128(15, 2))})
    return duck_twin(session.db, {"items": items, "orders": orders, "huge": huge})


@pytest.fixture
def runs(monkeypatch):
    """Records, per IntegerDecimals run, whether its integer results were used ("lowered")
    or the original aggregation ran ("original")."""
    seen: list[str] = []
    real = executed.restored

    def spy(node, t):
        seen.append("lowered")
        return real(node, t)
    monkeypatch.setattr(executed, "restored", spy)
    real_run = executed.run_integer_decimals

    def run(ex, node):
        before = len(seen)
        out = real_run(ex, node)
        if len(seen) == before:
            seen.append("original")
        return out
    from kodiak_flight.sql.executor.core import OPERATORS
    from kodiak_flight.sql.plan import IntegerDecimals
    monkeypatch.setitem(OPERATORS, IntegerDecimals, run)
    return seen


def without_rule(db, sql: str, monkeypatch) -> pa.Table:
    """``sql``'s answer from a plan without the rule (a fresh session: no kept plan)."""
    with monkeypatch.context() as m:
        m.setattr(optimizer, "RULES", tuple(r for r in optimizer.RULES
                                            if r is not optimizer.integer_decimals))
        s = Session(db)
        try:
            return s.execute(sql).reader.read_all()
        finally:
            s.close()


Q1 = """select k, s, sum(qty) as sum_qty, sum(price) as sum_base,
       sum(price * (1 - disc)) as sum_disc, sum(price * (1 - disc) * (1 + tax)) as charge,
       avg(qty) as avg_qty, avg(price) as avg_price, avg(disc) as avg_disc,
       count(price) as n_price, count(*) as n
from items where day <= date '1977-06-01' group by k, s order by k, s"""

EXACT = [
    Q1,
    "select sum(price * disc) as r from items where disc between 0.05 and 0.07 and qty < 24",
    "select k, min(price - disc), max(price * qty), sum(-w), sum(w * 2.5), min(w) "
    "from items group by k order by k",
    "select s, sum(price * (1 - disc)) as rev from items "
    "where day > date '1975-01-01' and price < 5000 group by s order by s",
    "select x, sum(d) from (select k as x, price - disc as d from items where qty > 3) "
    "group by x order by x",
]

KEPT = [  # through a join; one integer key over plain columns (``runs`` folds those)
    "select p, sum(price * (1 - disc)) as rev from items join orders using (o) "
    "where day > date '1975-01-01' group by p order by p",
    "select o, sum(qty) from items group by o having sum(qty) > 250 order by o",
]


@pytest.mark.parametrize("sql", EXACT)
def test_answers_equal_the_decimal_plan(session, duck, runs, monkeypatch, sql):
    got = session.execute(sql).reader.read_all()
    assert "lowered" in runs
    want = without_rule(session.db, sql, monkeypatch)
    assert got.schema == want.schema
    for g, w in zip(got.columns, want.columns, strict=True):
        if pa.types.is_floating(g.type):  # doubles summed in another order
            assert np.allclose(g.to_numpy(zero_copy_only=False),
                               w.to_numpy(zero_copy_only=False), rtol=1e-12, equal_nan=True)
        else:
            assert g.to_pylist() == w.to_pylist()
    check(session, duck, sql)


@pytest.mark.parametrize("sql", KEPT)
def test_kept_decimal(session, duck, runs, sql):
    check(session, duck, sql)
    assert runs == []


def test_explained_and_analyzed(session, duck):
    plan = "\n".join(session.execute("explain " + Q1).reader.read_all().column(0).to_pylist())
    assert "IntegerDecimals" in plan and "Unscale" in plan
    analyzed = session.execute("explain analyze " + Q1).reader.read_all()
    assert analyzed.num_rows


def test_sums_past_int64_use_the_original(session, duck, runs):
    check(session, duck, "select k, sum(d - 1), min(d), count(*) from huge group by k")
    assert runs == ["original"]


def test_products_past_int64_use_the_original(session, duck, runs):
    """123456789012.34 squared is about 1.5e22 unscaled at scale 4: past int64."""
    check(session, duck, "select k, sum(m * m) from huge group by k order by k",
          duck_sql="select k, sum(cast(m as double) * cast(m as double)) from huge "
                   "group by k order by k")  # (DuckDB's DECIMAL(18) product overflows)
    assert runs == ["original"]


def test_one_large_group_is_checked_after(session, duck, runs, monkeypatch):
    """Estimates may promise small groups: the rows counted per group decide after."""
    monkeypatch.setattr(executed, "likely_past", lambda *a: False)
    check(session, duck, "select sum(d) from huge")
    assert runs == ["original"]


def test_a_kept_plan_sees_rows_added_later(session, duck, runs, monkeypatch):
    """The bounds are read at each execution, from the snapshot read, not at planning."""
    sql = "select k, sum(price * qty) from items group by k order by k"
    check(session, duck, sql)
    assert runs == ["lowered"]
    big = "insert into items (k, s, o, price, qty) values ('A', 'F', 1, 99999999.99, 5)"
    session.execute(big)
    duck.execute("create table items2 as select * from items")
    duck.execute("insert into items2 (k, s, o, price, qty) values "
                 "('A', 'F', 1, 99999999.99, 5)")
    check(session, duck, sql, duck_sql=sql.replace("items", "items2"))
    assert runs == ["lowered", "lowered"]  # 10^10 * 50 times 50 K rows: within int64
    session.execute("insert into items (k, s, o, price, qty) values "
                    "('A', 'F', 1, 99999999.99, 99999999999)")
    got = session.execute(sql).reader.read_all()
    assert runs == ["lowered", "lowered", "original"]
    assert got.equals(without_rule(session.db, sql, monkeypatch))
    assert got.column(1)[0].as_py() > 10**19  # (DuckDB's DECIMAL(18) product overflows)


def test_an_uncommitted_insert_counts(session, duck, runs):
    sql = "select sum(price * qty) from items"
    session.execute("begin")
    session.execute("insert into items (k, s, o, price, qty) "
                    "values ('A', 'F', 1, 9999999999999.99, 99999999999)")
    got = session.execute(sql).reader.read_all().column(0)[0].as_py()
    session.execute("rollback")
    want = duck.execute(f"{sql}").fetchone()[0] + \
        Decimal("9999999999999.99") * Decimal(99999999999)
    assert got == want
    assert runs == ["original"]


def test_low_words_are_the_unscaled_values():
    rng = np.random.default_rng(3)
    v = rng.integers(-10**18 + 1, 10**18, 10_000)
    arr = pa.array([Decimal(int(x)).scaleb(-6) for x in v], pa.decimal128(18, 6))
    arr = pa.concat_arrays([pa.nulls(3, arr.type), arr]).slice(2)
    out = executed.unscaled_array(arr, Call(rule.UNSCALED, (), None, pa.int64()))
    assert out.null_count == 1
    assert out.to_pylist()[1:] == v.tolist()
    back = executed.as_decimal(out, pa.decimal128(18, 6))
    assert back.to_pylist() == arr.to_pylist()


@pytest.mark.parametrize("scale", [0, 1, 2, 4, 6, 10])
def test_arrow_casts_a_decimal_to_double_as_the_twin_does(scale):
    """The premise of the double path: under 2**53, Arrow's decimal-to-double cast is the
    unscaled integer's double times 10**-scale (the twin's computation)."""
    rng = np.random.default_rng(scale)
    v = np.concatenate([rng.integers(-(1 << 53), 1 << 53, 200_000),
                        rng.integers(-10**6, 10**6, 10_000)])
    words = np.empty((len(v), 2), np.int64)
    words[:, 0], words[:, 1] = v, v >> 63
    dec = pa.Array.from_buffers(pa.decimal128(38, scale), len(v), [None, pa.py_buffer(words)])
    assert np.array_equal(dec.cast(pa.float64()).to_numpy(),
                          v.astype(np.float64) * 10.0 ** -scale)


def test_column_bounds(tmp_path):
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        with db.begin() as tx:
            tx.create_table("main.t", pa.schema([("a", pa.decimal128(10, 2))]))
            tx.insert("main.t", pa.table({"a": pa.array(
                [Decimal(i) / 4 for i in range(-40_000, 40_000)], pa.decimal128(10, 2))}))
        snap = db.snapshot()
        assert snap.column_bounds("main.t", "a") == (Decimal(-10000), Decimal("9999.75"))
        with db.begin() as tx:
            tx.insert("main.t", [(Decimal("123456.78"),)])
            tx.add_column("main.t", pa.field("b", pa.int64()), default=-7)
            tx.add_column("main.t", pa.field("c", pa.int64()))
        snap = db.snapshot()
        assert snap.column_bounds("main.t", "a") == (Decimal(-10000), Decimal("123456.78"))
        assert snap.column_bounds("main.t", "b") == (-7, -7)
        assert snap.column_bounds("main.t", "c") == (None, None)
    finally:
        db.close()


@pytest.mark.parametrize("odd", ["AB", None, "", "é"])
def test_keys_not_one_byte_after_all_use_the_original(session, runs, monkeypatch, odd):
    """The sample decides whether a key is coded; each batch is checked as it is coded, and
    a value of another length (or a NULL) sends the work to the original aggregation."""
    from kodiak_flight.sql import stats
    monkeypatch.setattr(stats.TableStats, "single_bytes", lambda self, column: True)
    keys = ["A", "B"] * (N // 2)
    keys[N - 7] = odd
    t = pa.table({"k": pa.array(keys, pa.string()),
                  "v": pa.array(range(N), pa.int32()).cast(pa.decimal128(12, 2))})
    duck = duck_twin(session.db, {"flags": t})
    sql = "select k, sum(v * 2) as s, count(*) as n from flags group by k order by k"
    check(session, duck, sql)
    assert runs == ["original"]
    got = session.execute("select k, count(*) as n from flags where v >= 0 group by k"
                          ).reader.read_all()
    assert sorted(got.column("n").to_pylist()) == [1, N // 2 - 1, N // 2]


def test_one_byte_codes():
    arr = pa.array(["x", "A", "B", "é", "C", "D"], pa.string())
    for a in (arr.slice(4), arr.slice(0, 3), arr.cast(pa.large_string()).slice(4)):
        codes = executed.byte_codes(a)
        assert codes.type == pa.uint8() and codes.to_pylist() == [ord(v) for v in a.to_pylist()]
        assert executed.strings_of(codes, a.type).equals(a)
    for bad in (arr, arr.slice(3), pa.array(["A", None]), pa.array(["A", ""])):
        with pytest.raises(executed.NotByteCoded):
            executed.byte_codes(bad)
    assert executed.byte_codes(arr.slice(6)).to_pylist() == []


def test_zeros_and_empty_tables_are_lowered(session, runs, monkeypatch):
    """A bound of zero (all values 0, or no rows) is a bound, not an unknown one."""
    monkeypatch.setattr(executed, "likely_past", lambda *a: False)
    session.execute("create table z (k varchar, d decimal(10, 2))")
    session.execute("insert into z select 'a', 0.00 from range(1000)")
    got = session.execute("select k, sum(d * d) as s from z group by k").reader.read_all()
    assert got.to_pylist() == [{"k": "a", "s": Decimal("0.0000")}]
    session.execute("create table e (k varchar, d decimal(10, 2))")
    got = session.execute("select k, sum(d * 2) as s from e group by k").reader.read_all()
    assert got.num_rows == 0
    assert runs == ["lowered", "lowered"]
