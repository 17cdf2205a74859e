"""Arrow results as pandas or Polars frames, importing them only when asked (the ``kodiak``
command and plain Arrow users never pay for importing either)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def to_pandas(table: pa.Table) -> Any:
    try:
        import pandas  # noqa: F401 - pyarrow needs it; named here for a clear error
    except ImportError:
        raise ImportError("df() needs pandas: pip install pandas") from None
    return table.to_pandas()


def to_polars(table: pa.Table) -> Any:
    try:
        import polars
    except ImportError:
        raise ImportError("pl() needs polars: pip install polars") from None
    return polars.from_arrow(table)
