"""Small helpers shared by the benchmarks: timing, medians, scratch directories, rows."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / ".data"  # git-ignored
WORK_DIR = DATA_DIR / "work"

_T0 = time.perf_counter()


def log(msg: str) -> None:
    """Progress goes to stderr, so stdout carries only the results."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """Peak resident set of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def fsync_file(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike) -> None:
    fsync_file(path)


def feather_peer(table: Any, work: Path) -> tuple[float, int]:
    """The write-side peer of the load benchmarks: ``write_feather`` (uncompressed) of
    ``table`` plus fsync of the file and its directory; (seconds, bytes written)."""
    import pyarrow.feather as feather

    p = work / "lineitem.arrow"
    t0 = time.perf_counter()
    feather.write_feather(table, str(p), compression="uncompressed")
    fsync_file(p)
    fsync_dir(work)
    seconds = time.perf_counter() - t0
    size = p.stat().st_size
    p.unlink()
    return seconds, size


def dir_bytes(path: str | os.PathLike) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, f))
    return total


@contextlib.contextmanager
def scratch(name: str) -> Iterator[Path]:
    """A fresh directory under bench/.data/work (same file system for Kodiak and its peer),
    removed afterwards."""
    path = WORK_DIR / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fresh_path(path: Path) -> Path:
    """Remove whatever is at ``path`` (file or directory) and return it."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    return path


@dataclass
class Row:
    """One line of the results table.

    ``ratio`` is oriented as ``target`` reads it: throughput ratios are Kodiak/peer (higher is
    better), latency ratios are Kodiak/peer (lower is better), speedups are peer/Kodiak.
    ``status`` is PASS, MISS, or info (no target: reported for context).
    """

    bench: str
    case: str
    kodiak: float
    unit: str  # "rows/s", "commits/s", "s"
    peer_name: str = ""
    peer: float | None = None
    ratio: float | None = None
    target: str = ""
    status: str = "info"
    detail: str = ""
    rss_mib: float | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def judge(ok: bool) -> str:
    return "PASS" if ok else "MISS"
