"""``SUMMARIZE t`` / ``SUMMARIZE SELECT ...``: per column its type, min, max, distinct count,
mean, standard deviation, quartiles, row count and NULL percentage, as DuckDB shows them.

All columns are summarised by one Acero aggregation streamed over the query's rows (the
quartiles by t-digest, approximate as DuckDB's are); only the one result row is formatted
in Python.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc
from sqlglot import exp

from ..binder import Context
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..executor import Executor
from ..executor.acero import seq
from ..executor.arrow_errors import arrow_errors
from ..result import Result, rows
from ..types import sql_name
from .query import QUERY_NODES, plan_query
from .registry import Statement, register

SUMMARY = pa.schema([
    pa.field("column_name", pa.string()), pa.field("column_type", pa.string()),
    pa.field("min", pa.string()), pa.field("max", pa.string()),
    pa.field("approx_unique", pa.int64()), pa.field("avg", pa.string()),
    pa.field("std", pa.string()), pa.field("q25", pa.string()), pa.field("q50", pa.string()),
    pa.field("q75", pa.string()), pa.field("count", pa.int64()),
    pa.field("null_percentage", pa.decimal128(9, 2))])
QUARTILES = (("q25", 0.25), ("q50", 0.5), ("q75", 0.75))
_EPOCH = dt.datetime(1970, 1, 1)


@register
class Summarize(Statement):
    node = exp.Summarize
    writes = False

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return SUMMARY

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        target = node.this
        if isinstance(target, exp.Table):
            query: exp.Expression = exp.select("*").from_(target.copy())
        elif isinstance(target, QUERY_NODES):
            query = target
        else:
            raise NotSupportedError(f"SUMMARIZE {target.sql(dialect='duckdb')} is not "
                                    "supported")
        plan, names = plan_query(ex.bind, query)
        executor = Executor(ex.snap, ex.interrupt)
        fields = [(n, i, t) for n, (i, t) in zip(names, plan.output, strict=True)]
        decl = seq(executor.as_decl(executor.run(plan)), *_summary_nodes(fields))
        stats = arrow_errors(decl.to_table)(use_threads=True).to_pylist()[0]
        return rows(pa.Table.from_pylist([_row(k, n, t, stats) for k, (n, _, t) in
                                          enumerate(fields)], schema=SUMMARY))


def _kind(t: pa.DataType) -> str:
    """How a column is summarised: number, time (dates, timestamps), plain (min, max and
    distinct count only) or nested (counts only)."""
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_nested(t) or pa.types.is_null(t) or pa.types.is_interval(t):
        return "nested"
    return "plain"


def _summary_nodes(fields: list[tuple[str, str, pa.DataType]]) -> list[ac.Declaration]:
    """A projection (each column, and its numeric form for mean and quartiles) and one
    aggregation computing every statistic of every column."""
    exprs, names = [], []
    aggs: list[tuple[str, str, Any, str]] = [("v0", "count", pc.CountOptions("all"), "rows")] \
        if fields else []
    for k, (_, cid, t) in enumerate(fields):
        v, x = f"v{k}", f"x{k}"
        exprs.append(pc.field(cid))
        names.append(v)
        kind = _kind(t)
        aggs.append((v, "count", pc.CountOptions("only_null"), f"nulls{k}"))
        if kind == "nested":
            continue
        aggs += [(v, "min", None, f"min{k}"), (v, "max", None, f"max{k}"),
                 (v, "count_distinct", None, f"distinct{k}")]
        if kind == "plain":
            continue
        numeric = pc.field(cid).cast(pa.float64()) if kind == "number" else \
            pc.field(cid).cast(pa.int32()).cast(pa.int64()) if pa.types.is_date(t) else \
            pc.field(cid).cast(pa.int64())
        exprs.append(numeric)
        names.append(x)
        aggs.append((x, "mean", None, f"avg{k}"))
        if kind == "number":
            aggs.append((x, "stddev", pc.VarianceOptions(ddof=1), f"std{k}"))
        aggs += [(x, "tdigest", pc.TDigestOptions(q=q), f"{name}_{k}")
                 for name, q in QUARTILES]
    return [ac.Declaration("project", ac.ProjectNodeOptions(exprs, names)),
            ac.Declaration("aggregate", ac.AggregateNodeOptions(aggs))]


def _row(k: int, name: str, t: pa.DataType, stats: dict[str, Any]) -> dict[str, Any]:
    count = stats["rows"]
    nulls = stats[f"nulls{k}"]
    kind = _kind(t)
    row = {"column_name": name, "column_type": sql_name(t), "count": count,
           "approx_unique": stats.get(f"distinct{k}"),
           "min": text(stats.get(f"min{k}")), "max": text(stats.get(f"max{k}")),
           "null_percentage": None if not count else
           (Decimal(100 * nulls) / Decimal(count)).quantize(Decimal("0.01"), ROUND_HALF_UP)}
    avg = stats.get(f"avg{k}")
    if kind == "number":
        row["avg"] = text(avg)
        row["std"] = text(stats.get(f"std{k}"))
    elif kind == "time" and avg is not None:
        row["avg"] = text(_as_time(avg * 86_400_000_000 if pa.types.is_date(t) else avg))
    for q, _ in QUARTILES:
        row[q] = _quartile(stats.get(f"{q}_{k}"), t)
    return row


def _as_time(micros: float) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(micros))


def _quartile(v: float | None, t: pa.DataType) -> str | None:
    """A quartile (a double from the t-digest) in the column's own type, as DuckDB shows
    it."""
    if v is None:
        return None
    if pa.types.is_floating(t):
        return text(v)
    if pa.types.is_decimal(t):
        return str(Decimal(v).quantize(Decimal(1).scaleb(-t.scale), ROUND_HALF_UP))
    if pa.types.is_integer(t):
        return str(int(Decimal(v).quantize(Decimal(1), ROUND_HALF_UP)))
    if pa.types.is_date(t):
        return (_EPOCH + dt.timedelta(days=int(v // 1))).date().isoformat()
    return text(_as_time(v))


def text(v: Any) -> str | None:
    """A value as DuckDB casts it to VARCHAR."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else \
            {"nan": "nan", "inf": "inf", "-inf": "-inf"}[repr(v)]
    if isinstance(v, dt.datetime):
        s = v.replace(tzinfo=None).isoformat(sep=" ")
        s = s.rstrip("0") if "." in s else s
        return s + ("+00" if v.tzinfo is not None else "")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in v)
    return str(v)
