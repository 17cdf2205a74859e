"""LIKE patterns ``%a%b...%`` run as an unanchored RE2 search (``strings.contains_regex``):
the same answers as DuckDB (NULLs, newlines, non-ASCII, escapes, empty parts), and the
plan uses the search only for patterns it can answer."""

from __future__ import annotations

import pytest

from kodiak_flight.sql import Session
from kodiak_flight.sql.functions.strings import contains_regex

from .harness import check, twin

SETUP = [
    "create table t (id integer, s varchar)",
    "insert into t values (1, 'special requests'), (2, 'requests special'), (3, NULL), "
    "(4, 'sp\necial\nrequests'), (5, 'spécial requêtes é'), (6, 'a%b_c'), (7, ''), "
    "(8, 'specialrequests'), (9, 'x.y*z'), (10, 'SPECIAL REQUESTS'), (11, 'a b')",
]

PATTERNS = ["%special%requests%", "%requests%special%", "%special%", "%é%", "%ial%req%",
            "%%special%%", "%.%*%", "%a b%", "%special requests%", "%requests%requests%",
            "%a%b%c%", "special%", "%special", "%_%", "%", "%%"]


@pytest.fixture
def pair(session: Session):
    with twin(session, SETUP) as both:
        yield both


@pytest.mark.parametrize("pattern", PATTERNS)
def test_like_and_not_like_as_duckdb(pair, pattern):
    check(*pair, f"select id, s like '{pattern}' as m from t order by id")
    check(*pair, f"select id from t where s not like '{pattern}' order by id")


@pytest.mark.parametrize("pattern", ["%!%%", "%!_%", "%a!%b%", "%!!%"])
def test_escaped_wildcards_as_duckdb(pair, pattern):
    check(*pair, f"select id, s like '{pattern}' escape '!' as m from t order by id")


def test_ilike_keeps_arrows_kernel(pair):
    check(*pair, "select id from t where s ilike '%special%requests%' order by id")


def plan_text(session: Session, sql: str) -> str:
    return "\n".join(session.execute("explain " + sql).reader.read_all().column(0)
                     .to_pylist())


def test_plan_uses_the_search_only_where_it_can(pair):
    session, _ = pair
    text = plan_text(session, "select id from t where s not like '%special%requests%'")
    assert "match_substring_regex" in text and "match_like" not in text, text
    for pattern in ("special%", "%a_b%", "%special"):
        text = plan_text(session, f"select id from t where s like '{pattern}'")
        assert "match_like" in text, text


def test_contains_regex_patterns():
    assert contains_regex("%special%requests%") == "(?s)special.*requests"
    assert contains_regex("%a.b%") == "(?s)a\\.b"
    assert contains_regex("%\\%%") == "(?s)%"
    for pattern in ("%", "%%", "a%", "%a", "%a_%", "%a\\", "abc"):
        assert contains_regex(pattern) is None, pattern
