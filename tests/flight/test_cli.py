"""``kodiak serve``: prints its URI, serves, stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pyarrow.flight as flight
import pytest

from .helpers import query


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kodiak_flight.cli", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_uri_and_stops_cleanly(tmp_path, sig):
    proc = _start(["--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "d")])
    try:
        uri = proc.stdout.readline().strip()
        assert uri.startswith("grpc://127.0.0.1:"), (uri, proc.stderr.read())
        client = flight.connect(uri)
        assert query(client, "SELECT 5 AS x").to_pydict() == {"x": [5]}
        client.close()
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_refuses_remote_host_without_password(tmp_path):
    env = {k: "" for k in ("KODIAK_PASSWORD", "KODIAK_PASSWORD_HASH")}
    proc = _start(["--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path / "d")], env)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "refusing" in err and "KODIAK_PASSWORD" in err
    assert out == ""


def test_query_timeout_flag(tmp_path):
    proc = _start(["--port", "0", "--data-dir", str(tmp_path / "d"), "--query-timeout", "0"])
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "--query-timeout" in err
    proc = _start(["--port", "0", "--data-dir", str(tmp_path / "d"), "--query-timeout", "2.5"])
    try:
        uri = proc.stdout.readline().strip()
        assert uri.startswith("grpc://"), (uri, proc.stderr.read())
        client = flight.connect(uri)
        assert query(client, "SELECT 5 AS x").to_pydict() == {"x": [5]}
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tls_flags_go_together(tmp_path):
    proc = _start(["--port", "0", "--data-dir", str(tmp_path / "d"),
                   "--tls-cert", str(tmp_path / "c.pem")])
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "--tls-key" in err
def test_error_is_one_line_and_nonzero(tmp_path):
    data = tmp_path / "d"
    first = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "serve", "--port", "0",
                              "--data-dir", str(data)], stdout=subprocess.PIPE, text=True)
    try:
        uri = first.stdout.readline().strip()
        assert uri.startswith("grpc://")
        second = subprocess.run([sys.executable, "-m", "kodiak_flight.cli", "serve", "--port",
                                 "0", "--data-dir", str(data)], capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert lines == [f"error: data directory {data} is in use: the server at {uri} serves "
                         f"it; clients reach it with --uri {uri}"]
    finally:
        first.terminate()
        assert first.wait(30) == 0  # SIGTERM: clean shutdown, exit 0
