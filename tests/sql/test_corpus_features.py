"""What DuckDB's own test corpus used and Kodiak refused, added and checked against DuckDB
(SIMILAR TO against the SQL standard's and PostgreSQL's answers, where DuckDB differs):
built-in functions called as methods (``v.lower()``), backtick-quoted names, EXTRACT of a
decade, century or millennium, ``regr_count``, ``overlay``, ``SIMILAR TO``, INTERVAL values
as text and text as INTERVAL, UNION BY NAME and INSERT BY NAME, format and printf, levenshtein and hamming, INTERVAL comparisons, LIKE with a pattern from a column, ``x > ANY (SELECT * ...)``,
``INTERVAL (n) HOUR`` of a column, TIME plus an interval."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .harness import check, paired, refused, run_both


@pytest.fixture
def pair(db, session):
    t = pa.table({"v": ["Hello World", None, "héllo"], "k": pa.array([1, 3, 2], pa.int32()),
                  "d": pa.array([8890, None, 11000], pa.date32())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select v.lower(), v.upper().length(), v.split(' '), v.replace('o', '0'), "
    "v.substr(1, 3) from t",
    "select extract(century from d), extract(millennium from d), extract(decade from d), "
    "extract(century from date '2000-10-10'), extract(century from date '2001-01-01'), "
    "date_part('decade', d) from t",
    "select regr_count(y, x) from (values (1, 2), (null, 3), (4, null), (5, 6)) t(y, x)",
    "select g, regr_count(y, x) from (values (1, 1, 1), (2, null, 1)) t(g, y, x) group by g",
    "select a, (select regr_count(c, d) from (values (5, 1)) bar(c, d) where a = c) "
    "from (values (5), (6)) foo(a)",
    "select overlay('abcdef' placing 'XX' from 3), overlay('abcdef', 'XX', 3), "
    "overlay('abcdef' placing 'XX' from 3 for 0), overlay('abcdef' placing 'Z' from 3 for 10), "
    "overlay(null placing 'XX' from 2), overlay('abcdef' placing null from 2), "
    "overlay('héllo' placing 'É' from 2)",
    "select overlay(v placing 'X' from k) from t",
    "select i::varchar from (values (interval '14 months 40 days 01:02:01.5'), "
    "(interval '-14 months -3 hours -30 seconds'), (interval '0 days'), (interval '1 day'), "
    "(interval '-1 day'), (interval '12 months'), (interval '90 minutes'), "
    "(interval '1 microsecond'), (interval '-25 hours'), (null)) t(i)",
    "select extract(epoch from x::interval) from (values ('2 years'), ('16 months'), "
    "('2066343400 microseconds'), ('1 day 02:00:00'), ('-3 hours'), ('1 year 2 mons'), "
    "('1.5 days'), ('2y3d'), (null), ('1 month ago'), ('10:00'), ('1 day -01:30:00'), "
    "('  2 DAYS ')) t(x)",
    "select format('{} is {}', 'x', 1), format('{1} {0}', 'a', 'b'), format('{}', null), "
    "format('{{}} {}', 2.5), printf('%s-%d', 'a', 5), "
    "printf('%5.2f|%05d|%-4s|', 3.14159, 42, 'ab'), printf('%s', null), format('hello')",
    "select format('{}: {}', v, k), printf('%s has %d', v, k) from t",
    "select levenshtein('kitten', 'sitting'), levenshtein('', 'abc'), levenshtein(null, 'a'), "
    "levenshtein('héllo', 'hello'), levenshtein('🦆x', 'x🦆'), hamming('abc', 'abd')",
    "select levenshtein(v, 'hello'), levenshtein('hello', v) from t",
    "select 2 > any(select * from (values (1), (3)) t(i)), "
    "2 > all(select * from (values (1), (3)) t(i))",
    "select '2021-08-20'::timestamp + interval (k) hour, interval (k) second, "
    "extract(epoch from interval (k) day) from t",
    "select time '10:00' + interval '1 hour', time '23:00' + interval '2 hours', "
    "time '01:00' - interval '2 hours', time '10:00' + interval '1 day 30 minutes'"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


def test_backtick_names(pair):
    session, duck = pair
    run_both(session, duck, "create table `my table` (`a col` integer, `b col` varchar)",
             "insert into `my table` values (1, 'x')")
    check(session, duck, 'select `a col`, -`a col`, "b col" as `my alias` from `my table`')


def test_similar_to(session):
    """The standard's SIMILAR TO: a whole-value match, % and _ as in LIKE, '.' itself."""
    got = session.execute(
        "select 'aaa' similar to 'a%', 'a.c' similar to 'a.c', 'abc' similar to 'a.c', "
        "'abc' similar to '(a|b)*c', 'aXc' similar to 'a_c', 'ab' not similar to 'a', "
        "'a%' similar to 'a#%' escape '#', 'ab' similar to 'a\\%', null similar to 'a', "
        "'abc' similar to '[a-c]+', 'xyz' not similar to 'x%' escape '!'"
    ).reader.read_all().to_pylist()[0]
    assert list(got.values()) == [True, True, False, True, True, True, True, False, None,
                                  True, False]


