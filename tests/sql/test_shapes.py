"""Query texts that differ only in compared constants share one plan (``sql/shapes.py``).

Each text of a shape runs in one session, which learns and then reuses the shape, and in a
fresh session, which runs it as written: results (rows, names, types) and errors must be
the same. The constants cover the types a literal gets and the implicit casts of
comparisons (strings against dates and numbers, integers against decimals).
"""

from __future__ import annotations

import datetime
import itertools

import pyarrow as pa
import pytest

from kodiak_flight.sql import Session, SqlError
from kodiak_flight.sql.shapes import ShapedQuery, literal_shape

from .tpch_queries import QUERIES as TPCH

SETUP = [
    "create table t (k bigint, i int, s varchar, d date, q decimal(15,2), f double, "
    "b boolean, ts timestamp, sm smallint, ti tinyint)",
    "insert into t values "
    "(1, 7, 'a', date '2020-01-01', 1.50, 0.5, true, timestamp '2020-01-01 10:00:00', 7, 1), "
    "(2, 8, 'b', date '2021-01-01', 2.25, 1.5, false, timestamp '2021-06-01 00:00:00', "
    "300, -1), "
    "(3, -1, 'it''s', date '2019-05-05', 100.00, -2.0, null, null, -32768, 127), "
    "(4, null, '1', null, null, null, true, timestamp '2020-01-01 00:00:00', null, null), "
    "(3000000000, 2147483647, 'z', date '2030-12-31', 0.01, 1e10, false, "
    "timestamp '2030-01-01 00:00:00', 32767, -128)",
    "create index t_k on t (k)",
    "create index t_s on t (s)",
]

# constants written as SQL, for every column: numbers of each literal type, strings that
# cast and strings that do not
CONSTANTS = {
    "k": ["1", "2", "3000000000", "'2'", "'x'", "1.5", "2.0", "1e0", "99999999999999999999",
          "-1", "-2", "-3000000000", "-2147483648"],
    "i": ["7", "8", "2147483647", "'8'", "1.5", "7.00"],
    "s": ["'a'", "'it''s'", "'1'", "1", "''"],
    "d": ["'2020-01-01'", "'2019-05-05'", "'2020-1-1'", "'abc'", "20200101",
          "date '2020-01-01'", "date '2019-05-05'", "date '2020-13-01'", "date ' 2021-01-01 '"],
    "q": ["1", "2", "1.5", "2.25", "100", "1.505", "0.01", "1e0", "'2.25'", "3.75", "0.02",
          "2.5", "-1.5", "-2.5", "-1"],
    "f": ["1", "0.5", "1.5", "1e10", "'1.5'", "2.5", "2", "1e1", "-0.5", "-2e0", "-1e0"],
    "b": ["'true'", "'false'", "1"],
    "ts": ["'2020-01-01 10:00:00'", "'2020-01-01'", "'2021-06-01 00:00:00'"],
    "sm": ["7", "300", "-32768", "32767", "40000", "-1", "2", "'7'", "1.5"],
    "ti": ["1", "-1", "127", "-128", "128", "300", "2"],
}

QUERIES = [
    "select * from t where {c} = {v}",
    "select k from t where {c} < {v} order by k",
    "select k from t where {c} >= {v} and k < {w} order by k",
    "select k, s from t where {c} <> {v} or k = {w} order by k",
    "select k from t where {c} between {v} and {v} order by k",
    "select s, count(*) from t where {c} > {v} group by s order by s",
    "select a.k from t a join t b on a.k = b.k where a.{c} = {v} order by 1",
    "select k from t where k in (select k from t where {c} = {v}) order by k",
    "select k from t where ({c} = {v}) order by k limit 2",
    "select k from t where {c} in ({v}, {w}) order by k",
    "select k, s from t where {c} in ({v}) and k in (1, {w}, 3) order by k",
]


def test_not_in_and_in_lists_under_or(db, filled: Session) -> None:
    """A NOT IN runs as a filter, a set lookup as written and equalities as a shape: the
    shape is refused. IN lists under OR on two columns (the engine's OR of two INs) are
    kept. Every text answers as written."""
    for k in (1, 2, 3, 4):
        sql = f"select k from t where k not in ({k}, 2) order by k"
        assert _outcome(filled, sql) == _outcome(Session(db), sql), sql
        assert not _shaped(filled, sql)
        sql = f"select k, s from t where i in ({k}, 8) or s in ('a', '{k}') order by k"
        assert _outcome(filled, sql) == _outcome(Session(db), sql), sql
    assert _shaped(filled, "select k, s from t where i in (5, 8) or s in ('a', '5') order by k")


def _outcome(session: Session, sql: str) -> object:
    try:
        r = session.execute(sql)
        table = r.table if r.table is not None else r.reader.read_all()
    except SqlError as e:
        return type(e).__name__, str(e)
    return table.schema, table.to_pylist()


