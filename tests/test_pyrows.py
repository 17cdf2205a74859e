"""Inserting Python row tuples: the same stored values as the Arrow path, checked per column."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.errors import ConstraintError, SchemaError

SCHEMA = pa.schema([pa.field("id", pa.int64(), False), ("i", pa.int32()), ("u", pa.uint8()),
                    ("f", pa.float64()), ("s", pa.string()), ("b", pa.binary()),
                    ("t", pa.bool_())])

rows_strategy = st.lists(st.tuples(
    st.integers(-(1 << 31), (1 << 31) - 1) | st.none(), st.integers(0, 255) | st.none(),
    st.floats(allow_nan=False) | st.integers(-(1 << 53), 1 << 53) | st.none(),
    st.text() | st.none(), st.binary() | st.none(), st.booleans() | st.none()),
    min_size=0, max_size=80)


@settings(max_examples=40, deadline=None)
@given(rows_strategy)
def test_same_as_the_arrow_path(tmp_path_factory, rows):
    """Rows as tuples and the same rows as an Arrow table store the same values, before and
    after reopening (the WAL record replays); up to 64 rows take the checked Python path,
    more the Arrow conversion."""
    path = str(tmp_path_factory.mktemp("pyrows"))
    db = engine.Database.open(path)
    try:
        for name in ("py", "arrow"):
            db.create_table(name, SCHEMA, primary_key=["id"])
        full = [(k, *r) for k, r in enumerate(rows)]
        assert db.insert("py", full) == len(full)
        table = pa.table(list(zip(*full, strict=True)) if full else [[]] * 7, schema=SCHEMA)
        db.insert("arrow", table)
        want = db.snapshot().scan("arrow").read_all().sort_by("id")
        assert db.snapshot().scan("py").read_all().sort_by("id").equals(want)
    finally:
        db.close()
    db = engine.Database.open(path)
    try:
        assert db.snapshot().scan("py").read_all().sort_by("id").equals(want)
    finally:
        db.close()


def test_bad_values_name_the_column_and_change_nothing(db):
    db.create_table("t", SCHEMA, primary_key=["id"])
    good = (1, 1, 1, 1.0, "a", b"a", True)
    cases = [
        ((2, "x", 1, 1.0, "a", b"a", True), SchemaError, "'i'"),
        ((2, True, 1, 1.0, "a", b"a", True), SchemaError, "'i'"),  # a bool is no integer
        ((2, 1 << 31, 1, 1.0, "a", b"a", True), SchemaError, "'i'"),  # out of int32
        ((2, 1, 256, 1.0, "a", b"a", True), SchemaError, "'u'"),
        ((2, 1, 1, "1.0", "a", b"a", True), SchemaError, "'f'"),
        ((2, 1, 1, 1.0, b"a", b"a", True), SchemaError, "'s'"),
        ((2, 1, 1, 1.0, "a", "a", True), SchemaError, "'b'"),
        ((2, 1, 1, 1.0, "a", b"a", 1), SchemaError, "'t'"),
        ((None, 1, 1, 1.0, "a", b"a", True), ConstraintError, "NOT NULL column 'id'"),
        ((2, 1, 1), SchemaError, "a row of 3 values"),
    ]
    for row, err, text in cases:
        with pytest.raises(err, match=text):
            db.insert("t", [good, row])
    assert db.snapshot().table("t").row_count == 0
    db.insert("t", [good])
    with pytest.raises(ConstraintError, match="duplicate primary key"):
        db.insert("t", [(3, None, None, None, None, None, None), good])
    assert db.snapshot().table("t").row_count == 1


def test_other_column_types_go_through_arrow(db):
    schema = pa.schema([pa.field("k", pa.int64(), False), ("d", pa.date32()),
                        ("m", pa.decimal128(10, 2)), ("x", pa.float32())])
    db.create_table("o", schema, primary_key=["k"])
    db.insert("o", [(1, dt.date(2024, 1, 2), decimal.Decimal("3.25"), 0.1)])
    got = db.snapshot().scan("o").read_all().to_pylist()
    assert got[0]["d"] == dt.date(2024, 1, 2) and got[0]["m"] == decimal.Decimal("3.25")
    assert got[0]["x"] == pa.scalar(0.1, pa.float32()).as_py()
    with pytest.raises(SchemaError, match="'d'"):
        db.insert("o", [(2, "not a date", None, None)])
    with db.begin() as tx:  # inside a transaction too
        assert tx.insert("o", [(3, None, None, None)]) == 1
    assert db.snapshot().table("o").row_count == 2
