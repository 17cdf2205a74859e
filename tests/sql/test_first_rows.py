"""A short LIMIT over a filtered scan reads only as far as it needs (``sort_limit.first_rows``)
and ORDER BY ... LIMIT over large batches keeps each batch's own top rows (``top_n``):
the rows are the ones the whole computation gives, checked against DuckDB over a table of
several 64 K-row batches, with matches frequent, rare (past ``FIRST_SCAN``) and absent."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.executor import sort_limit

from .harness import duck_twin

N = 200_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    import engine

    rng = np.random.default_rng(11)
    x = rng.integers(0, 1000, N)
    t = pa.table({
        "k": pa.array(np.arange(N), pa.int64()),
        "x": pa.array(x, pa.int64(), mask=rng.random(N) < 0.05),
        "s": pa.array([f"row {i} {'needle' if i % 97 == 0 else 'hay'}" for i in range(N)]),
        "r": pa.array(np.where(np.arange(N) > 150_000, x, -1), pa.int64()),  # rare, late
        "d": pa.array((np.arange(N) // 150).astype(np.int32), pa.int32()).view(pa.date32()),
        "ts": pa.array(rng.integers(0, 10**12, N), pa.int64()).view(pa.timestamp("us")),
    })
    other = np.random.default_rng(12)  # (the columns above keep their values)
    t = t.append_column("g", pa.array([f"g{v:03d}" for v in other.integers(0, 300, N)],
                                      mask=other.random(N) < 0.05))
    db = engine.Database.open(str(tmp_path_factory.mktemp("first_rows") / "db"))
    duck = duck_twin(db, {"big": t})
    s = Session(db)
    yield s, duck
    s.close()
    db.close()


def rows(session: Session, sql: str) -> list[dict]:
    r = session.execute(sql)
    return (r.table if r.table is not None else r.reader.read_all()).to_pylist()


@pytest.mark.parametrize("where,limit,offset", [
    ("x > 10", 10, 0),  # nearly every row: the first slice answers
    ("x > 10", 3000, 7),  # several slices
    ("s like '%needle%'", 10, 0),  # one row in 97
    ("s like '%needle%'", 700, 40),  # past the first FIRST_SCAN rows, into the rest
    ("r = 7", 5, 0),  # only after row 150,000: the rest, through Acero's filter
    ("r = 7 and x is not null", 4000, 0),  # fewer than asked for
    ("x = 1234", 10, 0),  # none
    ("x is null", 20, 3),
    ("x > 500 or s like '%9 needle%'", 50, 0),
])
def test_the_first_rows_a_filter_keeps(big, where: str, limit: int, offset: int) -> None:
    """Without ORDER BY any rows would do; these are the scan's first ones, in its order,
    which is the order they were written in: DuckDB's ``order by k`` gives the same."""
    session, duck = big
    got = rows(session, f"select k, x, s from big where {where} limit {limit} offset {offset}")
    want = duck.sql(f"select k, x, s from big where {where} order by k "
                    f"limit {limit} offset {offset}").to_arrow_table().to_pylist()
    assert got == want


def test_a_projection_over_the_first_rows(big) -> None:
    session, duck = big
    sql = "select k * 2 as kk, upper(s) as u from big where s like '%needle%' limit 30"
    want = duck.sql(sql.replace("limit", "order by k limit")).to_arrow_table().to_pylist()
    assert rows(session, sql) == want


def test_the_first_rows_stop_early(big, monkeypatch) -> None:
    """A frequent match is answered from the first slice: the scan is not read on."""
    session, _ = big
    read = []
    real = sort_limit.kept_rows
    monkeypatch.setattr(sort_limit, "kept_rows",
                        lambda piece, plan: read.append(piece.num_rows) or real(piece, plan))
    assert len(rows(session, "select k from big where x > 10 limit 10")) == 10
    assert read == [sort_limit.FIRST_SLICE]


def test_rare_matches_go_on_in_parallel(big, monkeypatch) -> None:
    """Past ``FIRST_SCAN`` rows without enough matches, the rest of the scan goes through
    the filter's usual path (Acero's filter node, in parallel)."""
    session, duck = big
    handed = []
    real = sort_limit.Rest.filtered
    monkeypatch.setattr(sort_limit.Rest, "filtered",
                        lambda self, batches: handed.append(1) or real(self, batches))
    got = rows(session, "select k from big where r = 7 limit 5")
    assert handed == [1]
    assert got == duck.sql("select k from big where r = 7 order by k limit 5"
                           ).to_arrow_table().to_pylist()


