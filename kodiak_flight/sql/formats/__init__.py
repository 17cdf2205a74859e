"""File formats for the SQL layer's ``read_*`` table functions and ``COPY`` and for the
CLI's ``import`` / ``export``: one registry, every format a module (``csv``, ``parquet``,
``json``, ``arrow``), compression handled once for all (``compression``).

Importing the package registers the formats."""

from . import arrow, csv, json, parquet  # noqa: F401 - registers the formats
from .compression import codec_for, split_suffixes
from .json_array import ArrayToConcatenated
from .registry import (
    Format,
    FormatError,
    by_extension,
    detect_format,
    format_for,
    names,
    register,
)
from .schemas import (
    MAX_BATCH_BYTES,
    cast_reader,
    split_batch,
    storable_type,
    target_schema,
)
from .sink import write_file, write_stream
from .source import Source, open_file, open_source

__all__ = ["ArrayToConcatenated", "Format", "FormatError", "MAX_BATCH_BYTES", "Source",
           "by_extension", "cast_reader", "codec_for", "detect_format", "format_for",
           "names", "open_file", "open_source", "register", "split_batch", "split_suffixes",
           "storable_type", "target_schema", "write_file", "write_stream"]
