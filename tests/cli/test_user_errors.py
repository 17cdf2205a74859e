"""Errors in the user's terms, each checked against a real ``kodiak serve``: no Flight SQL
suffixes, the password, the port, TLS, and the URI a server prints."""

from __future__ import annotations

import socket

from .conftest import kodiak, kodiak_proc, serve_proc


def test_no_flight_sql_suffixes_in_an_import_error(tmp_path):
    (tmp_path / "x.csv").write_text("a\n1\n")
    with serve_proc(tmp_path / "d") as (uri, _):
        r = kodiak("import", tmp_path / "x.csv", "nosuch", "--append", "--uri", uri)
    assert r.code == 1 and len(r.err_lines) == 1
    line = r.err_lines[0]
    assert line.startswith("error: table 'nosuch' does not exist"), line
    assert "NotFound" not in line and "FlightSQL" not in line and "ingest:" not in line


def test_a_server_that_needs_a_password(tmp_path):
    with serve_proc(tmp_path / "d", env={"KODIAK_PASSWORD": "s3cret"}) as (uri, _):
        for args in (["sql", "--uri", uri, "-c", "select 1"], ["info", "--uri", uri]):
            r = kodiak(*args)
            assert r.code == 1 and r.err_lines == [
                "error: this server needs a password: pass --user or set KODIAK_PASSWORD"]
        r = kodiak("sql", "--uri", uri, "-c", "select 1", env={"KODIAK_PASSWORD": "wrong"})
        assert r.err_lines == [f"error: the server at {uri} refused the login: invalid user "
                               "name or password"]
        r = kodiak("sql", "--uri", uri, "-c", "select 7 as n", "--format", "csv",
                   env={"KODIAK_PASSWORD": "s3cret"})
        assert r.stdout.splitlines() == ['"n"', "7"]
        # the shell logs in at start-up: without a terminal it stops before any statement
        r = kodiak("shell", "--uri", uri, input="select 1;\n")
        assert r.code == 1 and r.stdout == "" and "needs a password" in r.stderr


def test_port_already_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = kodiak_proc("serve", "--port", port, "--data-dir", tmp_path / "d")
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use (another `kodiak serve`?): "
        "choose another --port, or --port 0 for a free one"]


def test_plain_grpc_against_a_tls_server(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    assert kodiak("tls-cert", cert, key).code == 0
    with serve_proc(tmp_path / "d", "--tls-cert", cert, "--tls-key", key) as (uri, _):
        plain = uri.replace("grpc+tls://", "grpc://")
        r = kodiak("sql", "--uri", plain, "-c", "select 1")
    assert r.code == 1 and r.err_lines == [
        f"error: cannot reach the server at {plain}: it does not answer plain gRPC (does it "
        f"serve TLS? use --uri {uri})"]


def test_a_wildcard_host_prints_a_connectable_uri(tmp_path):
    with serve_proc(tmp_path / "d", "--host", "0.0.0.0", "--allow-insecure-remote") as (uri, _):
        assert uri.startswith("grpc://127.0.0.1:")
        r = kodiak("sql", "--uri", uri, "-c", "select 1 as one", "--format", "csv")
        assert r.stdout.splitlines() == ['"one"', "1"]
