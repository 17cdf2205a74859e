"""The 22 TPC-H queries at SF0.1, compared against DuckDB."""

from __future__ import annotations

import pytest

from .harness import check
from .tpch_queries import QUERIES

XFAIL: dict[int, str] = {}


@pytest.mark.parametrize("n", sorted(QUERIES))
def test_tpch(tpch, n):
    if n in XFAIL:
        pytest.xfail(XFAIL[n])
    session, duck = tpch
    check(session, duck, QUERIES[n])