def _shaped(session: Session, sql: str) -> bool:
    """Whether the session runs ``sql`` by a kept shape."""
    try:
        return isinstance(session.prepare(sql), ShapedQuery)
    except SqlError:
        return False


@pytest.fixture
def filled(db) -> Session:
    s = Session(db)
    for stmt in SETUP:
        s.execute(stmt)
    return s


@pytest.mark.parametrize("query", QUERIES)
def test_same_outcome_as_written(db, filled: Session, query: str) -> None:
    """Every text of a shape gives what the text run as written gives."""
    kept = 0
    for column, values in CONSTANTS.items():
        pairs = list(itertools.product(values, ["2", "'2'"]))
        for v, w in pairs + pairs[:3]:  # again: by then the shape is kept (if it can be)
            sql = query.format(c=column, v=v, w=w)
            assert _outcome(filled, sql) == _outcome(Session(db), sql), sql
            kept += _shaped(filled, sql)
    assert kept, "no text of this query was run by a kept shape"


def test_a_shape_is_kept_from_its_second_text(db, filled: Session, binds) -> None:
    filled.execute("select * from t where k = 1")
    filled.execute("select * from t where k = 2")  # learns: plans it both ways
    before = len(binds)
    for k in (3, 4, 5, 6):
        filled.execute(f"select * from t where k = {k}")
    assert len(binds) == before  # no binding per text any more


def test_integers_against_a_decimal_column(db, filled: Session) -> None:
    """An integer compared with a DECIMAL column binds as the narrowest decimal holding its
    value, a parameter of its INTEGER type does not: the shape is kept with its integers
    as those decimals, one shape per count of digits."""
    for v in (1, 2, 100, 3, 250, 999):
        sql = f"select k from t where q < {v} order by k"
        assert _outcome(filled, sql) == _outcome(Session(db), sql)
    assert _shaped(filled, "select k from t where q < 7 order by k")
    assert _shaped(filled, "select k from t where q < 500 order by k")
    assert not _shaped(filled, "select k from t where q < 12 order by k")  # seen never


def test_integers_against_narrow_integer_columns(db, filled: Session) -> None:
    """An integer compared with a SMALLINT or TINYINT column binds as the column's type when
    it fits (``operators.fit_int_literal``), a parameter of its INTEGER type does not: the
    shape is kept with its integers as the narrowest integer type holding each, one shape
    per width (a TINYINT constant, a SMALLINT one)."""
    for v in (1, 2, 3, 300, 301, 7, 40000, 40001):
        for c in ("sm", "ti"):
            sql = f"select k from t where {c} = {v} order by k"
            assert _outcome(filled, sql) == _outcome(Session(db), sql)
    assert _shaped(filled, "select k from t where sm = 5 order by k")
    assert _shaped(filled, "select k from t where sm = 1000 order by k")
    assert _shaped(filled, "select k from t where ti = 9 order by k")
    assert _shaped(filled, "select k from t where sm = 50000 order by k")  # plain INTEGER


def test_refused_shape_runs_as_written(db, filled: Session) -> None:
    """Integers against a DECIMAL and an INTEGER column in one text: neither typing plans
    as the text does, so the shape is refused, and its texts still answer."""
    for v in (1, 2, 3, 4):
        sql = f"select k from t where q < {v} and i <> {v} order by k"
        assert _outcome(filled, sql) == _outcome(Session(db), sql)
        assert not _shaped(filled, sql)


def test_a_catalog_change_forgets_shapes(db, filled: Session) -> None:
    for k in (1, 2, 3):
        filled.execute(f"select * from t where k = {k}")
    assert isinstance(filled.prepare("select * from t where k = 4"), ShapedQuery)
    filled.execute("drop table t")
    filled.execute("create table t (k varchar, v int)")
    filled.execute("insert into t values ('4', 1)")
    assert _outcome(filled, "select * from t where k = 4") == \
        _outcome(Session(db), "select * from t where k = 4")


def test_prepare_describes_a_shaped_text(db, filled: Session) -> None:
    """A client that prepares every text (ADBC, JDBC) gets the shape's statement: no
    parameters, the schema the text as written has."""
    for k in (1, 2):
        filled.prepare(f"select k, s, q from t where k = {k}")
    p = filled.prepare("select k, s, q from t where k = 3000000000")
    assert not isinstance(p, ShapedQuery)  # a BIGINT constant: a shape of its own
    p = filled.prepare("select k, s, q from t where k = 3")
    assert isinstance(p, ShapedQuery)
    written = Session(db).prepare("select k, s, q from t where k = 3")
    assert p.dataset_schema.equals(written.dataset_schema, check_metadata=True)
    assert len(p.parameter_schema) == 0 and not p.is_update
    assert p.execute().reader.read_all().to_pylist() == [{"k": 3, "s": "it's", "q": 100}]
    filled.execute("alter table t rename column s to s2")  # the shape is forgotten ...
    filled.execute("alter table t add column s varchar")
    got = p.execute().reader.read_all()  # ... and the text runs as written
    assert got.to_pylist() == [{"k": 3, "s": None, "q": 100}]


