"""One catalog, one resolver: name clashes, reserved schemas, information_schema, and the
upgrade of directories that kept views in tables (regressions of the architecture issue)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import BindError, Session
from kodiak_flight.sql.ingest import IngestTarget

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_views"


def rows(s: Session, sql: str) -> list[tuple]:
    t = s.execute(sql).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


@pytest.fixture
def s(session: Session) -> Session:
    session.execute("create table t (id int primary key, x varchar not null)")
    session.execute("insert into t values (1, 'a'), (2, 'b')")
    session.execute("create view v as select id * 10 as y from t")
    return session


def test_tables_and_views_share_one_namespace(s: Session) -> None:
    with pytest.raises(engine.errors.AlreadyExists, match="already exists as a view"):
        s.execute("create table v (a int)")
    with pytest.raises(engine.errors.AlreadyExists, match="already exists as a table"):
        s.execute("create view t as select 1")
    with pytest.raises(engine.errors.AlreadyExists, match="already exists as a view"):
        s.execute("create table v as select 1 as a")
    with pytest.raises(engine.errors.AlreadyExists, match="already exists as a view"):
        s.execute("alter table t rename to v")
    s.execute("create table if not exists v (a int)")  # skipped, as PostgreSQL does
    assert rows(s, "select * from v order by y") == [(10,), (20,)]


def test_ingest_resolves_names_like_sql(s: Session) -> None:
    data = pa.table({"a": [1]})
    for mode in ("create", "create_append", "replace", "append"):
        with pytest.raises(BindError, match="is a view"):
            s.ingest(IngestTarget.from_mode("v", mode), data.to_reader())
    assert rows(s, "select * from v order by y") == [(10,), (20,)]  # still the view
    s.execute("create schema x")
    s.execute("drop schema x")
    with pytest.raises(engine.errors.NotFound, match="schema 'x' does not exist"):
        s.ingest(IngestTarget.from_mode("t2", "create", "x"), data.to_reader())
    assert s.ingest(IngestTarget.from_mode("t2", "create"), data.to_reader()) == 1


def test_internal_state_is_out_of_reach(s: Session) -> None:
    for sql in ("update kodiak_catalog.views set sql = 'select 2'",
                "drop table kodiak_catalog.views",
                "create table kodiak_catalog.views (a int)",
                "create schema kodiak_temp",
                "insert into information_schema.tables values ('a', 'b', 'c', 'd')",
                "delete from information_schema.views",
                "drop table information_schema.tables",
                "drop schema information_schema",
                "select * from kodiak_temp.anything"):
        with pytest.raises((BindError, engine.errors.KodiakError)):
            s.execute(sql)
    assert rows(s, "select * from v order by y") == [(10,), (20,)]


def test_information_schema(s: Session) -> None:
    s.execute("create schema s2")
    s.execute("create table s2.u (k bigint)")
    assert rows(s, "select schema_name from information_schema.schemata order by 1") == [
        ("information_schema",), ("main",), ("s2",)]
    got = rows(s, "select table_schema, table_name, table_type from information_schema.tables "
                  "where table_schema <> 'information_schema' order by 1, 2")
    assert got == [("main", "t", "BASE TABLE"), ("main", "v", "VIEW"), ("s2", "u", "BASE TABLE")]
    cols = rows(s, "select table_name, column_name, ordinal_position, is_nullable, data_type "
                   "from information_schema.columns where table_schema = 'main' order by 1, 3")
    assert cols == [("t", "id", 1, "NO", "INTEGER"), ("t", "x", 2, "NO", "VARCHAR"),
                    ("v", "y", 1, "YES", "INTEGER")]
    assert rows(s, "select table_name, view_definition from information_schema.views") == [
        ("v", "SELECT id * 10 AS y FROM t")]
    assert rows(s, "select kind, schema_name, object_name from "
                   "information_schema.kodiak_objects") == [("view", "main", "v")]


def test_information_schema_sees_the_transaction(s: Session) -> None:
    s.execute("begin")
    s.execute("create view w as select 1 as one")
    assert ("w",) in rows(s, "select table_name from information_schema.views")
    s.execute("rollback")
    assert ("w",) not in rows(s, "select table_name from information_schema.views")


def test_drop_schema_forgets_it(s: Session) -> None:
    s.execute("create schema gone")
    s.execute("create view gone.w as select 1 as a")
    with pytest.raises(BindError, match="not empty"):
        s.execute("drop schema gone")
    s.execute("drop schema gone cascade")
    assert "gone" not in s.resolver().schemas()
    assert s.db.snapshot().objects(schema="gone") == []
    with pytest.raises(engine.errors.NotFound):
        s.execute("create table gone.t (a int)")
    s.execute("create schema gone")  # and it can come back, empty
    assert rows(s, "select count(*) from information_schema.tables "
                   "where table_schema = 'gone'") == [(0,)]


def test_legacy_directory_is_upgraded(tmp_path: Path) -> None:
    """A directory written when views were rows of kodiak_catalog.views opens: its views
    become engine objects, its SQL-dropped schema is really dropped, the legacy schema is
    gone."""
    path = tmp_path / "db"
    shutil.copytree(FIXTURE, path)
    db = engine.Database.open(str(path))
    try:
        s = Session(db)
        assert rows(s, "select * from v order by n") == [(2, "B"), (3, "C")]
        assert rows(s, "select * from s2.w") == [(14,)]  # its unqualified names: in s2
        assert s.resolver().schemas() == ["information_schema", "main", "s2"]
        assert "kodiak_catalog" not in db.snapshot().schemas()
        assert "gone" not in db.snapshot().schemas()
        assert [o.name for o in db.snapshot().objects("view")] == ["v", "w"]
        s.close()
    finally:
        db.close()
    db = engine.Database.open(str(path))  # the upgrade was committed
    try:
        assert [o.name for o in db.snapshot().objects("view")] == ["v", "w"]
        problems = db.check()
        assert not problems, problems
    finally:
        db.close()
