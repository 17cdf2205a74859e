"""CRC-32 (zlib's polynomial) of segment bytes, by the fastest implementation installed.

ISA-L's ``crc32`` (the ``isal`` package) uses the CPU's carry-less multiply and runs about
five times faster than zlib's table-driven one; both give the same value, so files written
with either verify with the other. ``FAST`` says whether it is there: without it, callers
move the (slower) checksum off their own thread.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

crc32: Callable[..., int]
try:
    from isal.isal_zlib import crc32
    FAST = True
except ImportError:  # the engine works without it, more slowly
    crc32 = zlib.crc32
    FAST = False
