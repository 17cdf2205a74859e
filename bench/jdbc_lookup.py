"""``jdbc_lookup``: the outside lookup through Arrow's Flight SQL JDBC driver.

BI tools and Java applications reach Kodiak through this driver, and many write the key
into the text (a ``Statement``) rather than bind it. TPC-H orders is loaded as
``outside_lookup`` loads it (a secondary index on ``o_orderkey``); ``bench/jdbc/Lookup.java``
then looks up the same keys with a ``Statement`` per key and with a ``PreparedStatement``
made per key, against Kodiak and against the bare Flight SQL server of ``flight_lookup``,
alternating, the JVM warmed by rounds that are not counted. Information rows (no
target): the issue's lookup target is ``outside_lookup``'s. Needs a Java 17 JDK and the
driver's jars (``$KODIAK_JDBC_LIB``, else ``../shared/tools/jdbc/lib``); without them it
reports why and measures nothing.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

from tests.flight.jdbc.driver import jdbc_lib, missing

from .common import Row, log, median, scratch
from .engine_bench import _list, paired
from .flight_bench import _adbc, _execute, kodiak_server, peer_server
from .outside import command, harness_reader, harness_table

PROBE = Path(__file__).resolve().parent / "jdbc" / "Lookup.java"
FULL: dict[str, Any] = {"scale": 1, "rounds": 3, "keys": 500}
QUICK: dict[str, Any] = {"scale": 0.2, "rounds": 3, "keys": 300}
MODES = ("text", "prepared")


WARM_ROUNDS = 2  # rounds run first and dropped: the JVM's compiler takes that long to settle


def probe(uri: str, keys_file: Path, rounds: int) -> dict[str, list[float]]:
    """Per-round p50s (s) by mode, the warm-up rounds dropped."""
    port = uri.rsplit(":", 1)[1]
    done = subprocess.run(
        ["java", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", f"{jdbc_lib()}/*",
         str(PROBE), f"jdbc:arrow-flight-sql://127.0.0.1:{port}?useEncryption=false",
         str(keys_file), str(rounds + WARM_ROUNDS)], capture_output=True, text=True,
        check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the JDBC probe failed: {done.stderr[-2000:]}")
    out: dict[str, list[float]] = {m: [] for m in MODES}
    for line in done.stdout.split("\n"):
        if line.strip():
            mode, ms = line.split()
            out[mode].append(float(ms) / 1e3)
    return {m: v[WARM_ROUNDS:] for m, v in out.items()}


def bench_jdbc_lookup(cfg: dict) -> list[Row]:
    why = missing()
    if why is not None:
        log(f"jdbc_lookup: not run: {why}")
        return [Row("jdbc_lookup", f"not run: {why}", 0.0, "s")]
    scale = cfg["scale"]
    orders = harness_table("orders", scale)
    keys = random.Random(7).sample(orders.column("o_orderkey").to_pylist(), cfg["keys"])
    got: dict[str, dict[str, list[float]]] = {"kodiak": {m: [] for m in MODES},
                                              "peer": {m: [] for m in MODES}}
    with scratch("jdbc_lookup") as work, kodiak_server(work / "kodiak") as uri, \
            peer_server("lookup") as peer_uri:
        with _adbc(uri) as conn, conn.cursor() as cur:
            cur.adbc_ingest("orders", harness_reader(orders), mode="create")
        _execute(uri, "create index orders_key on orders (o_orderkey)")
        keys_file = work / "keys.txt"
        keys_file.write_text("\n".join(map(str, keys)))
        for r in range(2):  # each server goes first once
            for who in (("kodiak", "peer") if r == 0 else ("peer", "kodiak")):
                found = probe(uri if who == "kodiak" else peer_uri, keys_file, cfg["rounds"])
                for m in MODES:
                    got[who][m] += found[m]
                log(f"jdbc_lookup {who}: " + ", ".join(
                    f"{m} {_list([x * 1e3 for x in found[m]])} ms" for m in MODES))
    quick = scale != FULL["scale"]
    rows = []
    for m, what in (("text", "Statement, key written in the text"),
                    ("prepared", "PreparedStatement made per lookup")):
        k, p = got["kodiak"][m], got["peer"][m]
        rows.append(Row("jdbc_lookup", f"JDBC {what}, orders SF{scale:g}, p50", median(k), "s",
                        "bare Flight SQL server, fixed row", median(p), paired(k, p), "",
                        "info", f"per-round p50 Kodiak {_list([x * 1e3 for x in k])} ms, "
                        f"peer {_list([x * 1e3 for x in p])} ms; "
                        f"`{command('jdbc_lookup', quick)}`"))
    return rows


BENCHMARKS = {"jdbc_lookup": bench_jdbc_lookup}
