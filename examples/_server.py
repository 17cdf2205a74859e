"""Shared by the examples: use the server given with --uri, or start a throwaway one.

    with kodiak_server() as uri:       # "grpc://127.0.0.1:<free port>"
        ...

The throwaway server is `kodiak serve --port 0` on a temporary data directory; port 0 makes
the operating system pick a free loopback port, which the server prints as its first line.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--uri", help="an already running Kodiak server, e.g. "
                        "grpc://127.0.0.1:31337 (default: start one)")
    return parser.parse_args()


@contextlib.contextmanager
def kodiak_server(uri: str | None = None) -> Iterator[str]:
    if uri:
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="kodiak-example-") as data_dir:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kodiak_flight.cli", "serve", "--port", "0",
             "--data-dir", data_dir, "--log-level", "warning"],
            stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            if not line.startswith("grpc://"):
                raise SystemExit(f"the server did not start (got {line!r})")
            yield line
        finally:
            proc.terminate()  # SIGTERM: the server shuts down cleanly
            proc.wait(timeout=30)
