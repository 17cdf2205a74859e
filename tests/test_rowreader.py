"""The fast row reader returns exactly what pyarrow's own conversion returns."""

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from engine.rowreader import BatchRows

COLUMNS = {
    "i8": pa.array([1, None, -3, 4], pa.int8()),
    "u64": pa.array([2**64 - 1, 0, None, 7], pa.uint64()),
    "f32": pa.array([1.5, None, float("inf"), -0.0], pa.float32()),
    "f64": pa.array([None, 2.25, 3.0, 1e300]),
    "s": pa.array(["α", "", None, "xyz"]),
    "ls": pa.array(["a", None, "bb", ""], pa.large_string()),
    "b": pa.array([True, None, False, True]),
    "d": pa.array([dt.date(2020, 1, 1), None, dt.date(1970, 1, 1), dt.date(2999, 12, 31)]),
    "ts": pa.array([dt.datetime(2020, 1, 1, 1), None, None, dt.datetime(1999, 1, 1)],
                   pa.timestamp("us", "UTC")),
    "dec": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("-2.00"), None],
                    pa.decimal128(10, 2)),
    "lst": pa.array([[1], None, [], [2, 3]]),
}


@pytest.mark.parametrize("start", [0, 1, 2])
def test_rows_match_pyarrow(start):
    batch = pa.record_batch(list(COLUMNS.values()), names=list(COLUMNS)).slice(start)
    rows = BatchRows(batch)
    expect = batch.to_pylist()
    for i, want in enumerate(expect):
        assert dict(zip(rows.names, rows.row(i), strict=True)) == want
