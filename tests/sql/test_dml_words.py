"""Writes with values of the wrong kind answer in SQL's words, and IF [NOT] EXISTS on
columns is honoured. Found by a seeded DML fuzz (the last test here): a DELETE or UPDATE
whose condition compared a BIGINT with '1e3' raised Arrow's ArrowInvalid (the engine
evaluates a DML's condition, outside the query executor's error mapping), an INSERT of the
wrong type named Arrow's types and cast functions, and ALTER TABLE ... ADD COLUMN IF NOT
EXISTS failed on an existing column."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from engine import errors as engine_errors
from kodiak_flight.sql.errors import ExecutionError, InternalError, SqlError

ARROW = ("list<", "struct<", "map<", "utf8", "int64", "decimal128", "cast_", "Function '",
         "Unsupported cast", "scalar of type", "Traceback", "NoneType")


@pytest.fixture
def p(session):
    session.execute("create table p (id bigint primary key, d decimal(10,2), b boolean, "
                    "l integer[], u utinyint, s varchar)")
    session.execute("insert into p values (1, 1.5, true, [1], 1, 'a')")
    return session


@pytest.mark.parametrize("sql,message", [
    ("delete from p where id = '1e3'", "could not convert string '1e3' to BIGINT"),
    ("update p set s = 'x' where id = 'abc'", "could not convert string 'abc' to BIGINT"),
    ("delete from p where d = ''", "could not convert string '' to DECIMAL"),
    ("update p set u = 300", "Integer value 300 not in range: 0 to 255")])
def test_conditions_and_values(p, sql, message):
    with pytest.raises(ExecutionError, match=message):
        p.execute(sql)
    assert p.execute("select count(*) from p").table.column(0)[0].as_py() == 1


def test_insert_names_sql_types(p, db):
    t = pa.table({"m": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64()))})
    db.create_table("main.t", t.schema)
    db.insert("main.t", t)
    with pytest.raises(SqlError, match=r"^cannot insert MAP\(VARCHAR, BIGINT\) values into "
                                       r"a INTEGER\[\] column$"):
        p.execute("insert into p (id, l) select 5, m from t")
    with pytest.raises(SqlError, match="cannot insert INTEGER values into a UTINYINT column: "
                                       "Integer value 300 not in range"):
        p.execute("insert into p (id, u) select 8, 300")


def test_column_if_exists(p):
    p.execute("alter table p add column if not exists z integer")
    p.execute("alter table p add column if not exists Z varchar")  # names fold: kept
    p.execute("alter table p drop column if exists nope")
    cols = [r["column_name"] for r in p.execute("describe p").table.to_pylist()]
    assert cols == ["id", "d", "b", "l", "u", "s", "z"]
    with pytest.raises(engine_errors.AlreadyExists):
        p.execute("alter table p add column z integer")
    p.execute("alter table p drop column if exists z")
    with pytest.raises(engine_errors.NotFound):
        p.execute("alter table p drop column z")


VALUES = ["1", "-1", "null", "'x'", "'2020-01-01'", "[1,2]", "1.5", "true", "300", "''",
          "9223372036854775807", "'1e3'", "{'a': 1}", "interval 1 day", "'  12 '", "[]"]
COLUMNS = ["d", "b", "l", "u", "s"]


def statement(rng: random.Random) -> str:
    c, c2, v, k = rng.choice(COLUMNS), rng.choice(COLUMNS), rng.choice(VALUES), \
        rng.randint(-3, 30)
    return rng.choice([
        f"insert into p (id, {c}) values ({k}, {v})", f"update p set {c} = {v} where id = {k}",
        f"update p set {c} = {c2}", f"delete from p where {c} = {v}",
        f"insert into p (id, {c}) values ({k}, {v}) on conflict (id) do update set "
        f"{c} = excluded.{c}", f"delete from p where id > {k} returning {c}",
        f"alter table p add column if not exists z{k % 3} integer",
        f"alter table p drop column if exists z{k % 3}", f"select * from p where {c} = {v}"])


@pytest.mark.parametrize("seed", range(3))
def test_seeded_writes(p, seed):
    rng = random.Random(seed)
    problems = []
    for _ in range(150):
        sql = statement(rng)
        try:
            r = p.execute(sql)
            if r.table is None and r.reader is not None:
                r.reader.read_all()
        except InternalError as e:
            problems.append(f"{sql}: internal error {e}")
        except (SqlError, engine_errors.KodiakError) as e:
            if any(a in str(e) for a in ARROW):
                problems.append(f"{sql}: {type(e).__name__}: {e}")
        except Exception as e:  # noqa: BLE001 - any other exception is the failure itself
            problems.append(f"{sql}: {type(e).__name__}: {e}")
    assert not problems, "\n".join(problems[:20])
