"""Files in SQL: the ``read_csv`` / ``read_parquet`` / ``read_json`` / ``read_arrow`` table
functions (named in ``functions.tables``), ``FROM 'file.ext'`` and ``COPY ... FROM/TO``, over
the format registry (``formats``) that ``kodiak import`` / ``export`` use too.

Everything streams: parquet and uncompressed CSV are read through ``pyarrow.dataset``
scanners (only the columns the plan needs), the rest through the formats' streaming readers;
writes consume a reader batch by batch into a temporary file next to the target, renamed into
place when complete. Which paths a session may touch is its ``FileAccess``: anywhere for an
embedded session (the process's own user runs it), only under the server's ``--file-root``
for a session of a client of ``kodiak serve`` (nothing at all without one), since the files
are the server's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from . import formats
from .errors import AccessDenied, BindError

if TYPE_CHECKING:  # imported when a file is read: it loads pandas (slow start-up)
    import pyarrow.dataset as ds

# SQL spellings of format options -> the registry's names.
OPTION_NAMES = {"delim": "delimiter", "sep": "delimiter"}
COMMON_OPTIONS = frozenset({"compression", "secret"})  # secret: secrets/store.source_secret


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
    fmt = formats.by_extension(path)
    return None if fmt is None else fmt.name


def check_format(fmt: str | None, path: str) -> str:
    """The registry name of format ``fmt``, else of the one ``path``'s name implies."""
    try:
        return formats.format_for(path, None if fmt is None else str(fmt)).name
    except formats.FormatError as exc:
        hint = "" if fmt is not None else \
            f"; name one of {', '.join(formats.names())} (FORMAT ...)"
        raise BindError(f"{exc}{hint}") from None


def option_value(e: exp.Expression | None) -> Any:
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


def options(items: list[exp.Expression]) -> dict[str, Any]:
    """``name = value`` / ``name := value`` / COPY ``(NAME value)`` items, names lowercased
    and spelled as the registry spells them."""
    out: dict[str, Any] = {}
    for a in items:
        if isinstance(a, (exp.EQ, exp.PropertyEQ, exp.Kwarg)):
            name, value = a.this.name.lower(), option_value(a.expression)
        elif isinstance(a, exp.CopyParameter):
            name, value = a.this.name.lower(), option_value(a.args.get("expression"))
        else:
            raise BindError(f"unexpected option {a.sql()}")
        out[OPTION_NAMES.get(name, name)] = value
    return out


def check_options(fmt: str, opts: dict[str, Any]) -> None:
    unknown = set(opts) - formats.format_for("", fmt).sql_options - COMMON_OPTIONS
    if unknown:
        raise BindError(f"unknown {fmt} option(s): {', '.join(sorted(unknown))}")


def file_arguments(fname: str, fmt: str, args: list[exp.Expression]
                   ) -> tuple[str, str, dict[str, Any]]:
    """``(path, format, options)`` of a call of file table function ``fname`` (format
    ``fmt`` unless a ``format`` option names another) with arguments ``args``."""
    paths = [a for a in args if isinstance(a, exp.Literal) and a.is_string]
    if len(paths) != 1 or args[0] is not paths[0]:
        raise BindError(f"{fname} takes one file path (a string) followed by options")
    opts = options(args[1:])
    if "format" in opts:
        fmt = str(opts.pop("format"))
    fmt = check_format(fmt, paths[0].this)
    check_options(fmt, opts)
    return paths[0].this, fmt, opts


def check_exists(path: str) -> None:
    if not os.path.isfile(path):
        where = "" if os.path.isabs(path) else f" (resolved to {os.path.abspath(path)!r})"
        raise BindError(f"file {path!r} does not exist{where}")


def scannable(path: str, fmt: str, opts: dict[str, Any]) -> ds.Dataset | None:
    """A ``pyarrow.dataset`` over the file when its format has one and it is not
    compressed (projection push-down), else None."""
    if formats.codec_for(path, opts.get("compression")) is not None:
        return None
    form = formats.format_for(path, fmt)
    return form.dataset(path, {**form.defaults(path), **opts})


def dataset(path: str, fmt: str, opts: dict[str, Any]) -> ds.Dataset:
    """The file as a dataset: its ``schema`` for binding (a one-shot in-memory dataset over
    the format's streaming reader when the format has no dataset of its own)."""
    with read_errors(path, fmt):
        data = scannable(path, fmt, opts)
        import pyarrow.dataset as ds

        return data if data is not None else ds.dataset(formats.open_file(path, fmt, opts).reader)


def open_reader(path: str, fmt: str, opts: dict[str, Any],
                columns: list[str] | None = None) -> pa.RecordBatchReader:
    """A reader streaming the file (only ``columns``, when given)."""
    with read_errors(path, fmt):
        data = scannable(path, fmt, opts)
        if data is not None:
            return data.scanner(columns=columns).to_reader()
        reader = formats.open_file(path, fmt, opts).reader
    if columns is None:
        return reader
    schema = pa.schema([reader.schema.field(c) for c in columns])
    return pa.RecordBatchReader.from_batches(schema, (b.select(columns) for b in reader))


@contextmanager
def read_errors(path: str, fmt: str) -> Iterator[None]:
    """A missing file, or one that does not open as ``fmt``, is a BindError naming it."""
    check_exists(path)
    try:
        yield
    except (pa.ArrowInvalid, OSError, formats.FormatError) as e:
        raise BindError(f"cannot read {path!r} as {fmt}: {str(e).splitlines()[0]}") from None


# ---------------------------------------------------------------------------- COPY


def copy_target(node: exp.Copy) -> tuple[str, str, dict[str, Any]]:
    """``(path, format, options)`` of COPY. JSON is written one object a line (as DuckDB
    does) unless ``ARRAY true``."""
    files = node.args.get("files") or []
    if len(files) != 1 or not (isinstance(files[0], exp.Literal) and files[0].is_string):
        raise BindError("COPY names one file as a string literal")
    path = files[0].this
    opts = options(list(node.args.get("params") or []))
    fmt = check_format(opts.pop("format", None), path)
    if fmt in ("json", "ndjson"):
        fmt = "json" if opts.pop("array", False) is True else "ndjson"
    check_options(fmt, opts)
    return path, fmt, opts


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
    return formats.write_file(reader, path, fmt, options=opts)
