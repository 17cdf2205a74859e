"""A PL-Grizzly script through the Flight SQL server with ADBC: run as one statement, and an
uncaught error reaches the client with its PL stack trace, never a Python traceback."""

from __future__ import annotations

import adbc_driver_manager
import pytest


def test_script_through_adbc(conn, name):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT PRIMARY KEY)")
        cur.execute(f"""
            LET i = 0;
            WHILE $i < 4 DO
              SET i = $i + 1;
              insert into {name} values ($i);
            END WHILE;
            LET total = 0;
            FOR r IN (select a from {name} order by a) DO
              SET total = $total + $r.a;
            END FOR;
            RETURN $total""")
        assert cur.fetchall() == [(10,)]


def test_script_error_through_adbc(conn):
    with conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as info:
            cur.execute("BEGIN\n  LET x = 1;\n  select nosuch;\nEND")
        text = str(info.value)
        assert "nosuch" in text and "at script, line 3" in text
        assert "Traceback" not in text
