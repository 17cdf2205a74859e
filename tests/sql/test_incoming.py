"""Data a client built itself: text that is not UTF-8 and offsets that run backwards are
refused, by column name, before anything is stored (``sql/incoming.py``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import ExecutionError, SqlError
from kodiak_flight.sql.incoming import SMALL, check_columns
from kodiak_flight.sql.ingest import IngestTarget

TEXT = pa.string()


def built(data: bytes, offsets: list[int], t: pa.DataType = TEXT) -> pa.Array:
    """An array from raw buffers, as a client writing its own IPC can send it."""
    width = np.int64 if t in (pa.large_string(), pa.large_binary()) else np.int32
    off = np.array(offsets, width)
    return pa.Array.from_buffers(t, len(off) - 1, [None, pa.py_buffer(off.tobytes()),
                                                   pa.py_buffer(data)])


BAD_TEXT = built(b"ok\xff\xfeabc\xc3", [0, 2, 4, 7, 8])
MANY = SMALL + 10  # past the size Arrow's full validation checks alone


def large(tail: pa.Array, t: pa.DataType = TEXT) -> pa.Array:
    return pa.concat_arrays([pa.array(["x"] * MANY, t), tail])


CASES = {
    "bad text, few rows": (BAD_TEXT, "not valid UTF-8"),
    "bad text, many rows": (large(BAD_TEXT), "not valid UTF-8"),
    "bad large_string": (built(b"x" * MANY + b"\xff", [*range(MANY + 1), MANY + 1],
                               pa.large_string()), "not valid UTF-8"),
    "offsets backwards": (built(b"abcdef" * MANY, [0, *([4, 2] * (MANY // 2)), 6 * MANY]),
                          "malformed"),
    "binary backwards": (built(b"abcdef" * MANY, [0, *([4, 2] * (MANY // 2)), 6 * MANY],
                               pa.binary()), "malformed"),
    "nested bad text": (pa.ListArray.from_arrays(pa.array([0, 2, 4], pa.int32()), BAD_TEXT),
                        "not valid UTF-8"),
    "dictionary index past its values": (pa.DictionaryArray.from_buffers(
        pa.dictionary(pa.int32(), pa.string()), 3,
        [None, pa.py_buffer(np.array([0, 5, 1], np.int32).tobytes())], pa.array(["a", "b"])),
        "malformed"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused(case):
    arr, words = CASES[case]
    with pytest.raises(ExecutionError, match=f"ingest: column 'c' .*{words}"):
        check_columns(["c"], [arr], "ingest")


@pytest.mark.parametrize("arr", [
    pa.array(["héllo", "naïve", None] * MANY), pa.array(["plain"] * MANY),
    pa.array([b"\xff\x00"] * MANY), large(BAD_TEXT.cast(pa.binary()), pa.binary()),
    pa.concat_arrays([BAD_TEXT, pa.array(["y"] * MANY)]).slice(4),  # the bad rows sliced off
    pa.array(["a", "b"] * MANY, pa.large_string()), pa.array(np.arange(MANY))])
def test_accepted(arr):
    check_columns(["c"], [arr], "ingest")


def test_sliced_bad_text_seen():
    arr = pa.concat_arrays([BAD_TEXT, pa.array(["y"] * MANY)]).slice(1)
    with pytest.raises(ExecutionError, match="not valid UTF-8"):
        check_columns(["c"], [arr], "ingest")


def test_ingest_stores_nothing(session):
    t = pa.table({"s": large(BAD_TEXT), "i": np.arange(MANY + 4)})
    reader = pa.RecordBatchReader.from_batches(t.schema, t.to_batches())
    with pytest.raises(ExecutionError, match="ingest: column 's' holds text that is not "
                                             "valid UTF-8"):
        session.ingest(IngestTarget("t"), reader)
    with pytest.raises(SqlError, match="does not exist|not found"):
        session.execute("select count(*) from t")


def test_ingest_appends_nothing(session):
    session.execute("create table t (s varchar, i bigint)")
    session.execute("insert into t values ('kept', 1)")
    first = pa.table({"s": ["fine"] * 3, "i": [2, 3, 4]})
    bad = pa.table({"s": BAD_TEXT, "i": [5, 6, 7, 8]})
    reader = pa.RecordBatchReader.from_batches(first.schema, [*first.to_batches(),
                                                              *bad.to_batches()])
    with pytest.raises(ExecutionError, match="not valid UTF-8"):
        session.ingest(IngestTarget("t", if_missing="fail", if_exists="append"), reader)
    r = session.execute("select s from t")
    assert (r.table if r.table is not None else r.reader.read_all()).to_pylist() == \
        [{"s": "kept"}]


def test_parameters_checked(session):
    with pytest.raises(ExecutionError, match="parameter: column .* not valid UTF-8"):
        session.execute("select ? as v", pa.table({"p": BAD_TEXT.slice(1, 1)}))
    r = session.execute("select ? as v", pa.table({"p": ["fine"]}))
    assert (r.table if r.table is not None else r.reader.read_all()).to_pylist() == \
        [{"v": "fine"}]
