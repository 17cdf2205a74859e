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

``pl_loop``: a table of 100,000 rows with a primary key, opened through the embedded API
(``kodiak_flight.connect``); a script loop of 10,000 turns (2,000 with ``--quick``), each
running the lookup ``LET r = (select v from t where k = $i)``, against the same lookups made
one by one with ``con.execute("select v from t where k = ?", [i]).fetchall()``. The two run
alternately, ``rounds`` times each after a warm-up of each; the ratio is the script's median
over the API's (target: at most 2x). A loop summing the lookups checks the answers first.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from .common import Row, judge, log, scratch
from .tpch import read_table

FULL: dict[str, Any] = {"scale": 1, "repeats": 7, "iterations": 10_000, "rounds": 5}
QUICK: dict[str, Any] = {"scale": 0.1, "repeats": 15, "iterations": 2_000, "rounds": 5}
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


LOOP_ROWS = 100_000
LOOP_TARGET = 2.0

LOOP_SCRIPT = """LET i = 0;
WHILE $i < {n} DO
  LET r = (select v from t where k = $i);
  SET i = $i + 1;
END WHILE;"""
CHECK_SCRIPT = """LET i = 0; LET total = 0;
WHILE $i < {n} DO
  LET r = (select v from t where k = $i);
  SET total = $total + $r;
  SET i = $i + 1;
END WHILE;
RETURN $total"""


def _script_loop(con: Any, n: int) -> float:
    t0 = time.perf_counter()
    con.execute(LOOP_SCRIPT.format(n=n))
    return time.perf_counter() - t0


def _api_loop(con: Any, n: int) -> tuple[float, int]:
    total = 0
    t0 = time.perf_counter()
    for i in range(n):
        total += con.execute("select v from t where k = ?", [i]).fetchall()[0][0]
    return time.perf_counter() - t0, total


def pl_loop(params: dict[str, Any]) -> list[Row]:
    import kodiak_flight

    n, rounds = int(params["iterations"]), int(params["rounds"])
    with scratch("pl_loop") as path:
        con = kodiak_flight.connect(str(path / "db"))
        con.execute("create table t (k bigint primary key, v bigint)")
        con.execute(f"insert into t select range, range * 7 from range({LOOP_ROWS})")
        log(f"t: {LOOP_ROWS:,} rows; {n:,} lookups per run")
        got = con.execute(CHECK_SCRIPT.format(n=n)).fetchall()[0][0]
        _, want = _api_loop(con, n)
        if got != want:
            raise SystemExit(f"the script summed {got}, the API's lookups {want}")
        script, api = [], []
        for _ in range(rounds):
            script.append(_script_loop(con, n))
            api.append(_api_loop(con, n)[0])
        con.close()
    sc, ap = statistics.median(script), statistics.median(api)
    ratio = sc / ap
    log(f"script {sc * 1e3:.0f} ms, API {ap * 1e3:.0f} ms: {ratio:.3f}x")
    return [Row("pl_loop", f"script loop of {n:,} primary-key lookups", sc, "s",
                peer_name="embedded API lookups", peer=ap, ratio=ratio,
                target=f"<= {LOOP_TARGET:g}x", status=judge(ratio <= LOOP_TARGET),
                detail=f"script {sc / n * 1e6:.0f} us/turn vs API {ap / n * 1e6:.0f} us/lookup "
                       f"(medians of {rounds}, alternated; {LOOP_ROWS:,} rows)")]


BENCHMARKS = {"pl_functions": pl_functions, "pl_loop": pl_loop}

__all__ = ["BENCHMARKS", "FULL", "QUICK", "pl_functions", "pl_loop"]