@pytest.mark.parametrize("sql,expected", [
    ("select * from t where k = 5", "select * from t where k = $1"),
    ("select * from t where a = 'it''s' and b between 1.5 and 2 limit 3",
     "select * from t where a = $1 and b between $2 and $3 limit 3"),
    ("select * from t where d >= date '2020-01-01' and e = -5",
     "select * from t where d >= $1 and e = $2"),
    ("select * from t where d between date '2020-01-01' and date '2021-01-01'",
     "select * from t where d between $1 and $2"),
    ("select * from t where d >= date '2020-13-01'", None),  # not a date: as written
    ("select * from t where d >= timestamp '2020-01-01'", None),
    ("select * from t where k = 5 - 3", None),
    ("select x = 5 from t", None),  # an output column: its name holds the text
    ("select * from t where k = 5 + j", None),  # part of an expression
    ("select * from t where k = ?", None),  # a client's own parameters
    ("select * from t where k = $v", None),  # a variable
    ("insert into t values (1)", None),  # not a query
    ("select * from t where s like 'a%'", None),
    ("select * from t group by 1 order by 2 limit 10", None),
    ("select * from t where k in (1, -2, 'x') and s not in (date '2020-01-01')",
     "select * from t where k in ($1, $2, $3) and s not in ($4)"),
    ("select k in (1, 2) from t", None),  # an output column
    ("select * from t where k in (1, j)", None),  # not every item a constant
    ("select * from t where k in (1) + 1", None),
    ("select * from t where k in (" + ", ".join(["1"] * 65) + ")", None),  # too long
])
def test_what_is_taken_out(sql: str, expected: str | None) -> None:
    shape = literal_shape(sql)
    assert (shape.text if shape is not None else None) == expected


def test_constants_are_typed_as_literals() -> None:
    shape = literal_shape("select * from t where a = 1 and b = 3000000000 and c = 1.50 "
                          "and d = 1e3 and e = 'x' and f = 123456789012345678901234567890 "
                          "and g = -2147483648 and h = date '2020-02-29'")
    assert shape is not None
    assert [v.type for v in shape.values] == [
        pa.int32(), pa.int64(), pa.decimal128(3, 2), pa.float64(), pa.string(),
        pa.decimal128(30, 0), pa.int64(), pa.date32()]
    assert shape.values[-2].as_py() == -2147483648


# other values of TPC-H's string constants, so that a text of the same shape selects rows
OTHER = {"EUROPE": "ASIA", "BUILDING": "MACHINERY", "ASIA": "AMERICA", "FRANCE": "JAPAN",
         "GERMANY": "FRANCE", "AMERICA": "EUROPE", "R": "A", "1-URGENT": "2-HIGH",
         "Brand#45": "Brand#12", "Brand#23": "Brand#34", "MED BOX": "SM PACK",
         "Brand#12": "Brand#45", "Brand#34": "Brand#23", "CANADA": "BRAZIL", "F": "O",
         "SAUDI ARABIA": "EGYPT", "ECONOMY ANODIZED STEEL": "STANDARD POLISHED TIN",
         "DELIVER IN PERSON": "NONE"}


# the queries whose shape is kept (the others compare an integer with a DECIMAL column,
# hold a subquery the check cannot see, or a constant the optimiser reads)
KEPT_TPCH = {2, 3, 4, 5, 6, 7, 8, 10, 14, 17, 18, 20, 21}


def _varied(sql: str, step: int) -> str:
    """``sql`` with the constants a shape takes out changed ``step`` times: integers moved
    by one, dates by a month, strings to another value (a text of the same shape and
    types, other rows)."""
    shape = literal_shape(sql)
    assert shape is not None
    text = shape.text
    for n in range(len(shape.values), 0, -1):  # $12 before $1
        v = shape.values[n - 1].as_py()
        if isinstance(v, int):
            written = str(v + step)
        elif isinstance(v, str):
            for _ in range(step):
                v = OTHER.get(v, v)
            written = "'" + v.replace("'", "''") + "'"
        elif isinstance(v, datetime.date):
            written = f"date '{v + datetime.timedelta(days=31 * step)}'"
        else:
            written = str(v)
        text = text.replace(f"${n}", written)
    return text


@pytest.mark.parametrize("n", [n for n in sorted(TPCH) if literal_shape(TPCH[n]) is not None])
def test_tpch_texts_of_one_shape(tpch, n: int) -> None:
    """TPC-H's texts with other constants (the queries comparing one): a session that
    learned the shape answers as the text run as written does."""
    session, _ = tpch
    learner = Session(session.db)
    for step in (0, 1, 2):
        sql = _varied(TPCH[n], step)
        assert _outcome(learner, sql) == _outcome(Session(session.db), sql), sql
    if n in KEPT_TPCH:  # by then these run by their kept shape
        assert _shaped(learner, _varied(TPCH[n], 3))
    learner.close()
