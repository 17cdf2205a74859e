"""``outside_lookup``: the outside harness's lookup case.

TPC-H orders is loaded with ``adbc_ingest(mode="create")`` (strings cast to ``string``, no
primary key), then ``create index orders_key on orders (o_orderkey)``: a secondary index.
The measure is the p50 of a prepared ``select * from orders where o_orderkey = ?`` +
``fetchall`` through ADBC, against the bare Flight SQL server of ``flight_lookup`` that answers
the same calls with a fixed row. Alternating rounds, paired ratios, median.
Target: ≤ 1.5× the peer's p50.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from .common import Row, judge, log, median, scratch
from .engine_bench import _list, _order, paired
from .flight_bench import _adbc, _execute, kodiak_server, peer_server
from .outside import announce, command, harness_reader, harness_table

FULL: dict[str, Any] = {"scale": 1, "rounds": 5, "keys": 1000}
QUICK: dict[str, Any] = {"scale": 0.2, "rounds": 5, "keys": 300}
SQL = "select * from orders where o_orderkey = ?"
BATCH = 8  # keys per statement in the IN-list form (an ORM loading related rows)
SQL_IN = f"select * from orders where o_orderkey in ({', '.join('?' * BATCH)})"
FORMS = {"prepared": "", "text": " (text)", "in": f" (IN list of {BATCH})"}


def lookups(uri: str, keys: list[int], *, form: str = "prepared") -> list[float]:
    """Latencies of one statement per key: prepared with the key as its parameter, with the
    key written into the text (``text``: tools without parameters send that; ADBC then
    prepares each new text), or (``in``) prepared with ``BATCH`` keys as an IN list."""
    lat = []
    perf = time.perf_counter
    groups = [keys[i:i + BATCH] for i in range(0, len(keys) - BATCH + 1, BATCH)] \
        if form == "in" else [[k] for k in keys]
    with _adbc(uri) as conn, conn.cursor() as cur:
        for g in groups:
            t0 = perf()
            if form == "in":
                cur.execute(SQL_IN, tuple(g))
            elif form == "text":
                cur.execute(SQL.replace("?", str(g[0])))
            else:
                cur.execute(SQL, (g[0],))
            rows = cur.fetchall()
            lat.append(perf() - t0)
            assert len(rows) in (1, len(g)), (g, rows)  # (the peer answers one row)
    return lat


def paired_p50(uri: str, peer_uri: str, keys_all: list[int], cfg: dict, rng: random.Random,
               *, form: str = "prepared") -> tuple[list[float], list[float]]:
    """Per-round p50s of Kodiak and the peer, alternating who goes first."""
    k_p50: list[float] = []
    p_p50: list[float] = []
    for r in range(cfg["rounds"]):
        keys = rng.sample(keys_all, cfg["keys"])
        for who in _order(r):
            lat = lookups(uri if who == "kodiak" else peer_uri, keys, form=form)
            (k_p50 if who == "kodiak" else p_p50).append(median(lat))
        log(f"outside_lookup{FORMS[form]} round {r + 1}: Kodiak p50 "
            f"{k_p50[-1] * 1e3:.2f} ms, peer p50 {p_p50[-1] * 1e3:.2f} ms")
    return k_p50, p_p50


def bench_outside_lookup(cfg: dict) -> list[Row]:
    scale = cfg["scale"]
    orders = harness_table("orders", scale)
    keys_all = orders.column("o_orderkey").to_pylist()
    rng = random.Random(7)
    with scratch("outside_lookup") as work, kodiak_server(work / "kodiak") as uri, \
            peer_server("lookup") as peer_uri:
        with _adbc(uri) as conn, conn.cursor() as cur:
            cur.adbc_ingest("orders", harness_reader(orders), mode="create")
        _execute(uri, "create index orders_key on orders (o_orderkey)")
        log(f"outside_lookup: orders SF{scale:g}, {orders.num_rows:,} rows, secondary index")
        warm = rng.sample(keys_all, 200)
        lookups(uri, warm)
        lookups(peer_uri, warm)
        k_p50, p_p50 = paired_p50(uri, peer_uri, keys_all, cfg, rng)
        lookups(uri, warm, form="text")
        lookups(peer_uri, warm, form="text")
        k_text, p_text = paired_p50(uri, peer_uri, keys_all, cfg, rng, form="text")
        lookups(uri, warm, form="in")
        lookups(peer_uri, warm, form="in")
        k_in, p_in = paired_p50(uri, peer_uri, keys_all, cfg, rng, form="in")
    ratio = paired(k_p50, p_p50)
    quick = scale != FULL["scale"]
    announce("outside_lookup", ratio, quick)
    embedded = embedded_probe(orders, rng.sample(keys_all, cfg["keys"]), cfg["rounds"])
    log(f"outside_lookup embedded: secondary index / primary key p50 {embedded.ratio:.2f}×")
    text_ratio = paired(k_text, p_text)
    in_ratio = paired(k_in, p_in)

    def rounds(k: list[float], p: list[float]) -> str:
        return f"per-round p50 Kodiak {_list([x * 1e3 for x in k])} ms, peer " \
               f"{_list([x * 1e3 for x in p])} ms; `{command('outside_lookup', quick)}`"

    return [embedded,
            Row("outside_lookup", f"ADBC prepared lookup on a secondary index, orders "
                f"SF{scale:g}, p50", median(k_p50), "s", "bare Flight SQL server, fixed row",
                median(p_p50), ratio, "≤ 1.5× peer", judge(ratio <= 1.5),
                rounds(k_p50, p_p50)),
            Row("outside_lookup", f"ADBC lookup with the key written in the text, orders "
                f"SF{scale:g}, p50", median(k_text), "s", "bare Flight SQL server, fixed row",
                median(p_text), text_ratio, "", "info", rounds(k_text, p_text)),
            Row("outside_lookup", f"ADBC prepared IN list of {BATCH} keys, orders SF{scale:g}, "
                "p50 a statement", median(k_in), "s", "bare Flight SQL server, fixed row",
                median(p_in), in_ratio, "", "info", rounds(k_in, p_in))]


def embedded_probe(orders: pa.Table, keys: list[int], rounds: int) -> Row:
    """For context, no transport: the same prepared query in an embedded session on a
    secondary index against a copy of orders keyed on o_orderkey (the primary-key probe);
    what the index probe itself costs more."""
    import engine
    from kodiak_flight.sql import Session

    with scratch("outside_lookup_embedded") as work:
        db = engine.Database.open(str(work / "db"))
        session = Session(db)
        db.create_table("main.orders", orders.schema)
        db.insert("main.orders", orders)
        session.execute("create index orders_key on orders (o_orderkey)")
        db.create_table("main.orders_pk", orders.schema, primary_key=["o_orderkey"])
        db.insert("main.orders_pk", orders)

        def p50(table: str) -> float:
            stmt = session.prepare(f"select * from {table} where o_orderkey = ?")
            lat = []
            for k in keys:
                t0 = time.perf_counter()
                r = stmt.execute(pa.table({"$1": [k]}))
                got = r.table if r.table is not None else r.reader.read_all()
                lat.append(time.perf_counter() - t0)
                assert got.num_rows == 1
            return median(lat)

        sec: list[float] = []
        pk: list[float] = []
        for r in range(rounds):
            for who in _order(r):
                (sec if who == "kodiak" else pk).append(p50("orders" if who == "kodiak"
                                                            else "orders_pk"))
        session.close()
        db.close()
    ratio = paired(sec, pk)
    return Row("outside_lookup", "embedded prepared lookup, secondary index vs primary key, p50",
               median(sec), "s", "same query on a primary key", median(pk), ratio,
               "", "info", f"per-round p50 secondary {_list([x * 1e3 for x in sec])} ms, "
               f"primary key {_list([x * 1e3 for x in pk])} ms")


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"outside_lookup": bench_outside_lookup}
