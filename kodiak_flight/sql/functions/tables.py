"""Table functions: the file readers ``read_csv``, ``read_parquet``, ``read_json``,
``read_ndjson`` and ``read_arrow`` (with their DuckDB spellings), usable in FROM. Reading is
``files``' and the format registry's part; here they are named, and ``table_function``
finds them (and ``range`` / ``generate_series``, from ``series``) for the binder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from .. import files
from .registry import TABLE, Function, check_arity, lookup, register

FileCall = tuple[str, str, dict[str, Any]]  # (path, format, options)


def _reader(fmt: str) -> Callable[[str, list[exp.Expression]], FileCall]:
    def build(name: str, args: list[exp.Expression]) -> FileCall:
        return files.file_arguments(name, fmt, args)
    return build


def table_function(node: exp.Expression) -> Any:
    """What the table function ``node`` (the ``this`` of a FROM-clause table) calls: a file
    reader's ``(path, format, options)``, a ``series.SeriesCall``; None for no table
    function."""
    if isinstance(node, exp.GenerateSeries):  # how the dialect parses range() too
        name = "range" if node.args.get("is_end_exclusive") else "generate_series"
        parts = ("end",) if node.meta.get("stop_only") else ("start", "end", "step")
        args = [node.args[k] for k in parts if node.args.get(k) is not None]
    elif isinstance(node, exp.ReadParquet):
        name, args = "read_parquet", list(node.expressions)
    elif isinstance(node, exp.ReadCSV):
        name, args = "read_csv", [node.this, *node.expressions]
    elif isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), list(node.expressions)
    else:
        return None
    fn = lookup(name)
    if fn is None or fn.kind != TABLE:
        return None
    check_arity(fn, len(args), name)
    assert fn.build is not None
    return fn.build(name, args)


for _name, _fmt, _aliases in (("read_csv", "csv", ("read_csv_auto",)),
                              ("read_parquet", "parquet", ("parquet_scan",)),
                              ("read_json", "json", ("read_json_auto",)),
                              ("read_ndjson", "ndjson", ("read_ndjson_auto",)),
                              ("read_arrow", "arrow", ("read_feather", "read_ipc"))):
    register(Function(_name, TABLE, _reader(_fmt), 1, None, _aliases,
                      doc=f"{_name}(path, option = value...): a {_fmt} file as a table"))
