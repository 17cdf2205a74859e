"""Aggregates over pairs of numbers, PostgreSQL's and DuckDB's: ``corr``, ``covar_pop``,
``covar_samp`` and the ``regr_*`` family; and the bitwise aggregates ``bit_and``,
``bit_or``, ``bit_xor``.

Computed from per-group value lists (``hash_list``; the second argument read beside the
first, as ``arg_min`` reads it) and finished here for all groups at once in numpy: a row
with either value NULL is skipped, then each group's means and its centred sums of squares
and products (two passes: the centred form keeps what a difference of large sums loses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..types import is_numeric
from .registry import AGGREGATE, AggregateSpec, Function, first_type, register, returns

Moments = dict[str, np.ndarray]


def _moments(parents: np.ndarray, y: pa.Array, keys: list, n: int) -> Moments:
    """Per group: the count of pairs, the means of x and y, and the centred sums
    sxx, syy, sxy (x is the second argument, as SQL's regr_* name them)."""
    x = keys[0]
    keep = pc.and_(y.is_valid(), x.is_valid()).to_numpy(zero_copy_only=False)
    p = parents[keep]
    yv = pc.cast(y.filter(keep), pa.float64()).to_numpy(zero_copy_only=False)
    xv = pc.cast(x.filter(keep), pa.float64()).to_numpy(zero_copy_only=False)
    count = np.bincount(p, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(p, xv, minlength=n) / count
        my = np.bincount(p, yv, minlength=n) / count
    dx, dy = xv - mx[p], yv - my[p]
    return {"n": count, "mx": mx, "my": my, "sxx": np.bincount(p, dx * dx, minlength=n),
            "syy": np.bincount(p, dy * dy, minlength=n),
            "sxy": np.bincount(p, dx * dy, minlength=n)}


def _pairwise(compute: Callable[[Moments], tuple[np.ndarray, np.ndarray]]
              ) -> Callable[..., pa.Array]:
    """A finish from ``compute(moments) -> (values, defined)``; NULL where not defined."""
    def finish(parents: np.ndarray, y: pa.Array, keys: list, n: int, extra: Any) -> pa.Array:
        m = _moments(parents, y, keys, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            values, defined = compute(m)
        return pa.array(np.where(defined, values, 0.0), pa.float64(), mask=~defined)
    return finish


def _corr(m: Moments) -> tuple[np.ndarray, np.ndarray]:
    d = m["sxx"] * m["syy"]
    return m["sxy"] / np.sqrt(d), (m["n"] > 0) & (d > 0)


def _r2(m: Moments) -> tuple[np.ndarray, np.ndarray]:
    """1 where every y is equal (and x is not), else corr squared (PostgreSQL's rule)."""
    r2 = np.where(m["syy"] == 0, 1.0, m["sxy"] ** 2 / (m["sxx"] * m["syy"]))
    return r2, (m["n"] > 0) & (m["sxx"] > 0)


def _slope(m: Moments) -> tuple[np.ndarray, np.ndarray]:
    return m["sxy"] / m["sxx"], (m["n"] > 0) & (m["sxx"] > 0)


def _intercept(m: Moments) -> tuple[np.ndarray, np.ndarray]:
    slope, defined = _slope(m)
    return m["my"] - slope * m["mx"], defined


_PAIRWISE: dict[str, tuple[Callable[[Moments], tuple[np.ndarray, np.ndarray]], str]] = {
    "corr": (_corr, "the correlation coefficient of y and x"),
    "covar_pop": (lambda m: (m["sxy"] / m["n"], m["n"] > 0), "population covariance"),
    "covar_samp": (lambda m: (m["sxy"] / (m["n"] - 1), m["n"] > 1), "sample covariance"),
    "regr_slope": (_slope, "slope of the least-squares line of y on x"),
    "regr_intercept": (_intercept, "intercept of the least-squares line of y on x"),
    "regr_r2": (_r2, "the coefficient of determination"),
    "regr_avgx": (lambda m: (m["mx"], m["n"] > 0), "mean of x over pairs with neither NULL"),
    "regr_avgy": (lambda m: (m["my"], m["n"] > 0), "mean of y over pairs with neither NULL"),
    "regr_sxx": (lambda m: (m["sxx"], m["n"] > 0), "sum of squares of x's deviations"),
    "regr_syy": (lambda m: (m["syy"], m["n"] > 0), "sum of squares of y's deviations"),
    "regr_sxy": (lambda m: (m["sxy"], m["n"] > 0), "sum of products of the deviations"),
}


_PAIRWISE["regr_count"] = (lambda m: (m["n"], np.ones(len(m["n"]), dtype=bool)),
                           "the number of pairs with neither NULL")

for _name, (_compute, _doc) in _PAIRWISE.items():
    register(Function(_name, AGGREGATE, None, 2, 2, (), is_numeric,
                      returns(pa.int64() if _name == "regr_count" else pa.float64()),
                      aggregate=AggregateSpec("hash_list", by_argument=True,
                                              finish=_pairwise(_compute), order_by="used",
                                              distinct=False, by_accepts=is_numeric,
                                              empty=0 if _name == "regr_count" else None),
                      window="generic", doc=f"{_name}(y, x): {_doc}"))


def _bitwise(ufunc: np.ufunc) -> Callable[..., pa.Array]:
    """A finish folding each group's non-NULL integers with ``ufunc`` (``reduceat`` over
    the values sorted by group)."""
    def finish(parents: np.ndarray, values: pa.Array, keys: list, n: int, extra: Any
               ) -> pa.Array:
        keep = values.is_valid().to_numpy(zero_copy_only=False)
        p, v = parents[keep], values.filter(keep).to_numpy(zero_copy_only=False)
        order = np.argsort(p, kind="stable")
        p, v = p[order], v[order]
        if not len(p):
            return pa.nulls(n, values.type)
        starts = np.flatnonzero(np.concatenate([[True], p[1:] != p[:-1]]))
        out = np.zeros(n, dtype=v.dtype)
        out[p[starts]] = ufunc.reduceat(v, starts)
        present = np.zeros(n, dtype=bool)
        present[p[starts]] = True
        return pa.array(out, values.type, mask=~present)
    return finish


for _name, _ufunc, _doc in (("bit_and", np.bitwise_and, "bitwise AND of the integers"),
                            ("bit_or", np.bitwise_or, "bitwise OR of the integers"),
                            ("bit_xor", np.bitwise_xor, "bitwise XOR of the integers")):
    register(Function(_name, AGGREGATE, None, 1, 1, (), pa.types.is_integer, first_type,
                      aggregate=AggregateSpec("hash_list", finish=_bitwise(_ufunc),
                                              distinct=False),
                      window="generic", doc=_doc))
