"""Reading and writing files: ``read_parquet``/``read_csv``/``read_json`` table functions,
``FROM 'file.ext'`` and ``COPY ... FROM/TO``.

Everything streams: reads go through ``pyarrow.dataset`` scanners (record-batch readers that
read the file block by block, only the columns the plan needs), writes consume a reader batch
by batch into a temporary file next to the target, renamed into place when complete.
Which paths a session may touch is its ``FileAccess``: anywhere for an embedded session
(the process's own user runs it), only under the server's ``--file-root`` for a session of
a client of ``kodiak serve`` (nothing at all without one), since the files are the server's.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sqlglot import exp

from .errors import AccessDenied, BindError

FORMATS = ("parquet", "csv", "json")
_EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv",
               ".txt": "csv", ".json": "json", ".ndjson": "json", ".jsonl": "json"}
_FUNCTIONS = {"read_parquet": "parquet", "parquet_scan": "parquet", "read_csv": "csv",
              "read_csv_auto": "csv", "read_json": "json", "read_ndjson": "json",
              "read_json_auto": "json", "read_ndjson_auto": "json"}


@dataclass(frozen=True)
class FileAccess:
    """Where a session's SQL may read and write files on the machine that runs it.

    ``roots`` None: anywhere, relative paths against the current directory (embedded use).
    Otherwise only inside those directories, relative paths against the first; an empty
    tuple refuses every file. Paths are compared after resolving symbolic links and ``..``,
    so neither leads outside a root."""

    roots: tuple[str, ...] | None = None

    @classmethod
    def under(cls, *roots: str) -> FileAccess:
        return cls(tuple(os.path.realpath(r) for r in roots))

    def path(self, path: str, *, writing: bool = False) -> str:
        """The path to open for ``path`` as written in SQL; AccessDenied if not allowed."""
        if self.roots is None:
            return path
        doing = "write" if writing else "read"
        if not self.roots:
            raise AccessDenied(
                f"cannot {doing} {path!r}: this server does not let clients read or write its "
                "files (start it with --file-root DIR to allow files under DIR)")
        full = os.path.realpath(os.path.join(self.roots[0], path))
        for root in self.roots:
            if full == root or full.startswith(root.rstrip(os.sep) + os.sep):
                return full
        raise AccessDenied(f"cannot {doing} {path!r}: it is outside the server's file root "
                           f"{', '.join(self.roots)}")


ANYWHERE = FileAccess()


def format_from_extension(path: str) -> str | None:
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower())


def check_format(fmt: str | None, path: str) -> str:
    if fmt is None:
        fmt = format_from_extension(path)
        if fmt is None:
            raise BindError(f"cannot tell the format of {path!r} from its extension; "
                            f"name one of {', '.join(FORMATS)} (FORMAT ...)")
    fmt = fmt.lower()
    if fmt == "ndjson":
        fmt = "json"
    if fmt not in FORMATS:
        raise BindError(f"unknown file format {fmt!r}; supported: {', '.join(FORMATS)}")
    return fmt


def _value(e: exp.Expression | None) -> Any:
    if e is None:
        return True
    if isinstance(e, exp.Boolean):
        return bool(e.this)
    if isinstance(e, exp.Literal):
        return e.this if e.is_string else (int(e.this) if e.this.isdigit() else e.this)
    if isinstance(e, (exp.Var, exp.Identifier, exp.Column)):
        v = e.name
        return {"true": True, "false": False}.get(v.lower(), v)
    raise BindError(f"option value {e.sql()} must be a constant")


def _options(items: list[exp.Expression]) -> dict[str, Any]:
    """``name = value`` / ``name := value`` / COPY ``(NAME value)`` items, names lowercased."""
    out: dict[str, Any] = {}
    for a in items:
        if isinstance(a, (exp.EQ, exp.PropertyEQ, exp.Kwarg)):
            out[a.this.name.lower()] = _value(a.expression)
        elif isinstance(a, exp.CopyParameter):
            out[a.this.name.lower()] = _value(a.args.get("expression"))
        else:
            raise BindError(f"unexpected option {a.sql()}")
    return out


def table_function(node: exp.Expression) -> tuple[str, str, dict[str, Any]] | None:
    """``(path, format, options)`` if ``node`` (the ``this`` of a FROM-clause table) is a file
    table function, else None."""
    if isinstance(node, exp.ReadParquet):
        fname, args = "read_parquet", list(node.expressions)
    elif isinstance(node, exp.ReadCSV):
        fname, args = "read_csv", [node.this, *node.expressions]
    elif isinstance(node, exp.Anonymous):
        fname, args = node.name.lower(), list(node.expressions)
    else:
        return None
    fmt = _FUNCTIONS.get(fname)
    if fmt is None:
        return None
    paths = [a for a in args if isinstance(a, exp.Literal) and a.is_string]
    if len(paths) != 1 or args[0] is not paths[0]:
        raise BindError(f"{fname} takes one file path (a string) followed by options")
    opts = _options(args[1:])
    if "format" in opts:
        fmt = str(opts.pop("format"))
    return paths[0].this, check_format(fmt, paths[0].this), opts


def check_exists(path: str) -> None:
    if not os.path.isfile(path):
        where = "" if os.path.isabs(path) else f" (resolved to {os.path.abspath(path)!r})"
        raise BindError(f"file {path!r} does not exist{where}")


_CSV_KEYS = {"header", "delim", "delimiter", "sep"}
_KNOWN = {"parquet": set(), "csv": _CSV_KEYS, "json": set()}


def _file_format(fmt: str, opts: dict[str, Any]) -> ds.FileFormat:
    unknown = set(opts) - _KNOWN[fmt] - {"format"}
    if unknown:
        raise BindError(f"unknown {fmt} option(s): {', '.join(sorted(unknown))}")
    if fmt == "parquet":
        return ds.ParquetFileFormat()
    if fmt == "json":
        return ds.JsonFileFormat()
    delim = opts.get("delim", opts.get("delimiter", opts.get("sep", ",")))
    if not isinstance(delim, str) or len(delim) != 1:
        raise BindError(f"the CSV delimiter must be one character, not {delim!r}")
    header = opts.get("header", True)
    return ds.CsvFileFormat(
        parse_options=pcsv.ParseOptions(delimiter=delim),
        convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
        read_options=pcsv.ReadOptions(autogenerate_column_names=not header))


def dataset(path: str, fmt: str, opts: dict[str, Any]) -> ds.Dataset:
    check_exists(path)
    try:
        return ds.dataset(path, format=_file_format(fmt, opts))
    except (pa.ArrowInvalid, OSError) as e:
        raise BindError(f"cannot read {path!r} as {fmt}: {str(e).splitlines()[0]}") from None


def open_reader(path: str, fmt: str, opts: dict[str, Any],
                columns: list[str] | None = None) -> pa.RecordBatchReader:
    """A reader streaming the file (only ``columns``, when given)."""
    return dataset(path, fmt, opts).scanner(columns=columns).to_reader()


# ---------------------------------------------------------------------------- COPY


def copy_target(node: exp.Copy) -> tuple[str, str, dict[str, Any]]:
    files = node.args.get("files") or []
    if len(files) != 1 or not (isinstance(files[0], exp.Literal) and files[0].is_string):
        raise BindError("COPY names one file as a string literal")
    path = files[0].this
    opts = _options(list(node.args.get("params") or []))
    fmt = opts.pop("format", None)
    return path, check_format(None if fmt is None else str(fmt), path), opts


def conform(reader: pa.RecordBatchReader, schema: pa.Schema, path: str
            ) -> pa.RecordBatchReader:
    """``reader``'s batches with the columns of ``schema`` matched by position, cast."""
    if len(reader.schema) != len(schema):
        raise BindError(f"{path!r} has {len(reader.schema)} columns but the table has "
                        f"{len(schema)}")

    def gen() -> Iterator[pa.RecordBatch]:
        for b in reader:
            cols = []
            for c, f in zip(b.columns, schema, strict=True):
                if c.type != f.type:
                    try:
                        c = c.cast(f.type)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                        raise BindError(f"cannot load {c.type} values from {path!r} into "
                                        f"column {f.name!r} ({f.type}): "
                                        f"{str(e).splitlines()[0]}") from None
                cols.append(c)
            yield pa.RecordBatch.from_arrays(cols, schema=schema)
    return pa.RecordBatchReader.from_batches(schema, gen())


def write(reader: pa.RecordBatchReader, path: str, fmt: str, opts: dict[str, Any]) -> int:
    """Write ``reader`` batch by batch to a temporary file, then rename it to ``path``."""
    unknown = set(opts) - _KNOWN[fmt]
    if unknown:
        raise BindError(f"unknown {fmt} option(s): {', '.join(sorted(unknown))}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BindError(f"directory {directory!r} for {path!r} does not exist")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    rows = 0
    try:
        if fmt == "parquet":
            with pq.ParquetWriter(tmp, reader.schema) as w:
                for b in reader:
                    w.write_batch(b)
                    rows += b.num_rows
        elif fmt == "csv":
            delim = opts.get("delim", opts.get("delimiter", opts.get("sep", ",")))
            wo = pcsv.WriteOptions(include_header=bool(opts.get("header", True)),
                                   delimiter=delim)
            with pcsv.CSVWriter(tmp, reader.schema, write_options=wo) as w:
                for b in reader:
                    w.write_batch(b)
                    rows += b.num_rows
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for b in reader:
                    for row in b.to_pylist():
                        f.write(json.dumps(row, default=str, ensure_ascii=False))
                        f.write("\n")
                    rows += b.num_rows
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return rows
