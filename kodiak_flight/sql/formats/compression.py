"""Compressed files, for every format alike: the codec from the file name (``.gz``,
``.zst``/``.zstd``, ``.bz2``, ``.lz4``) or an explicit option, and a stream that
decompresses on the fly (writers compress through ``pyarrow.output_stream``)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from .errors import FormatError

SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2",
            ".lz4": "lz4"}
NAMES = {"gzip": "gzip", "gz": "gzip", "zstd": "zstd", "zst": "zstd", "bz2": "bz2",
         "bzip2": "bz2", "lz4": "lz4", "none": None, "uncompressed": None}


def split_suffixes(path: str | Path) -> tuple[str, str | None]:
    """(format extension, codec) of a file name: ``x.csv.gz`` -> (".csv", "gzip")."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    codec = None
    if suffixes and suffixes[-1] in SUFFIXES:
        codec = SUFFIXES[suffixes.pop()]
    return (suffixes[-1] if suffixes else ""), codec


def codec_for(path: str | Path, given: Any = None) -> str | None:
    """The codec named by ``given`` ("auto" or None: from the name), else by ``path``."""
    if given is None or str(given).lower() == "auto":
        return split_suffixes(path)[1]
    key = str(given).lower()
    if key not in NAMES:
        raise FormatError(f"unknown compression {given!r}; supported: gzip, zstd, bz2, "
                               "lz4, none")
    return NAMES[key]


def decompressing(stream: IO[bytes], codec: str | None) -> Any:
    """``stream`` read through a decompressor (itself when ``codec`` is None)."""
    if codec is None:
        return stream
    return pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), codec)

