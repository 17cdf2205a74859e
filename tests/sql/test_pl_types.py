"""User types (PL-Grizzly, ``CREATE TYPE``): struct and exception types as column types, in
casts, constructors and field access; compared with DuckDB's ``STRUCT(x DOUBLE, y DOUBLE)``;
stored as catalog objects (transactional, durable, in backups); DROP refused while used."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import BindError, ParseError, Session, SqlError
from kodiak_flight.sql.pl.types import find_type

from .harness import check, twin

POINT = "STRUCT(x DOUBLE, y DOUBLE)"


def rows(s: Session, sql: str) -> list[tuple]:
    return [tuple(r.values()) for r in s.execute(sql).reader.read_all().to_pylist()]


@pytest.fixture
def points(session: Session) -> Session:
    session.execute("create type point as struct (x double, y double)")
    return session


def test_struct_column_matches_duckdb(points: Session) -> None:
    inserts = "insert into pts values (1, {x: 1, y: 2}), (2, {y: -1, x: 3.5}), (3, NULL), " \
              "(4, {x: NULL, y: 7})"
    with twin(points, []) as (s, duck):
        s.execute("create table pts (id int, p point)")
        duck.execute(f"create table pts (id int, p {POINT})")
        s.execute(inserts)
        duck.execute(inserts)
        for sql in ["select id, p from pts order by id",
                    "select id, p.x, p.y, (p).x + (p).y from pts order by id",
                    "select id from pts where p.x > 1",
                    "select sum(p.x), max(p.y), count(p) from pts",
                    "select p.x is null as nx, count(*) from pts group by all",
                    "select id, pts.p.y from pts order by p.y desc nulls last, id"]:
            check(s, duck, sql)
        check(s, duck, "select {x: 1, y: 2}::point as p, cast({x: 5, y: 6} as point).y",
              duck_sql=f"select {{x: 1, y: 2}}::{POINT} as p, cast({{x: 5, y: 6}} as {POINT}).y")


def test_column_type_is_the_struct(points: Session) -> None:
    points.execute("create table pts (id int, p point)")
    points.execute("insert into pts values (1, point(1, 2))")
    t = points.execute("select p from pts").reader.read_all()
    assert t.schema.field("p").type == pa.struct([("x", pa.float64()), ("y", pa.float64())])
    assert rows(points, "describe pts")[1][:2] == ("p", "point")


def test_constructor_and_casts(points: Session) -> None:
    assert rows(points, "select point(1, 2), point(y => 4, x := 3), point(1, 2).x") == \
        [({"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}, 1.0)]
    assert rows(points, "select point(x => 1)") == [({"x": 1.0, "y": None},)]
    assert rows(points, "select {y: 2, x: 1}::point, NULL::point") == \
        [({"x": 1.0, "y": 2.0}, None)]
    with pytest.raises(BindError, match=r"point\(\) takes 2 arguments \(x, y\), not 1"):
        points.execute("select point(1)")
    with pytest.raises(BindError, match="type 'point' has no field 'z'"):
        points.execute("select point(x => 1, z => 2)")
    with pytest.raises(SqlError, match="cannot cast INTEGER to point"):
        points.execute("select 1::point")
    with pytest.raises(SqlError, match="missing y; no field z in point"):
        points.execute("select {x: 1, z: 2}::point")
    with pytest.raises(SqlError, match="has no field 'z'"):
        points.execute("select point(1, 2).z")


def test_nested_and_exception_types(points: Session) -> None:
    points.execute("create type segment as struct (a point, b point, tags varchar[])")
    points.execute("create type not_found as exception (message varchar, key bigint)")
    assert rows(points, "select segment(point(0, 0), {x: 3, y: 4}, ['a']).b.y") == [(4.0,)]
    assert rows(points, "select not_found(message => 'no row', key => 7)") == \
        [({"message": "no row", "key": 7},)]
    points.execute("create type oops as exception")  # no fields: still one value a row
    assert rows(points, "select oops(), x from range(2) t(x)") == [({}, 0), ({}, 1)]
    points.execute("drop type oops")
    ut = find_type(points.db.snapshot(), "main", "not_found")
    assert ut is not None and ut.form == "exception"
    assert ut.fields == [("message", pa.string()), ("key", pa.int64())]
    assert ut.arrow_type == pa.struct(ut.fields)
    assert rows(points, "show types") == [
        ("not_found", "exception", "message varchar, key bigint", "main"),
        ("point", "struct", "x double, y double", "main"),
        ("segment", "struct", "a point, b point, tags varchar[]", "main")]
    assert rows(points, "select type_name, struct from kodiak_types where form = 'struct' "
                        "order by 1") == [("point", "STRUCT(x DOUBLE, y DOUBLE)"),
                                          ("segment", "STRUCT(a point, b point, tags VARCHAR[])")]


def test_errors(points: Session) -> None:
    for sql, err, msg in [
        ("create type double as struct (x int)", BindError, "'double' is the name of a "
         "built-in type"),
        ("create type abs as struct (x int)", BindError, "'abs' is the name of a built-in "
         "function"),
        ("create type p2 as struct (x int, X double)", BindError, "two fields named 'x'"),
        ("create type p2 as struct (x poin)", BindError, "type 'poin' does not exist "
         r"\(did you mean: point\?\)"),
        ("create type p2 as struct (x uuid)", BindError, "field 'x': type UUID is not "
         "supported"),
        ("create type p2 as struct ()", BindError, "needs at least one field"),
        ("create type p2 as blob (x int)", BindError, "unknown form 'blob'"),
        ("create type p2 as struct (x int not null)", BindError, "no constraints"),
        ("create type point as struct (x int)", engine.errors.AlreadyExists,
         "'main.point' already exists"),
        ("create table t (a poynt)", BindError, "type 'poynt' does not exist"),
        ("select 1::poynt", BindError, "type 'poynt' does not exist"),
        ("drop type nothing", BindError, "type 'nothing' does not exist"),
        ("create type", ParseError, "CREATE TYPE expects"),
    ]:
        with pytest.raises(err, match=msg):
            points.execute(sql)
    points.execute("create type if not exists point as struct (z int)")  # kept
    points.execute("drop type if exists nothing")
    assert [r[0] for r in rows(points, "show types")] == ["point"]


def test_drop_refused_while_used(points: Session) -> None:
    points.execute("create table pts (id int, p point)")
    with pytest.raises(BindError, match="cannot drop type 'point': column 'p' of table "
                                        "'main.pts' uses it"):
        points.execute("drop type point")
    points.execute("drop table pts")
    points.execute("create table made as select point(1, 2) as p")  # CTAS keeps the type
    with pytest.raises(BindError, match="column 'p' of table 'main.made' uses it"):
        points.execute("drop type point")
    points.execute("drop table made")
    points.execute("create type segment as struct (a point, b point)")
    with pytest.raises(BindError, match="type 'main.segment' uses it"):
        points.execute("drop type point")
    with pytest.raises(BindError, match="cannot replace type 'point'"):
        points.execute("create or replace type point as struct (x int, y int)")
    points.execute("create or replace type point as struct (x double, y double)")  # same
    points.execute("drop type segment")
    with points.db.begin() as tx:  # a function using the type (the functions' format)
        tx.create_object("function", "main", "[point]norm()", {
            "name": "norm", "receiver": "point", "params": [], "returns": "double",
            "body": "sqrt(self.x * self.x + self.y * self.y)", "block": False,
            "mode": "sync", "raises": [], "sql": "..."})
        tx.create_object("function", "main", "far(point[])", {
            "name": "far", "receiver": None, "params": [{"name": "ps", "type": "point[]",
                                                         "default": None}],
            "returns": "boolean", "body": "true", "block": False, "mode": "sync",
            "raises": [], "sql": "..."})
    with pytest.raises(BindError, match=r"function 'main.\[point\]norm\(\)', function "
                                        r"'main.far\(point\[\]\)' use it"):
        points.execute("drop type point")
    with points.db.begin() as tx:
        tx.drop_object("function", "main", "[point]norm()")
        tx.drop_object("function", "main", "far(point[])")
    points.execute("create or replace type point as struct (x int, y int)")  # now free
    points.execute("drop type point")
    assert rows(points, "show types") == []


def test_transactional(points: Session) -> None:
    points.execute("begin")
    points.execute("create type tmp as struct (a int)")
    points.execute("create table t (v tmp)")
    points.execute("insert into t values (tmp(5))")
    assert rows(points, "select v.a from t") == [(5,)]
    points.execute("rollback")
    assert [r[0] for r in rows(points, "show types")] == ["point"]
    points.execute("begin")
    points.execute("drop type point")
    points.execute("rollback")
    assert [r[0] for r in rows(points, "show types")] == ["point"]


def test_schemas(points: Session) -> None:
    points.execute("create schema geo")
    points.execute("create type geo.place as struct (name varchar, at point)")
    points.execute("use geo")
    points.execute("create table spots (p place)")  # main's point resolves from geo too
    points.execute("insert into spots values (place('home', point(1, 2)))")
    assert rows(points, "select p.at.y, (p).name from spots") == [(2.0, "home")]
    points.execute("use main")
    with pytest.raises(BindError, match="unknown function place"):
        points.execute("select place('x', point(1, 2))")
    with pytest.raises(BindError, match="type 'place' does not exist"):
        points.execute("select NULL::place")
    assert rows(points, "select cast({name: 'x', at: {x: 1, y: 2}} as geo.place).at.x") \
        == [(1.0,)]
    with pytest.raises(BindError, match="column 'p' of table 'geo.spots'"):
        points.execute("drop type geo.place")
    with pytest.raises(BindError, match="type 'geo.place' use it"):
        points.execute("drop type point")


def test_survives_restart_and_backup(tmp_path) -> None:
    path = str(tmp_path / "db")
    db = engine.Database.open(path)
    s = Session(db)
    s.execute("create type point as struct (x double, y double)")
    s.execute("create table pts (id int, p point)")
    s.execute("insert into pts values (1, point(1, 2))")
    db.backup(str(tmp_path / "bk"))
    s.close()
    db.close()
    engine.restore(str(tmp_path / "bk"), str(tmp_path / "restored"))
    for where in (path, str(tmp_path / "restored")):
        db = engine.Database.open(where)
        s = Session(db)
        assert rows(s, "show types") == [("point", "struct", "x double, y double", "main")]
        assert rows(s, "select p.y, point(3, 4).x from pts") == [(2.0, 3.0)]
        with pytest.raises(BindError, match="column 'p' of table 'main.pts' uses it"):
            s.execute("drop type point")
        assert db.check() == []
        s.close()
        db.close()


def _doc_statements(section: str) -> list[tuple[str, str | None, str | None]]:
    """(statement, expected first value, expected error) for each statement of the ``sql``
    blocks of ``section`` of docs/pl-grizzly.md."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "pl-grizzly.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for block in re.findall(r"```sql\n(.*?)```", body, re.S):
        for line in block.splitlines():
            m = re.match(r"^(?P<sql>.*?;)\s*(?:--\s*(?:=>\s*(?P<want>.*?)|error:\s*"
                         r"(?P<err>.*?)))?\s*$", line)
            assert m is not None, f"not one statement per line: {line!r}"
            out.append((m["sql"], m["want"], m["err"]))
    return out


def test_docs_types_section_runs(session: Session) -> None:
    statements = _doc_statements("Types")
    assert len(statements) >= 20
    for sql, want, err in statements:
        if err is not None:
            with pytest.raises(SqlError, match=re.escape(err)):
                session.execute(sql)
            continue
        res = session.execute(sql)
        if want is not None:
            got = res.reader.read_all().to_pylist()[0]
            assert str(next(iter(got.values()))) == want, sql