def test_unknown_method(pair):
    session, _ = pair
    refused(session, "select v.nope() from t", "no function nope")


def test_interval_column_from_text(pair):
    session, duck = pair
    run_both(session, duck, "create table iv (i interval)",
             "insert into iv values ('2 years'), ('42 days'), (null), ('-3 hours')")
    check(session, duck, "select extract(epoch from i), i::varchar from iv")
    refused(session, "select x::interval from (values ('2 parsecs')) t(x)",
            "could not convert string '2 parsecs' to INTERVAL")


def test_strptime_directives_it_cannot_read(pair):
    """Arrow's strptime accepts %U, %V, %j ... and ignores them (the date stayed 1900-01-01):
    refused rather than answered wrongly."""
    session, _ = pair
    refused(session, "select try_strptime('30', '%U')", "does not read %U")
    refused(session, "select strptime('2021-19-4', '%G-%V-%u')", "does not read %G")


def test_by_name(pair):
    session, duck = pair
    check(session, duck, "select 1 as a, 2 as b union all by name select 3 as b, 4 as c")
    run_both(session, duck, "create table ib (i int, j int default 7, k varchar)",
             "insert into ib by name select 42 as j, 'x' as k",
             "insert into ib by name select 1 as I")
    check(session, duck, "select * from ib")
    refused(session, "insert into ib by name select 1 as zz", "column 'zz' not found")


@pytest.mark.parametrize("sql,message", [
    ("select format('{:x}', 3)", "format spec"), ("select printf('%x', 255)", "%x"),
    ("select printf('%+d', 5)", "'%\\+d' is not supported"),
    ("select printf('100%')", "'%' is not supported"),
    ("select printf('%*d', i, 5) from range(2) t(i)", "width \\(\\*\\) must be a constant"),
    ("select format('{} {}', 1)", "needs argument 2"),
    ("select printf('%d', 'a')", "needs an integer, not VARCHAR")])
def test_formats_refused(pair, sql, message):
    session, _ = pair
    refused(session, sql, message)


def test_levenshtein_of_many_rows(db, session):
    """Random pairs of short strings with multi-byte characters, against DuckDB."""
    import random

    rng = random.Random(5)
    alpha = "abcé🦆 "
    words = [["".join(rng.choice(alpha) for _ in range(rng.randint(0, 12))) for _ in range(500)]
             for _ in range(2)]
    words[0][5] = None
    t = pa.table({"a": words[0], "b": words[1]})
    session, duck = paired(db, session, {"w": t})
    check(session, duck, "select levenshtein(a, b) from w")


def test_interval_comparisons(pair):
    """A month is 30 days and a day 24 hours when intervals are compared (PostgreSQL's and
    DuckDB's rule)."""
    session, duck = pair
    check(session, duck, "select interval '30 days' = interval '1 month', "
          "interval '25 hours' > interval '1 day', interval '1 day' >= interval '24 hours', "
          "interval '-1 hour' < interval '0 days', interval '1 month' <> interval '31 days', "
          "null::interval = interval '1 day', age(timestamp '2024-05-01', "
          "timestamp '2023-01-01') > interval '1 year'")
    run_both(session, duck, "create table iv2 (k int, i interval)",
             "insert into iv2 values (1, interval '1 day'), (2, interval '2 hours'), "
             "(3, interval '1 month'), (4, null), (5, interval '-3 days')")
    check(session, duck, "select k from iv2 where i between interval '1 hour' and "
          "interval '3 days' or i < interval '0 days'")


def test_like_patterns_from_columns(pair):
    session, duck = pair
    run_both(session, duck, "create table strs (s varchar, pat varchar)",
             "insert into strs values ('abc', 'a%'), ('aba', '%b%'), ('ABA', 'a_a'), "
             "('xyz', null), (null, 'x'), ('zz', 'zz')")
    check(session, duck, "select s, pat, s like pat, s ilike pat, s not like pat, "
          "'aba' like pat from strs")
    check(session, duck, "select s from strs where s like '%' || substr(pat, 1, 1) || '%'")
    check(session, duck, "select a.s, b.pat from strs a join strs b on a.s like b.pat")


def test_any_of_several_columns(pair):
    session, _ = pair
    refused(session, "select 2 > any(select * from (values (1, 2)) t(i, j))",
            "must return one column")
