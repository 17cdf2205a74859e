"""Fixtures: a fresh engine database per test, shared sample data, cached TPC-H SF0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql import binder as binder_mod

from .harness import load, plain

TPCH_TABLES = ["nation", "region", "part", "supplier", "partsupp", "customer", "orders",
               "lineitem"]


@pytest.fixture
def db(tmp_path):
    d = engine.Database.open(str(tmp_path / "db"))
    yield d
    close = getattr(d, "close", None)
    if close:
        close()


@pytest.fixture
def binds(monkeypatch):
    """Counts how many times a top-level query is bound."""
    calls = []
    real = binder_mod.Binder.bind_query

    def counting(self, node, corr_mode=None):
        if corr_mode is None and self.outer is None:
            calls.append(1)
        return real(self, node, corr_mode)

    monkeypatch.setattr(binder_mod.Binder, "bind_query", counting)
    return calls


@pytest.fixture
def session(db):
    s = Session(db)
    yield s
    s.close()


def sample_tables() -> dict[str, pa.Table]:
    t = pa.table({
        "id": pa.array([1, 2, 3, 4, 5, 6, 7, 8], pa.int64()),
        "grp": ["a", "b", "a", "c", None, "b", "a", "c"],
        "x": pa.array([10, 20, None, 40, 50, -5, 7, 0], pa.int32()),
        "y": [1.5, 2.25, 3.0, None, -1.0, 0.5, 100.0, 2.0],
        "price": pa.array([None, "1.10", "2.20", "3.30", "4.40", "5.50", "0.01", "9.99"]
                          ).cast(pa.decimal128(10, 2)),
        "name": ["alpha", "Beta", "gamma", "delta", "epsilon", None, "eta", "theta  "],
        "d": pa.array([0, 31, 59, 365, 400, None, 1000, 12000]).cast(pa.int32())
        .cast(pa.date32()),
        "flag": [True, False, None, True, True, False, True, None],
    })
    u = pa.table({
        "id": pa.array([1, 2, 2, 3, 9, None], pa.int64()),
        "grp": ["a", "b", "x", None, "c", "a"],
        "v": pa.array([100, 200, 201, 300, 900, 0], pa.int32()),
    })
    return {"t": t, "u": u, **extra_tables()}


def extra_tables() -> dict[str, pa.Table]:
    """Deterministic tables for the wider differential suite.

    ``n``: nullable ints/floats/decimals/strings (arithmetic, NULL logic, functions);
    ``dt``: dates and timestamps around month ends and leap days (interval arithmetic);
    ``big``/``small``: very different sizes, so joins hash the smaller side either way.
    """
    import numpy as np
    rng = np.random.default_rng(7)
    k = 40

    def nullable(values: np.ndarray, every: int, typ: pa.DataType) -> pa.Array:
        mask = (np.arange(len(values)) % every) == every - 1
        return pa.array(values, typ, mask=mask)

    words = ["apple", "Banana", "cherry", "date", "elder", "fig", "grape", "kiwi ", " lime",
             "mango", "", "nut"]
    n = pa.table({
        "k": pa.array(np.arange(k), pa.int64()),
        "a": nullable(rng.integers(-20, 20, k), 5, pa.int32()),
        "b": nullable(rng.integers(-3, 4, k), 4, pa.int64()),
        "f": nullable(np.round(rng.normal(0, 10, k), 3), 6, pa.float64()),
        "m": pa.array([None if i % 7 == 3 else f"{(i * 37) % 1000 - 500}.{i % 100:02d}"
                       for i in range(k)]).cast(pa.decimal128(9, 2)),
        "s": pa.array([None if i % 9 == 4 else words[i % len(words)] for i in range(k)]),
        "g": pa.array([["x", "y", "z", None][i % 4] for i in range(k)]),
        "p": pa.array([None if i % 8 == 5 else bool(i % 3) for i in range(k)]),
    })
    days = [(np.datetime64(d) - np.datetime64("1970-01-01")).astype(int) for d in (
        "2020-01-31", "2020-02-29", "2019-02-28", "2021-03-31", "2020-12-31", "2000-02-29",
        "1999-12-15", "2024-05-31", "2023-08-30", "2022-10-01")]
    dtab = pa.table({
        "id": pa.array(np.arange(len(days) + 1), pa.int64()),
        "d": pa.array(days + [None], pa.int32()).cast(pa.date32()),
        "ts": pa.array([int(x) * 86_400_000_000 + i * 3_723_000_000
                        for i, x in enumerate(days)] + [None], pa.int64()
                       ).cast(pa.timestamp("us")),
        "v": pa.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, None], pa.int32()),
    })
    nb = 3000
    big = pa.table({
        "id": pa.array(np.arange(nb), pa.int64()),
        "key": pa.array(np.where(np.arange(nb) % 97 == 0, -1, np.arange(nb) % 50), pa.int64()),
        "val": pa.array(rng.integers(0, 1000, nb), pa.int64()),
        "tag": pa.array([f"t{i % 13}" for i in range(nb)]),
    })
    small = pa.table({
        "key": pa.array([1, 2, 3, None, 60], pa.int64()),
        "name": ["one", "two", "three", "null", "sixty"],
        "lim": pa.array([100, 500, 900, 0, 50], pa.int64()),
    })
    return {"n": n, "dt": dtab, "big": big, "small": small}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """(session, duckdb connection) with tables t and u loaded in both."""
    path = tmp_path_factory.mktemp("sample")
    d = engine.Database.open(str(path / "db"))
    con = duckdb.connect()
    for name, table in sample_tables().items():
        load(d, name, table)
        con.register(f"{name}_src", table)
        con.execute(f"create table {name} as select * from {name}_src")
        con.unregister(f"{name}_src")
    s = Session(d)
    yield s, con
    s.close()


TPCH_SCALE = "0.1"  # the test scale; SF1 runs in bench/


def _tpch_dir(root: Path) -> Path:
    out = root / f"tpch-sf{TPCH_SCALE}"
    if (out / "lineitem.parquet").exists():
        return out
    tmp = root / "tpch-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    exe = Path(sys.executable).with_name("tpchgen-cli")
    subprocess.run([str(exe) if exe.exists() else "tpchgen-cli", "parquet", "-s", TPCH_SCALE,
                    "--output-dir", str(tmp)], check=True, capture_output=True)
    tmp.rename(out)
    return out


@pytest.fixture(scope="session")
def tpch(tmp_path_factory):
    """(session, duckdb connection) with TPC-H SF0.1 loaded in both."""
    root = tmp_path_factory.getbasetemp().parent / "kodiak-tpch-cache"
    root.mkdir(exist_ok=True)
    data = _tpch_dir(root)
    d = engine.Database.open(str(tmp_path_factory.mktemp("tpch") / "db"))
    con = duckdb.connect()
    for name in TPCH_TABLES:
        files = [data / f"{name}.parquet"] if (data / f"{name}.parquet").exists() \
            else sorted((data / name).glob("*.parquet"))
        table = pa.concat_tables([pq.read_table(f) for f in files])
        load(d, name, table)
        con.register(f"{name}_src", plain(table))
        con.execute(f"create table {name} as select * from {name}_src")
        con.unregister(f"{name}_src")
    s = Session(d)
    yield s, con
    s.close()


@pytest.fixture
def optimizes(monkeypatch):
    """Counts the optimiser's runs made for kept statements (``plancache``)."""
    from kodiak_flight.sql import plancache
    calls = []
    real = plancache.optimize

    def counting(plan):
        calls.append(1)
        return real(plan)

    monkeypatch.setattr(plancache, "optimize", counting)
    return calls
