"""The C allocator's thresholds for a serving process (glibc only).

A query's numpy temporaries (sort permutations, window bounds, selections) are megabytes,
allocated and freed once per query. glibc maps an allocation past its threshold (128 KiB,
raised as large blocks are freed, to at most 32 MiB) with a fresh ``mmap`` and unmaps it on
free, and trims the heap's free top past twice that: every query touches new pages, which on
a virtual machine cost several times the copy into them (a window function over 300K rows
through the server: 45-58 ms against 24-36 with fixed thresholds). Fixed thresholds keep
blocks of up to 64 MiB in the heap and at most 256 MiB of its free top unreturned; Arrow's
buffers come from its own pool (mimalloc) and are not affected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20


def tune() -> bool:
    """Fix glibc's mmap and trim thresholds for this process, unless KODIAK_MALLOC_TUNING
    is ``off`` or the C library is not glibc; whether they were set."""
    if os.environ.get("KODIAK_MALLOC_TUNING", "").lower() in ("off", "0", "false", "no"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False  # not glibc (macOS, musl): its allocator, as it is
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
