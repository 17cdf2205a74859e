"""Differential-test helpers: load the same Arrow tables into Kodiak and DuckDB, compare."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kodiak_flight.sql import Session
from kodiak_flight.sql.dialect import parse


def plain(t: pa.Table) -> pa.Table:
    """Views/large strings as plain utf8 (what we load into the engine)."""
    cols = []
    for c in t.columns:
        if pa.types.is_string_view(c.type) or pa.types.is_large_string(c.type):
            c = pc.cast(c, pa.string())
        cols.append(c)
    return pa.Table.from_arrays(cols, names=t.column_names)


@contextlib.contextmanager
def twin(session: Session, setup: list[str]) -> Iterator[tuple[Session, Any]]:
    """(``session``, a DuckDB connection), both given the same tables by running the same
    ``setup`` statements on each."""
    import duckdb

    con = duckdb.connect()
    for sql in setup:
        session.execute(sql)
        con.execute(sql)
    try:
        yield session, con
    finally:
        con.close()


def load(db: Any, name: str, table: pa.Table, primary_key: tuple = ()) -> None:
    table = plain(table)
    with db.begin() as tx:
        tx.create_table(name, table.schema, primary_key=primary_key)
        tx.insert(name, table)


def thousand_rows(session: Session, ddl: str) -> Session:
    """``session`` with table ``t`` made by ``ddl`` (columns id, a, s) holding ids 0-999,
    ``a = id % 7`` and ``s = 's<id>'``: the small table the plan-reuse tests query."""
    session.execute(ddl)
    ids = list(range(1000))
    session.db.insert("t", pa.table({"id": pa.array(ids, pa.int64()),
                                     "a": pa.array([i % 7 for i in ids], pa.int32()),
                                     "s": [f"s{i}" for i in ids]}))
    return session


def duck_twin(db: Any, tables: dict[str, pa.Table]) -> Any:
    """A DuckDB connection over ``tables``, each also loaded into ``db``: the same rows on
    both sides of a comparison."""
    import duckdb

    con = duckdb.connect()
    for name, t in tables.items():
        load(db, name, t)
        con.register(name, t)
    return con


@contextlib.contextmanager
def duck_session(path: Any, tables: dict[str, pa.Table]) -> Iterator[tuple[Session, Any]]:
    """A Kodiak session over a new database at ``path`` and a DuckDB connection, both
    holding ``tables``; both closed after."""
    import engine

    db = engine.Database.open(str(path))
    duck = duck_twin(db, tables)
    session = Session(db)
    try:
        yield session, duck
    finally:
        session.close()
        db.close()
        duck.close()


def result_rows(session: Session, sql: str) -> list[dict]:
    """The rows ``sql`` gives in ``session``, as dicts."""
    r = session.execute(sql)
    return (r.table if r.table is not None else r.reader.read_all()).to_pylist()


def _norm(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.datetime) and v.time() == dt.time() and v.tzinfo is None:
        return v.date()
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def _sort_key(row: tuple) -> tuple:
    out = []
    for v in row:
        if v is None:
            out.append((0, ""))
        elif isinstance(v, float):
            out.append((1, float(f"{v:.6g}")))
        elif isinstance(v, (int, bool)):
            out.append((1, float(v)))
        else:
            out.append((2, str(v)))
    return tuple(out)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def rows_of(t: pa.Table) -> list[tuple]:
    cols = [c.to_pylist() for c in t.columns]
    return [tuple(_norm(c[i]) for c in cols) for i in range(t.num_rows)]


def compare(got: list[tuple], want: list[tuple], ordered: bool) -> None:
    assert len(got) == len(want), f"row count {len(got)} != {len(want)}\n{got[:5]}\n{want[:5]}"
    if not ordered:
        got, want = sorted(got, key=_sort_key), sorted(want, key=_sort_key)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert len(g) == len(w), f"row {i}: width {len(g)} != {len(w)}"
        for j, (a, b) in enumerate(zip(g, w, strict=True)):
            assert _same(a, b), f"row {i} col {j}: {a!r} != {b!r}\n got {g}\nwant {w}"


def check(session: Session, duck: Any, sql: str, ordered: bool | None = None,
          duck_sql: str | None = None) -> list[tuple]:
    """Run ``sql`` on Kodiak and DuckDB and assert equal results."""
    res = session.execute(sql)
    got = rows_of(res.reader.read_all())
    want = [tuple(_norm(v) for v in r) for r in duck.execute(duck_sql or sql).fetchall()]
    if ordered is None:  # only a top-level ORDER BY fixes the row order
        ordered = parse(sql)[0].args.get("order") is not None
    compare(got, want, ordered)
    return got


def paired(db: Any, session: Session, tables: dict[str, pa.Table]) -> tuple[Session, Any]:
    """``session`` and a DuckDB connection, each given ``tables`` (in the schema main)."""
    import duckdb

    duck = duckdb.connect()
    for name, t in tables.items():
        db.create_table(f"main.{name}", t.schema)
        db.insert(f"main.{name}", t)
        duck.register(name, t)
    return session, duck


def run_both(session: Session, duck: Any, *statements: str) -> None:
    """Run each of ``statements`` (setup: CREATE, INSERT...) on Kodiak and on DuckDB."""
    for sql in statements:
        session.execute(sql)
        duck.execute(sql)


def refused(session: Session, sql: str, message: str) -> None:
    """``sql`` fails in ``session`` with a SQL error matching ``message``."""
    import pytest

    from kodiak_flight.sql.errors import SqlError

    with pytest.raises(SqlError, match=message):
        r = session.execute(sql)
        if r.reader is not None:
            r.reader.read_all()
