"""Joins look a small side's keys up through the big side's primary key or index.

``executor.join.index_join``: when one input is expected to be small and the other is a scan of
a keyed table many times larger, the small side runs first and the big one is read through
one batched B+ tree probe (an engine ``In`` predicate) instead of in full. Results are
checked against DuckDB for every join kind the rewrite applies to, with NULL and unmatched
keys on both sides.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from engine import predicate as P

from .harness import check

N = 50_000


@pytest.fixture
def tables(session):
    db = session.db
    ids = np.arange(N, dtype=np.int64)
    big = pa.table({"id": ids, "grp": (ids % 97).astype(np.int64),
                    "name": pa.array([f"n{i}" for i in range(N)])})
    small = pa.table({"sid": pa.array(range(12), pa.int64()),
                      "ref": pa.array([3, 3, 17, 49_999, 60_000, None, 0, 25_000, 17, -1,
                                       None, 4], pa.int64()),
                      "label": [f"l{i}" for i in range(12)]})
    session.execute("create table big (id bigint primary key, grp bigint, name varchar)")
    session.execute("create index big_grp on big (grp)")
    session.execute("create table small (sid bigint, ref bigint, label varchar)")
    db.insert("big", big)
    db.insert("small", small)
    duck = duckdb.connect()
    duck.register("big", big)
    duck.register("small", small)
    return duck


@pytest.fixture
def probes(monkeypatch, session):
    """The engine predicates scans of ``big`` were given (a key lookup counts as ``In``, an
    index read as its predicate)."""
    seen = []
    snap_cls = type(session.db.snapshot())
    real = snap_cls.scan

    def scan(self, name, columns=None, predicate=None, **kw):
        if name.endswith("big"):
            seen.append(predicate)
        return real(self, name, columns=columns, predicate=predicate, **kw)

    real_lookup = snap_cls.lookup

    def lookup(self, name, keys, columns=None):
        if name.endswith("big"):
            seen.append(P.In("key", tuple(keys if isinstance(keys, list)
                                          else keys.column(0).to_pylist())))
        return real_lookup(self, name, keys, columns=columns)

    real_index_rows = snap_cls.index_rows

    def index_rows(self, name, predicate, columns=None):
        if name.endswith("big"):
            seen.append(predicate)
        return real_index_rows(self, name, predicate, columns)

    monkeypatch.setattr(snap_cls, "scan", scan)
    monkeypatch.setattr(snap_cls, "lookup", lookup)
    monkeypatch.setattr(snap_cls, "index_rows", index_rows)
    return seen


def _probed(seen) -> bool:
    def has_in(p) -> bool:
        return isinstance(p, P.In) or (isinstance(p, P.And) and any(map(has_in, p.parts)))
    return any(has_in(p) for p in seen)


@pytest.mark.parametrize("sql", [
    "select s.sid, b.id, b.name from small s join big b on b.id = s.ref",
    "select s.sid, b.name from big b join small s on s.ref = b.id",
    "select s.sid, b.name from small s left join big b on b.id = s.ref",
    "select s.sid from small s where s.ref in (select id from big)",
    "select s.sid from small s where exists (select 1 from big b where b.id = s.ref)",
    "select s.sid from small s where not exists (select 1 from big b where b.id = s.ref)",
    "select s.sid, b.name from small s join big b on b.id = s.ref and b.grp > 10",
    "select s.label, count(*) from small s join big b on b.grp = s.ref group by s.label",
])
def test_index_join_matches_duckdb(session, tables, probes, sql):
    check(session, tables, sql)
    assert _probed(probes), "the big table was scanned in full"


def test_big_outer_side_is_scanned_in_full(session, tables, probes):
    """A LEFT JOIN keeping every row of the big table cannot be restricted to the keys."""
    check(session, tables, "select b.id, s.sid from big b left join small s on s.ref = b.id")
    assert not _probed(probes)


def test_many_keys_scan_instead(session, tables, probes):
    check(session, tables, "select count(*) from big a join big b on a.id = b.id")
    assert not _probed(probes)
