"""Finding the local server: ``kodiak serve`` leaves ``kodiak-server.json`` in its data
directory, and client commands given that directory reach the server through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kodiak_flight.cli.discovery import FILE_NAME, find

from .conftest import kodiak, serve_proc


def test_clients_on_a_served_directory_reach_the_server(tmp_path):
    data = tmp_path / "d"
    (tmp_path / "x.csv").write_text("a,b\n1,x\n2,y\n")
    with serve_proc(data) as (uri, proc):
        record = data / FILE_NAME
        assert oct(record.stat().st_mode & 0o777) == "0o600"
        assert json.loads(record.read_text()) == {"uri": uri, "pid": proc.pid,
                                                   "tls_cert": None}
        used = f"using the server at {uri} (it serves {data})"
        r = kodiak("import", tmp_path / "x.csv", "t", "--data-dir", data)
        assert r.code == 0 and used in r.stderr, r.stderr
        r = kodiak("sql", "--data-dir", data, "-c", "select sum(a) as s from t",
                   "--format", "csv")
        assert r.stdout.splitlines() == ['"s"', "3"] and r.err_lines == [used]
        r = kodiak("export", "t", tmp_path / "t.csv", "--data-dir", data)
        assert r.code == 0 and (tmp_path / "t.csv").exists()
        r = kodiak("shell", "--data-dir", data, "--mode", "csv", input="select b from t "
                   "order by a;\n")
        assert r.stdout.splitlines() == ['"b"', '"x"', '"y"'] and used in r.stderr
    assert not record.exists()  # removed at a clean exit


def test_a_stale_record_is_ignored(tmp_path):
    data = tmp_path / "d"
    with serve_proc(data):
        saved = (data / FILE_NAME).read_text()
    (data / FILE_NAME).write_text(saved)  # as if the server had been killed
    assert find(data) is None  # the directory's lock is free
    r = kodiak("sql", "--data-dir", data, "-c", "select 1 as x", "--format", "csv")
    assert r.code == 0 and r.stderr == "" and r.stdout.splitlines() == ['"x"', "1"]


def test_a_killed_server_leaves_a_stale_record(tmp_path):
    data = tmp_path / "d"
    proc = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "serve", "--port", "0",
                             "--data-dir", str(data)], stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("KODIAK_")})
    try:
        assert proc.stdout.readline().startswith("grpc://")
        assert find(data) is not None
    finally:
        proc.kill()
        proc.wait()
    assert (data / FILE_NAME).exists() and find(data) is None
