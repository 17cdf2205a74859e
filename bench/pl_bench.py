"""PL-Grizzly benchmark: an expression function against the same expression written inline.

``lineitem`` (SF1; SF0.1 with ``--quick``) is loaded into an ``engine.Database``; the user
function ``disc_price(p, d)`` has the body ``p * (1 - d)``, its parameters the columns' types
and its RETURNS the type of the inline expression, so the function adds no cast the inline
form lacks (what is measured is the cost of calling a function, not of a type change). Then
``select sum(disc_price(l_extendedprice, l_discount)) from lineitem`` and
``select sum(l_extendedprice * (1 - l_discount)) from lineitem`` run alternately,
``repeats`` times each after a warm-up of each; the ratio is the function's median over the
inline median (target: at most 1.1x), and the two answers must be equal.

Run: ``python -m bench pl_functions [--quick]`` (or ``python -m bench pl``).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from .common import Row, judge, log, scratch
from .tpch import read_table

FULL: dict[str, Any] = {"scale": 1, "repeats": 7}
QUICK: dict[str, Any] = {"scale": 0.1, "repeats": 15}
TARGET = 1.1

FUNCTION_SQL = "select sum(disc_price(l_extendedprice, l_discount)) from lineitem"
INLINE_SQL = "select sum(l_extendedprice * (1 - l_discount)) from lineitem"


def _timed(session: Any, sql: str) -> tuple[float, Any]:
    t0 = time.perf_counter()
    table = session.execute(sql).reader.read_all()
    return time.perf_counter() - t0, table


def pl_functions(params: dict[str, Any]) -> list[Row]:
    import engine
    from kodiak_flight.sql.session import Session
    from kodiak_flight.sql.types import sql_name

    scale, repeats = params["scale"], int(params["repeats"])
    with scratch("pl_functions") as path:
        lineitem = read_table("lineitem", scale).select(["l_extendedprice", "l_discount"])
        db = engine.Database.open(str(path / "db"))
        log(f"loading lineitem SF{scale:g} ({lineitem.num_rows:,} rows)")
        with db.begin() as tx:
            tx.create_table("lineitem", lineitem.schema)
            tx.insert("lineitem", lineitem)
        s = Session(db)
        row = s.execute("select l_extendedprice * (1 - l_discount) as v, l_extendedprice, "
                        "l_discount from lineitem limit 0").reader.read_all().schema
        ret, p, d = (sql_name(f.type) for f in row)
        s.execute(f"create function disc_price(p {p}, d {d}) returns {ret} as p * (1 - d)")
        _, want = _timed(s, INLINE_SQL)
        _, got = _timed(s, FUNCTION_SQL)
        if got.column(0).to_pylist() != want.column(0).to_pylist():
            raise SystemExit(f"disc_price gave {got.column(0)} but the inline expression "
                             f"{want.column(0)}")
        fn, inline = [], []
        for _ in range(repeats):
            fn.append(_timed(s, FUNCTION_SQL)[0])
            inline.append(_timed(s, INLINE_SQL)[0])
        s.close()
        db.close()
    f, i = statistics.median(fn), statistics.median(inline)
    ratio = f / i
    log(f"function {f * 1e3:.1f} ms, inline {i * 1e3:.1f} ms: {ratio:.3f}x")
    return [Row("pl_functions", f"sum(disc_price(...)) over lineitem SF{scale:g}", f, "s",
                peer_name="inline expression", peer=i, ratio=ratio, target=f"<= {TARGET:g}x",
                status=judge(ratio <= TARGET),
                detail=f"function {f * 1e3:.1f} ms vs inline {i * 1e3:.1f} ms (medians of "
                       f"{repeats}, alternated); RETURNS {ret}")]


BENCHMARKS = {"pl_functions": pl_functions}

__all__ = ["BENCHMARKS", "FULL", "QUICK", "pl_functions"]
