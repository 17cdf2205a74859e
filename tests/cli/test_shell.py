"""``kodiak shell``: piped stdin, a prompt_toolkit pipe input (no TTY needed), completion."""

from __future__ import annotations

import io
import json

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from kodiak_flight.client import Embedded, Remote
from kodiak_flight.render import make_console
from kodiak_flight.shell import Shell, SqlCompleter
from kodiak_flight.sqltext import is_complete, split_statements

from .conftest import kodiak, kodiak_proc

SCRIPT = """\
create table trips (id bigint primary key, city varchar, km double);
insert into trips
  values (1, 'oslo', 12.5),
         (2, 'rome; the city', 3.0);
.tables
.schema trips
.mode csv
select id, city from trips order by id;
.mode json
select count(*) as n from trips;
.timer on
select 1 as one;
.timer off
.mode table
select * from nope;
select 'last' as w
"""


def test_piped_stdin_runs_a_script(tmp_path):
    p = kodiak_proc("shell", "--data-dir", tmp_path / "d", input=SCRIPT)
    out = p.stdout
    assert "trips" in out.splitlines()  # .tables
    assert "CREATE TABLE trips (" in out and "  km DOUBLE" in out and "PRIMARY KEY (id)" in out
    assert '"id","city"\n1,"oslo"\n2,"rome; the city"' in out  # .mode csv, ; inside a string
    assert '[\n{"n":2}\n]' in out  # .mode json
    assert "Run Time: " in out  # .timer on
    assert out.count("Run Time: ") == 1  # .timer off
    assert "last" in out  # a final statement without ';' still runs at end of input
    assert p.stderr.strip().splitlines() == ["error: table 'nope' does not exist"]
    assert p.returncode == 1  # a statement failed


def test_piped_stdin_success_exit_zero_and_exit_command(tmp_path):
    p = kodiak_proc("shell", "--data-dir", tmp_path / "d", "--mode", "csv",
                    input="select 1 as a;\n.exit\nselect 2 as b;\n")
    assert (p.returncode, p.stdout.splitlines()) == (0, ['"a"', "1"]), p.stderr


def _shell(backend):
    out, err = io.StringIO(), io.StringIO()
    return Shell(backend, make_console(out), make_console(err)), out, err


@pytest.fixture
def embedded(tmp_path):
    b = Embedded(tmp_path / "db")
    yield b
    b.close()


def test_prompt_toolkit_pipe_input(embedded, tmp_path):
    sh, out, err = _shell(embedded)
    history = tmp_path / "hist"
    with create_pipe_input() as inp:
        inp.send_text("create table t (a int,\n b varchar);\n"
                      "insert into t values (1, 'x'), (2, 'y');\n"
                      "select b\nfrom t\nwhere a = 2;\n"
                      ".mode ndjson\nselect a from t order by a;\n"
                      ".help\n.exit\n")
        sh.interactive(input=inp, output=DummyOutput(), history_file=history)
    text = out.getvalue()
    assert "2 rows affected" in text
    assert "│ y │" in text
    assert '{"a":1}\n{"a":2}' in text
    assert ".schema [TABLE]" in text  # .help
    assert err.getvalue() == ""
    assert "select b" in history.read_text()  # history is kept


def test_ctrl_d_ends_and_ctrl_c_clears(embedded):
    sh, out, err = _shell(embedded)
    with create_pipe_input() as inp:
        inp.send_text("select 1 as abandoned\n\x03select 7 as kept;\n\x04")
        sh.interactive(input=inp, output=DummyOutput())
    assert "kept" in out.getvalue() and "abandoned" not in out.getvalue()


def test_dot_read_and_errors(embedded, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("create table r (x int);\ninsert into r values (5);\n.mode csv\n")
    sh, out, err = _shell(embedded)
    assert sh.run_lines([f".read {script}", "select x from r;", ".read /no/such/file",
                         ".mode yaml", ".timer maybe", ".bogus", ".schema nope"])
    assert '"x"\n5' in out.getvalue()
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("error: ") for line in lines)
    assert "cannot read /no/such/file" in lines[0]
    assert "unknown mode 'yaml'" in lines[1]
    assert sh.errors == 5


def test_completion(embedded):
    sh, _, _ = _shell(embedded)
    sh.run_lines(["create table trips (trip_id bigint, city varchar, km double);",
                  "create table cities (name varchar, country varchar);"])

    def complete(text):
        return [c.text for c in SqlCompleter(sh).get_completions(Document(text),
                                                                 CompleteEvent())]

    assert complete("sel") == ["select"]
    assert complete("SEL") == ["SELECT"]
    assert complete("select * from tr") == ["trips"]
    assert complete("select * from c") == ["cities"]
    assert complete("select ci") == ["city"] + ["cities"]  # columns of all tables, tables
    assert complete("select trips.k") == ["km"]
    assert set(complete("select c from cities where co")) >= {"country"}
    assert "city" not in complete("select c from cities where c")  # only mentioned tables
    assert complete("select regexp_r") == ["regexp_replace"]  # functions too
    assert complete("select coal") == ["coalesce"]  # a keyword and a function: once
    assert complete("\\t") == ["\\timing"]
    assert complete(".sch") == [".schema"]
    assert complete(".schema ci") == ["cities"]


