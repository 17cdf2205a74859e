"""A scan's filter comparing integer-valued columns (integers, dates, decimals of precision
<= 18) with constants runs as numpy integer comparisons (``executor/int_tests.py``).

Checked two ways: the rows ``filter_project.kept_rows`` keeps against Arrow's own Kleene
filter of the same expression over many constants, operators, NULLs and sliced arrays; and
whole queries against DuckDB over tables big enough that the scan's filter runs on batches.
"""

from __future__ import annotations

import datetime
import operator
from decimal import Decimal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kodiak_flight.sql.executor import filter_project as fp
from kodiak_flight.sql.executor import int_tests as it
from kodiak_flight.sql.executor.kernels import evaluate
from kodiak_flight.sql.expr import Call, Col, Lit, cast

from .harness import check

OPS = ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"]


def decimals(rng: np.random.Generator, n: int, p: int, s: int) -> pa.Array:
    """Values of decimal(p, s) spread over its whole range, with NULLs and the extremes
    (``pa.array`` refuses a value over the precision, which ``int_tests`` relies on)."""
    top = 10**p - 1
    vals = [int(v) for v in rng.integers(-top, top, n, dtype=np.int64, endpoint=True)] \
        if p <= 18 else [int(v) * 10**(p - 18) for v in rng.integers(-10**18, 10**18, n)]
    vals[:6] = [top, -top, 0, 1, -1, 2400]
    small = rng.integers(-3000, 3000, n // 2)
    vals[6:6 + len(small)] = [int(v) for v in small]  # many near the constants below
    vals = [min(max(v, -top), top) for v in vals]
    out = [None if k % 11 == 3 else Decimal(v).scaleb(-s) for k, v in enumerate(vals)]
    return pa.array(out, pa.decimal128(p, s))


def constants(s: int) -> list[Decimal]:
    q = Decimal(1).scaleb(-s)
    return [Decimal("24"), Decimal("24.005"), Decimal("-24.005"), Decimal("0"), -q, q,
            Decimal("23.999"), Decimal("24.00"), Decimal("1e30"), Decimal("-1e30"),
            Decimal("0.05"), Decimal("0.0500001"), Decimal("-0.5")]


def lit_of(k: Decimal) -> Lit:
    """``k`` as the binder types a decimal constant: just wide enough."""
    sign, digits, exp = k.as_tuple()
    scale = max(-exp, 0)
    return Lit(k, pa.decimal128(max(len(digits) + exp, 0) + scale or 1, scale))


def kept(batch: pa.RecordBatch, cond: Call) -> list[int]:
    """Row positions ``kept_rows`` keeps."""
    plan = fp.steps([cond], batch.schema)
    assert not any(isinstance(s, Call) for s in plan), plan  # the test is this module's
    rows = fp.kept_rows(batch, plan)
    return list(range(batch.num_rows)) if rows is None else [int(r) for r in rows]


def arrow_kept(batch: pa.RecordBatch, cond: Call) -> list[int]:
    """Row positions Arrow's own kernels keep (Kleene: NULL is not kept)."""
    m = evaluate(pa.Table.from_batches([batch]), cond)
    return [k for k, v in enumerate(m.to_pylist()) if v]


PY_OPS = {"less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
          "greater_equal": operator.ge, "equal": operator.eq, "not_equal": operator.ne}


def python_kept(a: pa.Array, op: str, k: object, flipped: bool) -> list[int]:
    """Row positions where ``a op k`` (``k op a`` when flipped) holds, in Python's exact
    arithmetic; NULL is not kept."""
    f = PY_OPS[op]
    return [i for i, v in enumerate(a.to_pylist())
            if v is not None and (f(k, v) if flipped else f(v, k))]


@pytest.mark.parametrize("p,s", [(15, 2), (18, 4), (18, 0), (3, 2), (9, 9)])
def test_decimal_comparisons_match_arrow(p, s):
    rng = np.random.default_rng(p * 100 + s)
    a = decimals(rng, 3000, p, s).slice(7)  # an offset into the buffers
    b = pa.record_batch([a], names=["c"])
    c = Col("c", a.type)
    for k in constants(s):
        lit = lit_of(k)
        for op in OPS:
            assert kept(b, Call(op, (c, lit), None, pa.bool_())) == \
                python_kept(a, op, k, False), (p, s, k, op)
            assert kept(b, Call(op, (lit, c), None, pa.bool_())) == \
                python_kept(a, op, k, True), (p, s, k, op)


def test_between_and_or_trees_match_arrow():
    rng = np.random.default_rng(3)
    a = decimals(rng, 5000, 15, 2)
    q = decimals(rng, 5000, 15, 2).slice(1)
    b = pa.record_batch([a.slice(0, len(q)), q], names=["a", "q"])
    A, Q = Col("a", a.type), Col("q", q.type)

    def cmp(op, col, v):
        return Call(op, (col, lit_of(Decimal(v))), None, pa.bool_())

    def both(fn, x, y):
        return Call(fn, (x, y), None, pa.bool_())

    rng_a = both("and_kleene", cmp("greater_equal", A, "-5.00"), cmp("less_equal", A, "7.00"))
    trees = [rng_a,
             both("or_kleene", rng_a, cmp("less", Q, "-24.005")),
             both("and_kleene", both("or_kleene", cmp("equal", A, "0.01"),
                                     cmp("not_equal", Q, "3.00")), cmp("greater", A, "-1")),
             both("and_kleene", cmp("greater", A, "3"), cmp("less", A, "-3"))]
    for t in trees:
        assert kept(b, t) == arrow_kept(b, t), t


def test_integers_and_dates_match_arrow():
    rng = np.random.default_rng(5)
    n = 4000
    for ty, np_t in ((pa.int8(), np.int8), (pa.int32(), np.int32), (pa.int64(), np.int64)):
        info = np.iinfo(np_t)
        vals = rng.integers(info.min, info.max, n, dtype=np_t, endpoint=True).tolist()
        vals[:4] = [int(info.min), int(info.max), 0, -1]
        a = pa.array([None if k % 7 == 2 else v for k, v in enumerate(vals)], ty).slice(3)
        b = pa.record_batch([a], names=["c"])
        for k in (0, -1, 5, int(info.min), int(info.max), int(info.max) - 1, 10**30, -10**30):
            for op in OPS:
                cond = Call(op, (Col("c", ty), Lit(k, pa.int64())), None, pa.bool_())
                assert kept(b, cond) == python_kept(a, op, k, False), (ty, k, op)
    days = pa.array([None if k % 5 == 0 else int(d) for k, d in
                     enumerate(rng.integers(8000, 10000, n))], pa.int32()).cast(pa.date32())
    b = pa.record_batch([days], names=["d"])
    for d in (datetime.date(1994, 1, 1), datetime.date(1995, 1, 1), datetime.date(1900, 1, 1)):
        for op in OPS:
            cond = Call(op, (Col("d", pa.date32()), Lit(d, pa.date32())), None, pa.bool_())
            assert kept(b, cond) == arrow_kept(b, cond) == python_kept(days, op, d, False)


def test_column_pairs_match_arrow():
    """Two columns of one integer-valued type compared (``Pair``): ints, dates, decimals,
    NULLs on either side, a sliced batch, inside an AND/OR tree and on kept rows only."""
    rng = np.random.default_rng(9)
    n = 3000

    def nulls(a: pa.Array, every: int) -> pa.Array:
        return pa.array([None if k % every == 1 else v for k, v in enumerate(a.to_pylist())],
                        a.type)
    cases = [pa.array(rng.integers(-5, 5, n), pa.int64()),
             pa.array(rng.integers(8000, 8010, n), pa.int32()).cast(pa.date32()),
             decimals(rng, n, 15, 2)]
    for a in cases:
        x = nulls(a, 7).slice(2)
        y = nulls(pa.array(rng.permutation(a.to_pylist()), a.type), 5).slice(1, len(x))
        b = pa.record_batch([x, y], names=["x", "y"])
        X, Y = Col("x", a.type), Col("y", a.type)
        for op in OPS:
            cond = Call(op, (X, Y), None, pa.bool_())
            assert isinstance(it.compile_test(cond), it.Pair)
            assert kept(b, cond) == arrow_kept(b, cond), (a.type, op)
        tree = Call("or_kleene", (Call("less", (X, Y), None, pa.bool_()),
                                  Call("equal", (Y, X), None, pa.bool_())), None, pa.bool_())
        assert kept(b, tree) == arrow_kept(b, tree)
        first = Call("less", (X, Y), None, pa.bool_())
        rows = np.flatnonzero(rng.random(len(x)) < 0.05)  # the kept-rows path
        got = rows[it.run_test(it.compile_test(first), b, rows)]
        assert set(got.tolist()) == set(arrow_kept(b, first)) & set(rows.tolist())
    # other types, or two different ones, are Arrow's
    i32, i64 = Col("x", pa.int32()), Col("y", pa.int64())
    assert it.compile_test(Call("less", (i32, i64), None, pa.bool_())) is None
    f = Col("x", pa.float64())
    assert it.compile_test(Call("less", (f, Col("y", pa.float64())), None, pa.bool_())) is None
    d = Col("x", pa.decimal128(15, 2))
    assert it.compile_test(Call("less", (d, Col("y", pa.decimal128(15, 3))), None,
                                pa.bool_())) is None


def test_what_is_left_to_arrow():
    d19 = Col("c", pa.decimal128(19, 2))
    d15 = Col("c", pa.decimal128(15, 2))
    lit = lit_of(Decimal("1.5"))
    assert it.compile_test(Call("less", (d19, lit), None, pa.bool_())) is None
    assert it.compile_test(Call("less", (Col("c", pa.decimal256(15, 2)), lit), None,
                                pa.bool_())) is None
    assert it.compile_test(Call("less", (d15, Lit(1.5, pa.float64())), None,
                                pa.bool_())) is None
    assert it.compile_test(Call("less", (d15, Lit(None, pa.decimal128(2, 1))), None,
                                pa.bool_())) is None
    # a narrowing cast truncates (or fails): not an exact comparison of the column
    narrowed = cast(d15, pa.decimal128(10, 1))
    assert it.compile_test(Call("less", (narrowed, lit), None, pa.bool_())) is None
    assert it.compile_test(Call("less", (cast(d15, pa.decimal128(16, 3)), lit), None,
                                pa.bool_())) is not None
    # NOT flips NULL to NULL, not to true: left to Arrow
    inner = Call("less", (d15, lit), None, pa.bool_())
    assert it.compile_test(Call("invert", (inner,), None, pa.bool_())) is None
    # the batch's column must be the type the test was made for
    t = it.compile_test(inner)
    assert t is not None
    assert not it.fits(t, pa.schema([pa.field("c", pa.decimal128(19, 2))]))
    assert not it.fits(t, pa.schema([pa.field("c", pa.decimal128(15, 3))]))
    assert it.fits(t, pa.schema([pa.field("c", pa.decimal128(15, 2))]))


N = 60_000


@pytest.fixture
def duck(session):
    rng = np.random.default_rng(11)
    t = pa.table({
        "k": pa.array(range(N), pa.int64()),
        "d": pa.array(rng.integers(8000, 10600, N), pa.int32()).cast(pa.date32()),
        "q": pa.array([None if i % 97 == 5 else Decimal(int(v)).scaleb(-2)
                       for i, v in enumerate(rng.integers(-5000, 5000, N))],
                      pa.decimal128(15, 2)),
        "disc": pa.array([Decimal(int(v)).scaleb(-2) for v in rng.integers(0, 11, N)],
                         pa.decimal128(15, 2)),
        "w": pa.array([Decimal(int(v)).scaleb(-2) for v in rng.integers(-10**6, 10**6, N)],
                      pa.decimal128(19, 2)),
        "m": [["MAIL", "SHIP", "AIR", "RAIL", "TRUCK", "FOB", "REG AIR"][v]
              for v in rng.integers(0, 7, N)],
        "big": pa.array([Decimal(int(v)).scaleb(-4) for v in rng.integers(-10**17, 10**17, N)],
                        pa.decimal128(18, 4)),
    })
    shift = rng.integers(-30, 30, N)
    t = t.append_column("d2", pa.array([None if i % 89 == 3 else int(v) for i, v in enumerate(
        pc.cast(t["d"], pa.int32()).to_numpy() + shift)], pa.int32()).cast(pa.date32()))
    con = duckdb.connect()
    with session.db.begin() as tx:
        tx.create_table("t", t.schema)
        tx.insert("t", t)
    con.register("t", t)
    return con


WHERES = [
    "d >= date '1994-01-01' and d < date '1995-01-01' and disc between 0.05 and 0.07 "
    "and q < 24",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q < 24.005",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q <= -24.005",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q = 24.005",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q <> 24.005",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q = -12.50",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q > 49.99",
    "d >= date '1994-01-01' and d < date '1995-01-01' and (q between 1 and 11 "
    "or q between 20 and 30.001)",
    "d >= date '1994-01-01' and d < date '1995-01-01' and not (q < 0)",
    "d >= date '1994-01-01' and d < date '1995-01-01' and w < 24.005",
    "d >= date '1994-01-01' and d < date '1995-01-01' and big >= 12345.67895",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q < 1e30",
    "d >= date '1994-01-01' and d < date '1995-01-01' and q > -1e30 and q is null",
    "d between date '1994-03-01' and date '1994-04-01' and q < 0 and disc > 0.05",
    "d >= date '1994-01-01' and d < date '1995-01-01' and d2 < d and q <= w",
    "d >= date '1994-01-01' and d < date '1995-01-01' and d2 >= d and disc <> q",
    "d >= date '1994-01-01' and d < date '1995-01-01' and d2 < d and m in ('MAIL', 'SHIP')",
    "d >= date '1994-01-01' and d < date '1995-01-01' and (d2 = d or m = 'AIR') and k > 10",
]


@pytest.mark.parametrize("where", WHERES)
def test_filters_match_duckdb(session, duck, where):
    check(session, duck, f"select count(*), sum(q), sum(w * disc), min(k) from t "
                         f"where {where}")


def spied_steps(monkeypatch) -> list:
    """The step lists ``filter_project.steps`` makes, recorded as the filters are built."""
    made: list = []
    real = fp.steps

    def spy(conds, schema):
        out = real(conds, schema)
        made.append(out)
        return out

    monkeypatch.setattr(fp, "steps", spy)
    return made


def test_q6_shape_runs_on_batches(session, duck, monkeypatch):
    """TPC-H Q6's filters all run on the scan's batches, the decimal ones as integer tests,
    and the sum of products is DuckDB's to the last digit."""
    made = spied_steps(monkeypatch)
    sql = ("select sum(w * disc) as revenue, sum(q * disc) from t where d >= date '1994-01-01'"
           " and d < date '1994-01-01' + interval '1' year and disc between 0.06 - 0.01 and"
           " 0.06 + 0.01 and q < 24")
    check(session, duck, sql)
    assert made and all(isinstance(s, it.Range) for s in made[-1]), made
    assert len({s.col for s in made[-1]}) == 3


def test_explain_analyze_counts_each_filter(session, duck):
    sql = ("select sum(w * disc) from t where d >= date '1994-01-01' and d < date '1995-01-01'"
           " and disc between 0.05 and 0.07 and q < 24")
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    lines = session.execute("explain analyze " + sql).reader.read_all().column(0).to_pylist()
    filters = [ln for ln in lines if ln.lstrip().startswith("Filter")]
    assert len(filters) == sum(ln.lstrip().startswith("Filter") for ln in plan)
    assert len(filters) >= 2 and all("actual rows=" in ln for ln in filters), lines


def test_subquery_condition_in_a_stacked_filter(session, duck):
    check(session, duck, "select count(*), sum(q) from t where d >= date '1994-01-01' and "
                         "d < date '1995-01-01' and q < (select max(disc) * 100 from t) "
                         "and disc = 0.03")


def test_other_stacked_conditions_stay_in_acero(session, duck, monkeypatch):
    """Only integer tests join a scan's batch filter from the filters above it: others run
    in Acero's parallel filter nodes (TPC-H Q12's shipmode and date-to-date comparisons)."""
    made = spied_steps(monkeypatch)
    sql = ("select count(*), sum(q) from t where d >= date '1994-01-01' and "
           "d < date '1995-01-01' and m in ('MAIL', 'SHIP')")
    plan = session.execute("explain " + sql).reader.read_all().column(0).to_pylist()
    assert sum(ln.lstrip().startswith("Filter") for ln in plan) == 2, plan
    check(session, duck, sql)
    assert made and all(isinstance(s, it.Range) for s in made[-1]), made


def test_stacked_tests_join_the_scan_and_the_rest_stays_in_acero(session, duck, monkeypatch):
    """TPC-H Q12's shape: the date-to-date comparisons above a scan's date range run on the
    scan's batches with it; the IN list of strings runs in Acero on the rows they keep."""
    made = spied_steps(monkeypatch)
    sql = ("select m, count(*), sum(q) from t where d >= date '1994-01-01' and "
           "d < date '1995-01-01' and m in ('MAIL', 'SHIP') and d2 < d and k > d2 - d "
           "group by m order by m")
    check(session, duck, sql)
    assert made, made
    assert sum(isinstance(s, it.Pair) for s in made[-1]) == 1, made
    assert all(isinstance(s, (it.Range, it.Pair)) for s in made[-1]), made


def member_test(col: Col, values: list[int], listed: list[int] | None = None) -> Call:
    """``col IN (values)`` as the join's key filter makes it (``_values`` as IN lists;
    ``listed``: other ``_values`` than the kernel's set)."""
    c = Call("is_in", (col,), pc.SetLookupOptions(pa.array(values, col.type), skip_nulls=True),
             pa.bool_())
    c._values = tuple(values if listed is None else listed)
    return c


@pytest.mark.parametrize("values", [[], [0], [3, -7, 3, 12], list(range(-50, 900, 7)),
                                    [-2**40, 5, 2**40], [2**63 - 1, -2**63],
                                    [-2**63, -2**63 + 3, 0], [-2**63, -2**63 + 3],
                                    [2**63 - 4, 2**63 - 1], [-2**31, 2**31 - 1]])
def test_members_match_arrow(values):
    """Key sets: a table of flags over a short span, ``np.isin`` over a long one; NULLs,
    slices and the integer extremes."""
    rng = np.random.default_rng(len(values))
    for ty, np_t in ((pa.int32(), np.int32), (pa.int64(), np.int64)):
        info = np.iinfo(np_t)
        vals = rng.integers(-60, 950, 3000).tolist()
        vals[:4] = [int(info.min), int(info.max), 0, -1]
        a = pa.array([None if k % 9 == 4 else v for k, v in enumerate(vals)], ty).slice(2)
        b = pa.record_batch([a, pa.array(range(len(a)), pa.int64())], names=["c", "x"])
        held = [v for v in values if info.min <= v <= info.max]
        cond = member_test(Col("c", ty), held)
        assert isinstance(it.compile_test(cond), it.Members)
        wide = member_test(Col("c", ty), held, values)  # values past the type: never kept
        assert kept(b, wide) == arrow_kept(b, cond), (ty, values)
        assert kept(b, cond) == arrow_kept(b, cond), (ty, values)
        both = Call("and_kleene", (Call("greater", (Col("x", pa.int64()), Lit(2800, pa.int64())),
                                        None, pa.bool_()), cond), None, pa.bool_())
        assert kept(b, both) == arrow_kept(b, both), (ty, values)  # on the kept rows only


@pytest.mark.parametrize("span", [(1 << 22) + 10, (1 << 26) + 10])
def test_a_large_key_set_over_a_wide_span(span):
    """A set of at least ``WIDE_TABLE_VALUES`` keys spread over more than ``TABLE_SPAN`` (a
    join's orders over all of lineitem) still gets a table of flags up to
    ``WIDE_TABLE_SPAN``, and a binary search past it; both keep what Arrow keeps."""
    rng = np.random.default_rng(span)
    values = sorted({0, span, *rng.integers(0, span, 3000).tolist()})
    col = rng.integers(-5, span + 5, 20_000)
    col[:len(values)] = values
    b = pa.record_batch([pa.array(col, pa.int64())], names=["c"])
    cond = member_test(Col("c", pa.int64()), values)
    assert kept(b, cond) == arrow_kept(b, cond)
    test = it.compile_test(cond)
    assert isinstance(test, it.Members)
    assert list(np.flatnonzero(test.mask(col))) == arrow_kept(b, cond)
    assert (test.flags is not None) == (span <= it.WIDE_TABLE_SPAN)


@pytest.mark.parametrize("span", [1_000, (1 << 26) + 10])
@pytest.mark.parametrize("ty", [pa.int32(), pa.int64()])
def test_a_joins_keys_as_an_unsorted_array(span, ty):
    """A join hands its keys as a numpy array, in the order the join found them and
    repeated where it holds a key twice (``join.key_filtered_inputs``): nothing is sorted or
    made unique for the flags, and the binary search past ``WIDE_TABLE_SPAN`` sorts its own
    copy. Both keep what Arrow keeps."""
    rng = np.random.default_rng(span)
    values = np.unique(np.r_[0, span, rng.integers(0, span, 3000)])
    values = rng.permutation(np.r_[values, values[::7]])  # (a join's keys may repeat)
    col = rng.integers(0, min(span + 5, 2**31 - 1), 20_000)
    col[:len(values)] = values
    b = pa.record_batch([pa.array(col, ty)], names=["c"])
    cond = member_test(Col("c", ty), values.tolist())  # (Arrow's set: the oracle)
    cond._values = pa.array(values, ty).to_numpy()
    test = it.compile_test(cond)
    assert isinstance(test, it.Members)
    assert kept(b, cond) == arrow_kept(b, cond)
    assert list(np.flatnonzero(test.mask(b.column(0).to_numpy()))) == arrow_kept(b, cond)
    assert (test.flags is not None) == (span <= it.WIDE_TABLE_SPAN)


def batches_of(sizes: list[int]) -> list[pa.RecordBatch]:
    """Batches of one int64 column, numbered on from 0 across them."""
    out, at = [], 0
    for n in sizes:
        out.append(pa.record_batch([pa.array(range(at, at + n), pa.int64())], names=["x"]))
        at += n
    return out


def test_gathered_joins_small_batches_and_passes_large_ones():
    """A selective filter's small batches reach Acero joined (fewer hand-offs), in order; the
    first after one batch, then in growing groups; a large batch is never copied."""
    big = fp.GATHER_ROWS
    got = list(fp.gathered(iter(batches_of([10] * 9 + [big, 5, 5]))))
    assert [b.num_rows for b in got] == [10, 20, 40, 20, big, 10]
    assert pa.Table.from_batches(got).column("x").to_pylist() == list(range(90 + big + 10))
    source = batches_of([3, big // 2])
    passed = list(fp.gathered(iter(source)))
    assert passed[1] is source[1]  # the same object: no copy
    assert [b.num_rows for b in fp.gathered(iter(batches_of([big - 1, 2])))] == [big - 1, 2]
    assert list(fp.gathered(iter([]))) == []

