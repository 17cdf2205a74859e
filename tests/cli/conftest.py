"""Helpers for the ``kodiak`` command tests.

* ``kodiak(...)`` runs the real entry point ``kodiak_flight.cli.main`` in this process with
  stdin/stdout/stderr captured (typer's CliRunner isolation): fast, and errors go through the
  same one-line handler as on the command line.
* ``kodiak_proc(...)`` runs ``python -m kodiak_flight.cli`` as a subprocess.
* ``server`` is a real Flight SQL server on a loopback port 0 over a temporary database;
  ``serve_proc`` starts ``kodiak serve`` as a subprocess.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import engine
from kodiak_flight.cli import main
from kodiak_flight.server import KodiakFlightServer

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KODIAK_* setting or kodiak.toml of the developer's leaks into a test."""
    for key in list(os.environ):
        if key.startswith("KODIAK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def kodiak(*args: str, input: str | bytes | None = None, env: dict | None = None) -> Run:
    runner = CliRunner()
    code = 0
    with runner.isolation(input=input, env=env) as (out, err, _):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        raw = out.getvalue()
        return Run(code, raw.decode("utf-8", "replace"), err.getvalue().decode(), raw)


def kodiak_proc(*args: str, input: str | None = None, env: dict | None = None,
                cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "kodiak_flight.cli", *map(str, args)],
                          input=input, capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)


@contextlib.contextmanager
def serve_proc(data_dir: Path, *extra: str, env: dict | None = None
               ) -> Iterator[tuple[str, subprocess.Popen]]:
    """``kodiak serve --port 0`` as a subprocess; yields (uri, process); stops it with
    SIGTERM and checks the clean exit."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    full_env.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "serve", "--port", "0",
                             "--data-dir", str(data_dir), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full_env)
    try:
        uri = proc.stdout.readline().strip()
        if not uri.startswith("grpc"):
            proc.kill()
            raise AssertionError(f"server did not start: {uri!r} {proc.stderr.read()}")
        yield uri, proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KodiakFlightServer]:
    db = engine.Database.open(str(tmp_path_factory.mktemp("served")))
    srv = KodiakFlightServer(db, "grpc://127.0.0.1:0")
    try:
        yield srv
    finally:
        srv.shutdown()
        db.close()


@pytest.fixture(scope="module")
def uri(server: KodiakFlightServer) -> str:
    return f"grpc://127.0.0.1:{server.port}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
