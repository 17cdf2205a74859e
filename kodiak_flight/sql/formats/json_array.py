"""Reading a JSON array of objects as a stream of objects.

``pyarrow.json`` reads concatenated objects (with ``newlines_in_values``) but not an array;
``ArrayToConcatenated`` drops the outer brackets and the commas between elements as bytes go
by, in place (the output is as long as the input), without parsing the objects.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any

from .errors import FormatError

NOT_AN_ARRAY = "a .json file must hold one array of objects (use .ndjson for one object per line)"


class ArrayToConcatenated(io.RawIOBase):
    """Turns a JSON array of objects into whitespace-separated objects, streaming."""

    _SPECIAL = re.compile(rb'["\\\[\]{},]')

    def __init__(self, f: IO[bytes], chunk: int = 1 << 20, *, partial: bool = False) -> None:
        self.f = f
        self.chunk = chunk
        self.partial = partial  # the input may stop anywhere (a file's first block)
        self.depth = 0
        self.in_string = False
        self.skip_first = False  # the character after a backslash in the previous chunk
        self.pending = b""
        self.seen_array = False
        self.done = False
        self.produced = 0  # bytes converted so far
        self.complete = 0  # output offset after the last complete element

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        while not self.pending and not self.done:
            data = self.f.read(self.chunk)
            if not data:
                self.done = True
                if (self.depth != 0 or self.in_string) and not self.partial:
                    raise FormatError("the JSON file ends inside a value")
                break
            self.pending = self._convert(bytes(data))
            self.produced += len(data)
        n = min(len(buf), len(self.pending))
        buf[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def _convert(self, data: bytes) -> bytes:
        out = bytearray(data)
        skip = 0 if self.skip_first else -1
        self.skip_first = False
        for m in self._SPECIAL.finditer(data):
            i = m.start()
            if i == skip:
                continue
            c = data[i]
            if self.in_string:
                if c == 0x5C:  # backslash: skip the next character
                    if i + 1 == len(data):
                        self.skip_first = True
                    skip = i + 1
                elif c == 0x22:
                    self.in_string = False
                continue
            if c == 0x22:
                self.in_string = True
            elif c in b"[{":
                if self.depth == 0:
                    if c != 0x5B or self.seen_array:
                        raise FormatError(NOT_AN_ARRAY)
                    self.seen_array = True
                    out[i] = 0x20
                self.depth += 1
            elif c in b"]}":
                self.depth -= 1
                if self.depth == 0:
                    out[i] = 0x20
                elif self.depth < 0:
                    raise FormatError("unbalanced brackets in the JSON file")
                elif self.depth == 1:
                    self.complete = self.produced + i + 1
            elif c == 0x2C and self.depth == 1:
                out[i] = 0x0A
        if not self.seen_array and data.strip():
            raise FormatError(NOT_AN_ARRAY)
        return bytes(out)

    def close(self) -> None:
        self.f.close()
        super().close()


def complete_prefix(head: bytes) -> bytes:
    """The objects of the start of a JSON array that ``head`` holds whole, concatenated
    (to infer column types from a file's first block)."""
    conv = ArrayToConcatenated(io.BytesIO(head), partial=True)
    out = conv.read()
    return out[:conv.complete]
