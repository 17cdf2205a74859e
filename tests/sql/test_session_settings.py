"""Session settings (``SET memory_limit``, ``SET query_timeout``, ``RESET``, ``SHOW
SETTINGS``): their names win over variables, bad values are refused in the user's words, and
a server's limit is a ceiling a session may lower but never raise."""

from __future__ import annotations

import time

import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import BindError, QueryTimedOut


@pytest.fixture
def s(tmp_path):
    db = engine.Database.open(str(tmp_path))
    yield Session(db)
    db.close()


def settings(s: Session) -> dict:
    return {r["name"]: r["value"] for r in s.execute("show settings").table.to_pylist()}


UNSET = {"memory_limit": None, "query_timeout": None, "pl_max_depth": None,
         "pl_max_stack": None, "pl_max_loop_iterations": None, "job_timeout": None}


def test_set_show_reset(s):
    assert settings(s) == UNSET
    s.execute("SET memory_limit = '64MiB'")
    s.execute("SET query_timeout = '500ms'")
    assert settings(s) == {**UNSET, "memory_limit": "64 MiB", "query_timeout": "0.5 s"}
    s.execute("SET memory_limit = 1048576")  # bytes
    assert settings(s)["memory_limit"] == "1 MiB"
    s.execute("RESET memory_limit")
    assert settings(s)["memory_limit"] is None
    s.execute("SET x = 1")
    s.execute("RESET ALL")  # variables and settings alike
    assert settings(s) == UNSET
    assert s.execute("show variables").table.num_rows == 0


def test_a_timeout_in_fractions_of_a_second(s):
    s.execute("SET query_timeout = 0.5")  # a decimal literal
    assert settings(s)["query_timeout"] == "0.5 s"
    with pytest.raises(BindError, match=r"\(got -0.5\)"):
        s.execute("SET query_timeout = -0.5")


def test_setting_names_win_over_variables(s):
    s.execute("SET query_timeout = 30")
    assert "query_timeout" not in s.variables.session
    s.execute("SET memory = 5")  # not a setting: a variable
    assert s.execute("select $memory").table.column(0).to_pylist() == [5]


@pytest.mark.parametrize("sql, words", [
    ("SET memory_limit = 'lots'", "memory_limit must be a size such as '64MiB'"),
    ("SET memory_limit = 0", "memory_limit must be a size"),
    ("SET query_timeout = 'soon'", "query_timeout must be a number of seconds"),
    ("SET query_timeout = -1", "query_timeout must be a number of seconds"),
])
def test_bad_values_are_refused(s, sql, words):
    with pytest.raises(BindError, match=words):
        s.execute(sql)
    assert settings(s) == UNSET


def test_never_above_the_servers_limit(s):
    s.settings.ceilings["memory_limit"] = (8 << 20, "serve.query_memory_limit")
    with pytest.raises(BindError, match=r"above this server's limit of 8 MiB "
                                        r"\(serve.query_memory_limit\)"):
        s.execute("SET memory_limit = '64MiB'")
    s.execute("SET memory_limit = '4MiB'")  # lowering it is fine
    assert settings(s)["memory_limit"] == "4 MiB"


def test_query_timeout_stops_a_statement(s):
    s.execute("SET query_timeout = '300ms'")
    t0 = time.monotonic()
    with pytest.raises(QueryTimedOut, match=r"time limit \(0.3 s\)"):
        s.execute("with recursive r(n) as (select 1 union all select n + 1 from r "
                  "where n < 90000) select count(*) from r")
    assert time.monotonic() - t0 < 5
    s.execute("RESET query_timeout")
    assert s.execute("select 1 as x").table.column(0).to_pylist() == [1]