@pytest.mark.parametrize("order,limit", [
    ("x", 50),  # ties over every batch: the stable sort's rows among them
    ("x desc nulls first", 25),
    ("s", 10),
    ("x, s desc", 300),
    ("r desc", 5),
    ("k desc", 20),  # the last rows of an ascending key: every row beats the ones kept
    ("d desc", 400),  # a date, 150 rows a day: ties across the cut
    ("d", 151),
    ("ts desc", 12),
    ("g", 40),  # strings with ties and NULLs: the cut by Arrow's comparison
    ("g desc", 700),
    ("g nulls first", 30),
    ("g desc nulls first", 30),
    ("s desc", 15),
])
def test_top_n_over_large_batches(big, order: str, limit: int) -> None:
    """The top rows of each batch, then of those: the stable sort's rows (ties in the
    order they were written, which DuckDB is told as ``k``)."""
    session, duck = big
    got = rows(session, f"select k, x, s, d, ts, g from big order by {order} limit {limit}")
    want = duck.sql(f"select k, x, s, d, ts, g from big order by {order}, k limit {limit}"
                    ).to_arrow_table().to_pylist()
    assert got == want


@pytest.mark.parametrize("type_", [pa.int8(), pa.int64(), pa.uint64(), pa.date32(),
                                   pa.timestamp("ns"), pa.time32("s")])
@pytest.mark.parametrize("desc", [False, True])
def test_first_by_one_key_is_the_stable_sort(type_: pa.DataType, desc: bool) -> None:
    rng = np.random.default_rng(3)
    for spread in (3, 50, 10**6):
        raw = rng.integers(0, spread, 5000).astype(np.int64)
        if type_ == pa.uint64():
            raw = raw.astype(np.uint64) + np.uint64(2**63)  # past int64's range
        elif type_ == pa.int8():
            raw = (raw % 200 - 100).astype(np.int8)
        elif pa.types.is_temporal(type_):
            raw = raw.astype(np.int32 if type_.bit_width == 32 else np.int64)
        col = pa.chunked_array([pa.array(raw).view(type_) if pa.types.is_temporal(type_)
                                else pa.array(raw).cast(type_)])
        for n in (0, 1, 7, 64):
            got = sort_limit.first_by_one_key(col, n, desc)
            order = sorted(range(len(raw)), key=lambda i: (-int(raw[i]) if desc else int(raw[i])))
            assert got.tolist() == order[:n], (type_, spread, n)
    assert sort_limit.first_by_one_key(pa.chunked_array([pa.array([1, None, 3])]), 1,
                                       False) is None  # NULLs: Arrow's selection places them


@pytest.mark.parametrize("order,limit,offset", [
    ("k", 20, 10_000),  # a page further on: later batches hold no row before the cut
    ("d", 300, 140),  # ties at the cut, in several batches
    ("d desc", 5, 149),
    ("ts", 1000, 3000),
])
def test_a_page_further_on(big, order: str, limit: int, offset: int) -> None:
    session, duck = big
    got = rows(session, f"select k, d from big order by {order} limit {limit} offset {offset}")
    want = duck.sql(f"select k, d from big order by {order}, k limit {limit} offset {offset}"
                    ).to_arrow_table().to_pylist()
    assert got == want


def test_the_scan_skips_batches_a_top_n_cannot_use(db, monkeypatch) -> None:
    """``order by k desc limit n`` over a table stored in ``k`` order reads only the batches
    that can hold the first ``n`` (``narrowed``, by the batches' statistics), and gives the
    same rows through deletes, rows still in the write buffer and NULLs."""
    from .harness import load

    s = Session(db)
    n = 150_000
    load(db, "asc", pa.table({"k": pa.array(np.arange(n), pa.int64()),
                              "v": pa.array([f"v{i}" for i in range(n)])}))
    want_top = list(range(n - 1, n - 31, -1))
    assert [r["k"] for r in rows(s, "select k from asc order by k desc limit 30")] == want_top
    read = []
    real = sort_limit.narrowed
    monkeypatch.setattr(sort_limit, "narrowed",
                        lambda ex, node, k: read.append(r := real(ex, node, k)) or r)
    rows(s, "select k, v from asc order by k desc limit 30")
    assert "Compare(column='k', op='>='" in str(read[-1])  # a bound for the scan
    s.execute(f"delete from asc where k > {n - 10}")  # the last batch has deleted rows
    s.execute("insert into asc values (-5, 'low'), (null, 'none'), (999999, 'high')")
    live = sorted([k for k in range(n) if k <= n - 10] + [-5, 999999], reverse=True)
    for limit, offset in ((30, 0), (5, 2), (70_000, 0), (3, 149_988)):
        got = rows(s, f"select k from asc order by k desc limit {limit} offset {offset}")
        assert [r["k"] for r in got] == live[offset:offset + limit], (limit, offset)
        got = rows(s, f"select k from asc order by k limit {limit} offset {offset}")
        assert [r["k"] for r in got] == sorted(live)[offset:offset + limit], (limit, offset)
    got = rows(s, "select k from asc order by k desc nulls first limit 2")
    assert [r["k"] for r in got] == [None, 999999]
    s.close()
