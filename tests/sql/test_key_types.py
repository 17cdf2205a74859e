"""Columns of types that have no order or cannot be keys, as a client's data brings them.

ORDER BY ... LIMIT on a list, struct, map or interval column used to end the process (Arrow's
``select_k_unstable`` crashes on key types it lacks instead of raising); GROUP BY, DISTINCT,
UNION and min/max over them answered with Arrow's kernel names. Each is now refused before
anything runs, naming the clause and the type; half floats are stored as FLOAT.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kodiak_flight.sql.errors import SqlTypeError
from kodiak_flight.sql.executor.sort_limit import selectable
from kodiak_flight.sql.ingest import IngestTarget

N = 40
COLUMNS = {
    "list": (pa.array([[k % 3, 1] if k % 5 else None for k in range(N)]), "BIGINT[]"),
    "struct": (pa.array([{"x": k % 3} for k in range(N)]), "STRUCT(x BIGINT)"),
    "map": (pa.array([[("a", k % 3)] for k in range(N)], pa.map_(pa.string(), pa.int64())),
            "MAP(VARCHAR, BIGINT)"),
    "interval": (pa.array([(k % 3, 0, 0) for k in range(N)], pa.month_day_nano_interval()),
                 "INTERVAL"),
}
# (query, the clause the error names, whether intervals are refused too)
REFUSED = [
    ("select * from t order by s limit 2", "ORDER BY", True),
    ("select * from t order by s", "ORDER BY", True),
    ("select s from t union all select s from t order by 1 limit 3", "ORDER BY", True),
    ("select i, row_number() over (order by s) from t", "a window's ORDER BY", True),
    ("select i, row_number() over (partition by s order by i) from t", "PARTITION BY", True),
    ("select s, count(*) from t group by s", "GROUP BY", False),
    ("select distinct s from t", "SELECT DISTINCT", False),
    ("select s from t union select s from t", "UNION", False),
    ("select s from t intersect select s from t", "INTERSECT", False),
    ("select count(distinct s) from t", "count(DISTINCT ...)", False),
]


@pytest.fixture(params=sorted(COLUMNS))
def kind(request, db, session):
    arr, _ = COLUMNS[request.param]
    t = pa.table({"s": arr, "i": np.arange(N)})
    db.create_table("main.t", t.schema)
    db.insert("main.t", t)
    return request.param


@pytest.mark.parametrize("query,clause,intervals", REFUSED)
def test_refused_in_sql_words(session, kind, query, clause, intervals):
    if kind == "interval" and not intervals:
        r = session.execute(query)  # intervals hash: grouping them works
        assert (r.table if r.table is not None else r.reader.read_all()).num_rows >= 1
        return
    with pytest.raises(SqlTypeError) as e:
        session.execute(query)
    message = str(e.value)
    assert message.startswith(f"{clause} is not supported on values of type "
                              f"{COLUMNS[kind][1]}"), message
    assert "list<" not in message and "struct<" not in message and "_interval" not in message


@pytest.mark.parametrize("query", ["select min(s) from t", "select max(s) from t group by i",
                                   "select any_value(s) from t"])
def test_extremes_refused(session, kind, query):
    with pytest.raises(SqlTypeError, match=f"is not defined for {COLUMNS[kind][1]}"
                       .replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        session.execute(query)


def test_cast_to_text_names_sql_types(session, kind):
    if kind == "interval":  # (intervals have a text form: tests/sql/test_corpus_features.py)
        got = session.execute("select cast(s as varchar) from t where i < 2 order by i")
        assert got.reader.read_all().column(0).to_pylist() == ["00:00:00", "1 month"]
        return
    with pytest.raises(SqlTypeError) as e:
        session.execute("select cast(s as varchar) from t")
    assert str(e.value) == f"CAST to VARCHAR is not defined for operand types " \
                           f"({COLUMNS[kind][1]})"


def test_rows_still_read(session, kind):
    r = session.execute("select s, i from t where i < 3 order by i")
    got = r.table if r.table is not None else r.reader.read_all()
    assert got.column("s").to_pylist() == COLUMNS[kind][0][:3].to_pylist()


def test_selection_kernel_takes_what_it_is_given():
    """``top_rows`` hands Arrow's selection only the key types it takes (any other crashes
    the process); each type said to be taken is, with NULLs."""
    for t in (pa.bool_(), pa.int8(), pa.uint64(), pa.float32(), pa.float64(),
              pa.decimal128(10, 2), pa.decimal256(40, 2), pa.string(), pa.large_string(),
              pa.binary(), pa.large_binary(), pa.binary(2), pa.date32(), pa.date64(),
              pa.time32("s"), pa.time64("us"), pa.timestamp("ms", "UTC"),
              pa.duration("ms"), pa.null()):
        assert selectable(t), t
        col = pa.nulls(3, t)
        got = pc.select_k_unstable(pa.table({"k": col, "p": [2, 1, 0]}), k=2,
                                   sort_keys=[("k", "ascending"), ("p", "ascending")])
        assert len(got) == 2
    for t in (pa.float16(), pa.string_view(), pa.binary_view(), pa.month_day_nano_interval(),
              pa.dictionary(pa.int32(), pa.string()), pa.list_(pa.int64()),
              pa.struct([("x", pa.int64())]), pa.map_(pa.string(), pa.int64())):
        assert not selectable(t), t


def test_view_and_dictionary_keys_sorted_and_cut(session, db):
    """Ingested views and dictionaries (what Polars and pandas' categoricals send) sort and
    cut as strings."""
    names = [f"v{k % 7}" for k in range(N)]
    for i, arr in enumerate((pa.array(names, pa.string_view()),
                             pa.array(names).dictionary_encode())):
        t = pa.table({"s": arr, "i": np.arange(N)})
        session.ingest(IngestTarget(f"d{i}"), pa.RecordBatchReader.from_batches(
            t.schema, t.to_batches()))
        r = session.execute(f"select s, i from d{i} order by s desc, i limit 3")
        got = r.table if r.table is not None else r.reader.read_all()
        assert got.to_pylist() == [{"s": "v6", "i": 6}, {"s": "v6", "i": 13},
                                   {"s": "v6", "i": 20}]


def test_half_floats_stored_as_float(session):
    values = np.array([2.5, -1.0, 0.0, 7.25, 3.0], np.float16)
    t = pa.table({"h": pa.array(values), "i": np.arange(5)})
    session.ingest(IngestTarget("h"), pa.RecordBatchReader.from_batches(t.schema,
                                                                        t.to_batches()))
    r = session.execute("select min(h), max(h), sum(h) from h")
    got = r.table if r.table is not None else r.reader.read_all()
    assert got.schema.field(0).type == pa.float32()
    assert got.to_pylist() == [{"min(h)": -1.0, "max(h)": 7.25, "sum(h)": 11.75}]
    r = session.execute("select i from h where h > 2 order by h desc limit 2")
    got = r.table if r.table is not None else r.reader.read_all()
    assert got.column("i").to_pylist() == [3, 4]
