"""ascii, chr, translate, strlen (bytes), concat_ws and regexp_split_to_array over Unicode
text, against DuckDB. (strlen counted characters, where DuckDB's counts bytes.)"""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.sql.errors import SqlError

from .harness import check, paired


@pytest.fixture
def pair(db, session):
    t = pa.table({"s": ["abc", "", None, "héllo", "日本語", "😀 x", "ß", "a,b,,c"],
                  "n": pa.array([65, 223, 8364, 128512, None, 0x10FFFF, 97, 10], pa.int32())})
    return paired(db, session, {"t": t})


@pytest.mark.parametrize("sql", [
    "select s, ascii(s), strlen(s), length(s) from t",
    "select n, chr(n), ascii(chr(n)) from t",
    "select concat_ws(',', s, 'x', null, s), concat_ws(null, s), concat_ws('-', null, null) "
    "from t",
    "select regexp_split_to_array(s, '[lb,]'), string_split_regex(s, ',+') from t",
    "select s from t where ascii(s) > 200 order by s",
    "select translate(s, 'lé', 'LE'), translate(s, 'abc,', 'x'), translate(s, '', 'x'), "
    "translate(s, '日語😀', '😀') from t",
    # character positions (they were byte positions: strpos('😀ab', 'a') gave 5)
    "select strpos(s, 'l'), position('x' in s), instr(s, 'é'), strpos(s, '語') from t"])
def test_against_duckdb(pair, sql):
    session, duck = pair
    check(session, duck, sql)


@pytest.mark.parametrize("sql", ["select chr(55296)", "select chr(-1)",
                                 "select chr(1114112)"])
def test_not_a_code_point(pair, sql):
    session, _ = pair
    with pytest.raises(SqlError, match="is not a Unicode code point"):
        session.execute(sql).reader.read_all()


def test_concat_ws_keeps_every_row(pair):
    """Arrow's binary_join_element_wise with null_handling='skip' drops rows whose values
    are NULL (60 rows in, 48 out): concat_ws does not use it."""
    session, duck = pair
    check(session, duck, "select concat_ws(', ', upper(s), s, upper(s)) from t, range(8) r")
