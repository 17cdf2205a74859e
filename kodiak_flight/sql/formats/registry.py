"""The file formats by name and extension, and what a format must provide.

Every format is one module registering one or more ``Format`` objects: ``csv``, ``parquet``,
``json`` (``json`` writes an array, ``ndjson`` one object a line; both read either),
``arrow`` (``arrow`` writes an IPC file / Feather, ``arrows`` an IPC stream; both read either).
Compression is not a format: ``compression`` strips ``.gz`` / ``.zst`` / ``.bz2`` / ``.lz4``
from a file name before the format's extension is looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from .compression import split_suffixes
from .errors import FormatError

if TYPE_CHECKING:  # pyarrow.dataset imports pandas: only readers of files load it
    import pyarrow.dataset as ds

Input = str | Path | IO[bytes]


class Format(Protocol):
    """One file format.

    ``open`` and ``write`` stream: ``open`` returns a reader that reads the file block by
    block, ``write`` consumes ``reader`` batch by batch. ``open`` takes a path (to open, or
    memory-map, itself) or an already decompressed binary stream. Options (all optional):
    ``delimiter``, ``header`` (CSV), ``column_types`` (lower-cased name -> type to read a
    column as), ``block_size`` (bytes parsed at once by the text formats)."""

    name: str
    aliases: tuple[str, ...]
    extensions: tuple[str, ...]
    sql_options: frozenset[str]  # options SQL may name for this format
    seekable: bool  # reads a whole file by path faster than as a stream

    def open(self, source: Input, options: Mapping[str, Any]) -> pa.RecordBatchReader: ...

    def write(self, reader: pa.RecordBatchReader, out: IO[bytes],
              options: Mapping[str, Any]) -> int: ...

    def defaults(self, path: str) -> dict[str, Any]:
        """Options implied by the file name (a ``.tsv`` file is tab-separated)."""
        ...

    def dataset(self, path: str, options: Mapping[str, Any]) -> ds.Dataset | None:
        """A ``pyarrow.dataset`` over an uncompressed file, for projection push-down; None
        when the format has none."""
        ...

    def rows(self, path: str) -> int | None:
        """The number of rows, when the file says without being read (for progress)."""
        ...


FORMATS: dict[str, Format] = {}
ALIASES: dict[str, str] = {}
EXTENSIONS: dict[str, str] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    for alias in (fmt.name, *fmt.aliases):
        ALIASES[alias] = fmt.name
    for ext in fmt.extensions:
        EXTENSIONS[ext] = fmt.name
    return fmt


def names() -> tuple[str, ...]:
    return tuple(FORMATS)


def by_extension(path: str | Path) -> Format | None:
    """The format a file name implies (after any compression suffix), or None."""
    ext, _ = split_suffixes(path)
    name = EXTENSIONS.get(ext)
    return None if name is None else FORMATS[name]


def format_for(path: str | Path, given: str | None = None) -> Format:
    """The format named ``given`` (or an alias of one), else the one ``path``'s name implies."""
    if given:
        name = ALIASES.get(given.lower())
        if name is None:
            raise FormatError(f"unknown file format {given!r}; supported: {', '.join(names())}")
        return FORMATS[name]
    fmt = by_extension(path)
    if fmt is None:
        raise FormatError(f"cannot tell the format of {str(path)!r} from its name")
    return fmt


def detect_format(path: str | Path, given: str | None = None) -> str:
    """The name of the format ``given`` names, else the one ``path``'s name implies (what
    ``kodiak import`` / ``export`` use; the message says to pass ``--format``)."""
    try:
        return format_for(str(path), given).name
    except FormatError as exc:
        hint = "" if given else f"; pass --format ({', '.join(names())})"
        raise FormatError(f"{exc}{hint}") from None

