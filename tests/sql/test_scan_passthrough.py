"""A scan whose columns are stored as declared streams the engine's batches unchanged.

``select *`` (or a bare choice of columns) used to pass through an Acero plan, which cut each
stored 65,536-row batch into 32,768-row morsels (more, smaller gRPC messages for DoGet) and
ran a projection over every batch. Now such a scan hands the stored batches on as they are;
a column stored in another type than the plan's (``string_view`` is stored as
``large_string``, and SQL's VARCHAR is ``string``) is still cast.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

N = 100_000


def _load(db, types: pa.DataType | None = None) -> pa.Table:
    ids = np.arange(N, dtype=np.int64)
    t = pa.table({"k": pa.array(ids), "s": pa.array([f"s{i % 311}" for i in ids], types or pa.string()),
                  "v": pa.array(ids * 0.5)})
    db.create_table("main.t", t.schema)
    db.insert("main.t", t)
    return t


def _read(session, sql: str) -> list[pa.RecordBatch]:
    r = session.execute(sql)
    return list(r.reader) if r.reader is not None else r.table.to_batches()


def test_select_star_keeps_stored_batches_and_types(db, session):
    t = _load(db)
    batches = _read(session, "select * from t")
    assert [b.num_rows for b in batches] == [65536, N - 65536]
    got = pa.Table.from_batches(batches)
    assert got.schema.types == t.schema.types  # plain string stays string
    assert got.equals(t)


def test_chosen_columns_pass_through(db, session):
    t = _load(db)
    batches = _read(session, "select v as w, k from t")
    assert [b.num_rows for b in batches] == [65536, N - 65536]
    got = pa.Table.from_batches(batches)
    assert got.column_names == ["w", "k"]
    assert got.column("w").equals(t.column("v")) and got.column("k").equals(t.column("k"))


def test_stored_type_other_than_the_plans_is_still_cast(db, session):
    t = _load(db, pa.string_view())
    got = pa.Table.from_batches(_read(session, "select s, k from t"))
    assert got.schema.field("s").type == pa.string()
    assert got.column("s").to_pylist() == t.column("s").to_pylist()
