"""``kodiak shell`` at a terminal (a pseudo-terminal): psql and sqlite habits, the pager,
one history entry per statement, and the password asked for at start-up."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from .conftest import serve_proc


class Terminal:
    """``kodiak ARGS`` on a 24-line pseudo-terminal."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        base = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
        self.proc = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", *args],
                                     stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                     cwd=cwd, env={**base, "TERM": "dumb", **(env or {})})
        os.close(slave)
        self.seen = b""

    def expect(self, marker: str, timeout: float = 60) -> str:
        """Read until ``marker``; the text read since the last ``expect``."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.seen[start:]:
            assert time.monotonic() < deadline, self.seen[-2000:]
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        end = self.seen.index(marker.encode(), start) + len(marker)
        return self.seen[start:end].decode("utf-8", "replace")

    def send(self, text: str) -> None:
        os.write(self.master, text.replace("\n", "\r").encode())

    def run(self, line: str) -> str:
        """Send a line and read up to the next prompt; what was printed."""
        self.seen = b""
        self.send(line + "\n")
        return self.expect("kodiak> ")

    def close(self) -> int:
        """Wait for the shell to exit; its status."""
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


def test_psql_and_sqlite_habits_pager_and_history(tmp_path):
    history = tmp_path / "history"
    paged = tmp_path / "paged.txt"
    t = Terminal("shell", "--data-dir", "d", "--history-file", str(history), cwd=tmp_path,
                 env={"PAGER": f"sh -c 'cat > {paged}'"})
    try:
        t.expect("kodiak> ")
        t.run("create table t (a int primary key,\n  b varchar);")
        t.run("create index t_b on t (b);")
        t.run("insert into t select a, 'v' || a from range(60) r(a);")
        out = t.run("select a, b from t order by a;")  # 60 rows: taller than 24 lines
        assert "59" not in out and "v59" in paged.read_text()
        out = t.run("select count(*) as n from t;")  # short: on the screen
        assert "60" in out
        out = t.run("\\d t")
        assert "INTEGER" in out and "Indexes:" in out and "PRIMARY KEY (a)" in out
        assert "t_b INDEX (b)" in out
        assert "CREATE INDEX t_b ON t (b);" in t.run(".schema t")
        assert "| 1 | v1 |" in (t.run(".mode markdown") + t.run("select a, b from t where a = 1;"))
        t.run(".headers off")
        assert "a = 2" in (t.run(".mode line") + t.run("select a from t where a = 2;"))
        t.run(".mode box")
        t.run(".maxrows 3")
        out = t.run("select a from t order by a limit 5;")
        assert "(5 rows, 3 shown" in out
        t.run(".output out.txt")
        t.run("select 'to the file' as w;")
        t.run(".output")
        assert "to the file" in (tmp_path / "out.txt").read_text()
        out = t.run(".show")
        assert "mode: box" in out and "maxrows: 3" in out and "headers: off" in out
        t.run("\\timing")
        assert "Run Time:" in t.run("select 1;")
        assert ".schema" in t.run("help")
        assert "│ main │ t │" in t.run("\\dt")  # headers are off
        t.send("quit\n")
        assert t.close() == 0
    finally:
        t.kill()
    entries = [e for e in history.read_text().split("\n\n") if e.strip()]
    first = next(e for e in entries if "create table t" in e)
    assert "+create table t (a int primary key," in first and "+  b varchar);" in first


def test_the_password_is_asked_for_at_start_up(tmp_path):
    with serve_proc(tmp_path / "d", env={"KODIAK_PASSWORD": "s3cret"}) as (uri, _):
        t = Terminal("shell", "--uri", uri, cwd=tmp_path)
        try:
            t.expect("Password for kodiak")
            t.send("s3cret\n")
            t.expect("kodiak> ")
            assert "42" in t.run("select 41 + 1 as answer;")
            t.send("\\q\n")
            assert t.close() == 0
        finally:
            t.kill()
