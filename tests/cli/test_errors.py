"""Errors are one line on stderr with a non-zero exit; tracebacks only with --debug. Also
TLS end to end through the command line."""

from __future__ import annotations

import json

from .conftest import kodiak, kodiak_proc, serve_proc


def test_runtime_error_one_line_and_debug_traceback(tmp_path):
    p = kodiak_proc("sql", "--data-dir", tmp_path / "d", "select * from missing")
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["error: table 'missing' does not exist"]
    p = kodiak_proc("--debug", "sql", "--data-dir", tmp_path / "d", "select * from missing")
    assert p.returncode == 1 and "Traceback (most recent call last)" in p.stderr


def test_usage_errors_are_one_line():
    p = kodiak_proc("sql", "--bogus", "select 1")
    assert p.returncode == 2
    (line,) = p.stderr.splitlines()
    assert line.startswith("error: No such option: --bogus")
    assert line.endswith("(see 'kodiak sql --help')")
    p = kodiak_proc("nosuchcommand")
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1
    assert "No such command 'nosuchcommand'" in p.stderr


def test_no_arguments_prints_help():
    p = kodiak_proc()
    assert p.returncode == 2 and "Usage: kodiak" in p.stdout
    for cmd in ("sql", "shell", "import", "export", "backup", "restore", "check", "info",
                "user", "serve", "config", "tls-cert"):
        assert cmd in p.stdout


def test_missing_sql():
    r = kodiak("sql", "--data-dir", "d", input="")
    assert r.code == 2 and r.err_lines == ["error: no SQL statement given"]


def test_tls_end_to_end(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    r = kodiak("tls-cert", cert, key)
    assert r.code == 0 and oct(key.stat().st_mode & 0o777) == "0o600"
    assert kodiak("tls-cert", cert, key).code == 1  # never overwrites
    with serve_proc(tmp_path / "d", "--tls-cert", cert, "--tls-key", key) as (uri, _):
        assert uri.startswith("grpc+tls://127.0.0.1:")
        r = kodiak("sql", "--uri", uri, "--tls-root-certs", cert, "--format", "json",
                   "select 'secure' as s")
        assert json.loads(r.stdout) == [{"s": "secure"}], r.stderr
        r = kodiak("sql", "--uri", uri, "select 1")  # certificate not trusted
        assert r.code == 1 and len(r.err_lines) == 1
        r = kodiak("sql", "--uri", uri, "--tls-skip-verify", "--format", "csv", "select 1 as x")
        assert r.stdout.splitlines() == ['"x"', "1"]
