"""A PL-Grizzly script through the Flight SQL server with ADBC: run as one statement, and an
uncaught error reaches the client with its PL stack trace, never a Python traceback."""

from __future__ import annotations

import adbc_driver_manager
import pytest
from adbc_driver_flightsql import dbapi as flight_sql


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


def test_variables_are_the_connections_in_and_out_of_transactions(uri, name):
    """One set of variables per connection: the server's session for autocommit statements
    and the sessions of its Flight SQL transactions read and set the same ones."""
    with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SET x = 5")
        cur.execute("select $x")
        assert cur.fetchall() == [(5,)]
        conn.adbc_connection.set_autocommit(False)  # a Flight SQL transaction from here
        cur.execute("select $x + 1")
        assert cur.fetchall() == [(6,)]
        cur.execute(f"CREATE TABLE {name} (a BIGINT)")
        cur.execute(f"insert into {name} values ($x)")
        cur.execute("SET x = 7")
        cur.execute("select $x")
        assert cur.fetchall() == [(7,)]
        conn.commit()
        cur.execute("select $x")  # the next transaction's session
        assert cur.fetchall() == [(7,)]
        conn.rollback()
        conn.adbc_connection.set_autocommit(True)
        cur.execute(f"select a, $x from {name}")
        assert cur.fetchall() == [(5, 7)]
        cur.execute("RESET x")
        with pytest.raises(adbc_driver_manager.Error, match=r"variable \$x is not set"):
            cur.execute("select $x")
    with flight_sql.connect(uri, autocommit=True) as other, other.cursor() as cur:
        cur.execute("SET x = 1")  # another connection's variables are its own
        cur.execute("select $x")
        assert cur.fetchall() == [(1,)]


def test_a_variable_changing_type_between_statements(conn):
    with conn.cursor() as cur:
        cur.execute("SET y = 5")
        cur.execute("select $y")
        assert cur.fetchall() == [(5,)]
        cur.execute("SET y = 'abc'")
        cur.execute("select $y")
        assert cur.fetchall() == [("abc",)]


def test_a_script_ending_in_a_query_has_a_schema_before_it_runs(conn, name):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT, b VARCHAR)")
        script = (f"LET i = 0; WHILE $i < 2 DO insert into {name} values ($i, 'x'); "
                  f"SET i = $i + 1; END WHILE; select a, b from {name} order by a")
        schema = cur.adbc_execute_schema(script)  # GetSchema: prepared, never run
        assert schema.names == ["a", "b"]
        assert str(schema.field("a").type) == "int64"
        cur.execute(f"select count(*) from {name}")
        assert cur.fetchall() == [(0,)]
        cur.execute(script)
        assert cur.fetchall() == [(0, "x"), (1, "x")]