def test_statement_splitting():
    assert split_statements("select 1; select ';' ; -- x;\n/* ; */ select 2") == [
        "select 1", "select ';'", "-- x;\n/* ; */ select 2"]
    assert split_statements(" ; ;") == []
    assert is_complete("select 1;")
    assert is_complete("select 1; -- done")
    assert not is_complete("select ';'")
    assert not is_complete("select 'it''s;")
    assert is_complete("select 'it''s';")
    assert not is_complete("select 1 /* ; */")
    assert not is_complete('select "a;b"')
    # blocks hold semicolons of their own: trigger and function bodies, PL constructs
    trigger = ("create trigger t after insert on a when new.k > (case when 1 = 1 then 2 end) "
               "begin insert into l values (new.k); delete from m; end")
    assert split_statements(f"{trigger}; select 1") == [trigger, "select 1"]
    assert not is_complete("create trigger t after insert on a begin insert into l values (1);")
    assert is_complete(f"{trigger};")
    loop = "while $i < 3 do set i = $i + 1; if $i = 2 then set j = 1; end if; end while"
    assert split_statements(f"let i = 0; {loop}; select $i") == ["let i = 0", loop, "select $i"]
    assert split_statements("begin; select 1; end; begin transaction; commit") == [
        "begin", "select 1", "end", "begin transaction", "commit"]
    assert split_statements("begin let x = 1; begin set y = 2; end; end; select 1") == [
        "begin let x = 1; begin set y = 2; end; end", "select 1"]
    assert split_statements("create table t (begin int, a int); select begin from t; "
                            "select if(a, b, c), case when x then if(1, 2, 3) end from t") == [
        "create table t (begin int, a int)", "select begin from t",
        "select if(a, b, c), case when x then if(1, 2, 3) end from t"]
    assert split_statements("try select 1/0; catch _ then select 2; end try; select 3") == [
        "try select 1/0; catch _ then select 2; end try", "select 3"]


def test_shell_against_a_server(uri):
    b = Remote(uri)
    try:
        sh, out, err = _shell(b)
        sh.run_lines(["create table if not exists shell_t (k int primary key, v varchar);",
                      "insert into shell_t values (1, 'one');", ".tables",
                      ".schema shell_t", ".mode json", "select * from shell_t;"])
        assert err.getvalue() == ""
        text = out.getvalue()
        assert text.startswith("1 row affected\n")  # not "0 rows" for CREATE TABLE
        assert "shell_t" in text.splitlines()
        assert "CREATE TABLE shell_t (\n  k INTEGER,\n  v VARCHAR,\n  PRIMARY KEY (k)\n);" in text
        assert json.loads(text[text.index("["):]) == [{"k": 1, "v": "one"}]
    finally:
        b.close()


def test_shell_in_process_via_entry_point(data_dir):
    r = kodiak("shell", "--data-dir", data_dir, "--mode", "csv",
               input="select 3 as x;\n")
    assert r.code == 0 and r.stdout.splitlines() == ['"x"', "3"]


@pytest.mark.parametrize("where", ["embedded", "server"])
def test_ctrl_c_stops_a_running_statement_and_the_shell_goes_on(tmp_path, where):
    """In a terminal (a pseudo-terminal here), Ctrl-C during an endless cross join cancels
    it; the shell reports it, answers the next statement, and exits cleanly."""
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    server = None
    target = ["--data-dir", str(tmp_path / "d")]
    if where == "server":
        server = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "serve",
                                   "--port", "0", *target], stdout=subprocess.PIPE, text=True)
        target = ["--uri", server.stdout.readline().strip()]
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "shell", *target],
                            stdin=slave, stdout=slave, stderr=slave,
                            close_fds=True, env={**os.environ, "TERM": "dumb"})
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            assert time.monotonic() < deadline, seen[-2000:]
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break

    try:
        read_until(b"kodiak>")
        os.write(master, b"create table keep (a bigint);\r")
        os.write(master, b"insert into keep select * from range(1000) r(a);\r")
        os.write(master, b"select count(*) from keep, keep k2, keep k3, keep k4;\r")
        time.sleep(3)
        start = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        read_until(b"cancelled (Ctrl-C)")
        assert time.monotonic() - start < 15
        os.write(master, b"select 41 + 1 as answer;\r")
        read_until(b"42")
        os.write(master, b".exit\r")
        assert proc.wait(timeout=30) == 0
    finally:
        for p in (proc, server):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        os.close(master)
