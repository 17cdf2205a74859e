"""A ``kodiak serve`` process of its own, for what is measured per process (Arrow's memory
pool): in the test process, other tests' servers and threads come and go."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ..cli.conftest import serve_proc

MiB = 1 << 20


@contextlib.contextmanager
def served_alone(data_dir: Path, *flags: str) -> Iterator[tuple[str, int]]:
    """``kodiak serve`` in a process of its own, with metrics: (Flight URI, metrics port).

    Arrow's memory pool is per process, so what a query gives back is measured in a server
    that runs nothing else (in this process, other tests' servers and threads come and go)."""
    metrics_port = free_port()
    with serve_proc(data_dir, "--metrics-port", str(metrics_port), *flags) as (uri, _):
        yield uri, metrics_port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pool_bytes(metrics_port: int) -> float:
    """The server's Arrow pool in use, from its Prometheus metrics."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("kodiak_memory_allocated_bytes "):
                return float(line.split()[1])
    raise AssertionError("no kodiak_memory_allocated_bytes metric")


def memory_returns(metrics_port: int, before: float) -> bool:
    """The server's pool is back to ``before`` (within 1 MiB) within 30 s: a generous
    bound, as a stopped plan drains slowly on a loaded machine (the point is that it comes
    back at all; ``bench stop`` measures how fast)."""
    deadline = time.monotonic() + 30
    while pool_bytes(metrics_port) > before + MiB:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
