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


def test_view_columns_read_as_stored_for_the_plan(db, session, monkeypatch):
    """A string_view column is read from the engine as its stored large_string (cast to the
    plan's string by narrowing offsets, not through the view type) with the same answers."""
    import engine

    t = _load(db, pa.string_view())
    asked = []
    scan = engine.Snapshot.scan

    def spy(self, *args, **kwargs):
        asked.append(kwargs.get("stored_types", False))
        return scan(self, *args, **kwargs)

    monkeypatch.setattr(engine.Snapshot, "scan", spy)
    got = session.execute("select s, count(*) as n, sum(v) as v from t where s < 's2' "
                          "group by s order by s").reader.read_all()
    assert asked and all(asked)
    want = pa.table({"s": t.column("s").cast(pa.string()), "v": t.column("v")}
                    ).group_by("s").aggregate([("v", "count"), ("v", "sum")]).sort_by("s")
    want = want.filter(pa.compute.less(want.column("s"), "s2"))
    assert got.column("s").to_pylist() == want.column("s").to_pylist()
    assert got.column("n").to_pylist() == want.column("v_count").to_pylist()
    assert got.column("v").to_pylist() == want.column("v_sum").to_pylist()
    assert got.schema.field("s").type == pa.string()
