"""Triggers: CREATE/DROP TRIGGER, SHOW TRIGGERS, kodiak_triggers, and firing on every write
path (INSERT VALUES/SELECT/parameter batches, UPDATE, UPDATE ... FROM, DELETE, DELETE ...
USING, upserts, COPY FROM, bulk ingest), set-wise over the transition rows.

Python's sqlite3 module is the oracle where the semantics match (bodies that do not read the
table being written: Kodiak fires AFTER triggers once the whole statement has written, as
PostgreSQL does, SQLite after each row)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import engine
from kodiak_flight.sql import BindError, NotSupportedError, PermissionDenied, Session, SqlError
from kodiak_flight.sql.ingest import IngestTarget

SETUP = ["CREATE TABLE t (k INT PRIMARY KEY, v INT, w INT)",
         "CREATE TABLE log (ev VARCHAR, k INT, a INT, b INT)"]


def rows(s: Session, sql: str) -> list[tuple]:
    t = s.execute(sql).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


def log(s: Session) -> list[tuple]:
    return sorted(rows(s, "SELECT ev, k, a, b FROM log"), key=repr)


def both(s: Session, statements: list[str]) -> None:
    """Run ``statements`` on Kodiak and on SQLite; their log tables must agree."""
    lite = sqlite3.connect(":memory:")
    for sql in [*SETUP, *statements]:
        s.execute(sql)
        lite.executescript(sql if sql.rstrip().endswith(";") else sql + ";")
    want = sorted(lite.execute("SELECT ev, k, a, b FROM log").fetchall(), key=repr)
    assert log(s) == want
    assert want  # the case fired something


@pytest.mark.parametrize("timing", ["BEFORE", "AFTER"])
@pytest.mark.parametrize("event,body", [
    ("INSERT", "INSERT INTO log VALUES ('i', new.k, new.v, new.w)"),
    ("UPDATE", "INSERT INTO log VALUES ('u', new.k, old.v, new.v)"),
    ("DELETE", "INSERT INTO log VALUES ('d', old.k, old.v, old.w)"),
])
def test_each_event_and_timing_like_sqlite(session: Session, timing: str, event: str,
                                           body: str) -> None:
    both(session, [
        f"CREATE TRIGGER tr {timing} {event} ON t BEGIN {body}; END",
        "INSERT INTO t VALUES (1, 10, 100), (2, 20, 200), (3, 30, 300)",
        "INSERT INTO t VALUES (4, 40, 400)",
        "UPDATE t SET v = v + 1 WHERE k >= 2",
        "UPDATE t SET w = 0 WHERE k = 1",
        "DELETE FROM t WHERE k > 2",
        "DELETE FROM t WHERE k = 1",
    ])


def test_when_and_update_of_like_sqlite(session: Session) -> None:
    both(session, [
        "CREATE TRIGGER big AFTER INSERT ON t WHEN new.v > 15 BEGIN "
        "INSERT INTO log VALUES ('big', new.k, new.v, NULL); END",
        "CREATE TRIGGER of_w AFTER UPDATE OF w ON t BEGIN "
        "INSERT INTO log VALUES ('w', new.k, old.w, new.w); END",
        "INSERT INTO t VALUES (1, 10, 1), (2, 20, 2), (3, 30, 3)",
        "UPDATE t SET v = 0",  # not OF w: does not fire
        "UPDATE t SET w = w * 10 WHERE k < 3",
        "UPDATE t SET v = 1, w = 7 WHERE k = 3",
    ])


def test_body_forms_like_sqlite(session: Session) -> None:
    """UPDATE and DELETE bodies (joined with / semi-joined to the rows), several statements,
    a SELECT body (evaluated, discarded), INSERT ... SELECT."""
    both(session, [
        "CREATE TABLE cnt (k INT PRIMARY KEY, n INT)",
        "INSERT INTO cnt VALUES (1, 0), (2, 0), (3, 0), (4, 0)",
        "CREATE TABLE src (k INT PRIMARY KEY, n INT)",
        "INSERT INTO src VALUES (1, 7), (3, 9)",
        "CREATE TRIGGER a AFTER INSERT ON t BEGIN "
        "UPDATE cnt SET n = new.v WHERE cnt.k = new.k; "
        "SELECT new.k + 1; "
        "INSERT INTO log SELECT 'sel', new.k, c.n, new.w FROM src AS c WHERE c.k = new.k; END",
        "CREATE TRIGGER b AFTER DELETE ON t BEGIN DELETE FROM cnt WHERE k = old.k; END",
        "INSERT INTO t VALUES (1, 10, 1), (2, 20, 2), (3, 30, 3)",
        "DELETE FROM t WHERE k <> 2",
        "INSERT INTO log SELECT 'cnt', k, n, NULL FROM cnt",
    ])


def test_for_each_statement_fires_once(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TRIGGER s AFTER INSERT ON t FOR EACH STATEMENT BEGIN "
                    "INSERT INTO log VALUES ('stmt', NULL, NULL, NULL); END")
    session.execute("INSERT INTO t VALUES (1, 1, 1), (2, 2, 2)")
    assert log(session) == [("stmt", None, None, None)]
    with pytest.raises(BindError, match="FOR EACH STATEMENT trigger has no NEW"):
        session.execute("CREATE TRIGGER s2 AFTER INSERT ON t FOR EACH STATEMENT BEGIN "
                        "INSERT INTO log VALUES ('x', new.k, 1, 1); END")


# ------------------------------------------------------------------ every write path


@pytest.fixture
def logged(session: Session) -> Session:
    for sql in SETUP:
        session.execute(sql)
    for ev, side in (("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")):
        session.execute(f"CREATE TRIGGER l_{ev} AFTER {ev} ON t BEGIN INSERT INTO log "
                        f"VALUES ('{ev[0].lower()}', {side}.k, {side}.v, {side}.w); END")
    return session


def test_insert_select_and_parameter_batches(logged: Session) -> None:
    logged.execute("INSERT INTO t SELECT * FROM (VALUES (1, 1, 1), (2, 2, 2)) v(a, b, c)")
    logged.execute("INSERT INTO t VALUES ($1, $2, $3)",
                   pa.table({"a": [3, 4], "b": [3, 4], "c": [3, 4]}))
    assert log(logged) == [("i", k, k, k) for k in (1, 2, 3, 4)]


def test_update_from_and_delete_using(logged: Session) -> None:
    logged.execute("INSERT INTO t VALUES (1, 1, 1), (2, 2, 2)")
    logged.execute("CREATE TABLE src (k INT, v INT)")
    logged.execute("INSERT INTO src VALUES (1, 50)")
    logged.execute("UPDATE t SET v = src.v FROM src WHERE t.k = src.k")
    logged.execute("DELETE FROM t USING src WHERE t.k = src.k")
    assert ("u", 1, 50, 1) in log(logged) and ("d", 1, 50, 1) in log(logged)


def test_upserts(logged: Session) -> None:
    logged.execute("INSERT INTO t VALUES (1, 1, 1)")
    logged.execute("INSERT INTO t VALUES (1, 5, 5), (2, 2, 2) ON CONFLICT (k) DO UPDATE "
                   "SET v = excluded.v")
    assert log(logged) == [("i", 1, 1, 1), ("i", 2, 2, 2), ("u", 1, 5, 1)]
    logged.execute("DELETE FROM log")
    logged.execute("INSERT OR IGNORE INTO t VALUES (1, 9, 9), (3, 3, 3)")
    assert log(logged) == [("i", 3, 3, 3)]
    logged.execute("DELETE FROM log")
    logged.execute("INSERT OR REPLACE INTO t VALUES (1, 7, 7)")  # SQLite: INSERT triggers
    assert log(logged) == [("i", 1, 7, 7)]


def test_copy_from_and_ingest(logged: Session, tmp_path: Any) -> None:
    path = tmp_path / "rows.csv"
    pacsv.write_csv(pa.table({"k": [1, 2], "v": [1, 2], "w": [1, 2]}), path)
    logged.execute(f"COPY t FROM '{path}'")
    data = pa.table({"k": pa.array([3], pa.int32()), "v": pa.array([3], pa.int32()),
                     "w": pa.array([3], pa.int32())})
    assert logged.ingest(IngestTarget("t"), data.to_reader()) == 1
    assert log(logged) == [("i", k, k, k) for k in (1, 2, 3)]


# ------------------------------------------------------------------ atomicity, nesting


def test_failing_body_undoes_the_whole_statement(logged: Session) -> None:
    logged.execute("CREATE TABLE uniq (k INT PRIMARY KEY)")
    logged.execute("INSERT INTO uniq VALUES (2)")
    logged.execute("CREATE TRIGGER boom AFTER INSERT ON t BEGIN "
                   "INSERT INTO uniq VALUES (new.k); END")
    with pytest.raises(engine.errors.ConstraintError, match="trigger 'boom'"):
        logged.execute("INSERT INTO t VALUES (1, 1, 1), (2, 2, 2)")
    assert rows(logged, "SELECT count(*) FROM t") == [(0,)]
    assert log(logged) == [] and rows(logged, "SELECT k FROM uniq") == [(2,)]
    logged.execute("BEGIN")
    logged.execute("INSERT INTO t VALUES (5, 5, 5)")
    with pytest.raises(engine.errors.ConstraintError):
        logged.execute("INSERT INTO t VALUES (2, 2, 2)")
    logged.execute("COMMIT")  # the transaction keeps its first statement, not the second
    assert rows(logged, "SELECT k FROM t") == [(5,)]
    assert rows(logged, "SELECT k FROM uniq ORDER BY k") == [(2,), (5,)]
    assert log(logged) == [("i", 5, 5, 5)]


def test_nested_firing_and_its_depth_limit(logged: Session) -> None:
    logged.execute("CREATE TABLE t2 (k INT PRIMARY KEY, v INT)")
    logged.execute("CREATE TRIGGER chain AFTER INSERT ON t BEGIN "
                   "INSERT INTO t2 VALUES (new.k, new.v); END")
    logged.execute("CREATE TRIGGER chain2 AFTER INSERT ON t2 BEGIN "
                   "INSERT INTO log VALUES ('t2', new.k, new.v, NULL); END")
    logged.execute("INSERT INTO t VALUES (1, 1, 1), (2, 2, 2)")
    assert ("t2", 2, 2, None) in log(logged)
    logged.execute("CREATE TRIGGER again AFTER INSERT ON log BEGIN "
                   "INSERT INTO log VALUES ('again', new.k, new.a, new.b); END")
    with pytest.raises(SqlError, match="nested more than 16 deep"):
        logged.execute("INSERT INTO t VALUES (3, 3, 3)")
    assert rows(logged, "SELECT count(*) FROM t WHERE k = 3") == [(0,)]


def test_set_wise_refusals_name_the_statement(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TABLE cnt (k INT PRIMARY KEY, n INT)")
    session.execute("INSERT INTO cnt VALUES (1, 0)")
    session.execute("CREATE TRIGGER c AFTER INSERT ON t BEGIN UPDATE cnt SET n = n + 1; END")
    session.execute("INSERT INTO t VALUES (1, 1, 1)")  # one row: exact, runs as written
    assert rows(session, "SELECT n FROM cnt") == [(1,)]
    with pytest.raises(NotSupportedError, match="trigger 'c', body statement 1 .UPDATE cnt"):
        session.execute("INSERT INTO t VALUES (2, 2, 2), (3, 3, 3)")
    session.execute("DROP TRIGGER c")
    session.execute("CREATE TRIGGER d AFTER INSERT ON t BEGIN "
                    "UPDATE cnt SET n = n + new.v WHERE cnt.k = 1; END")
    with pytest.raises(NotSupportedError, match="compound"):
        session.execute("INSERT INTO t VALUES (2, 2, 2), (3, 3, 3)")
    session.execute("DROP TRIGGER d")
    session.execute("CREATE TRIGGER e AFTER INSERT ON t BEGIN "
                    "UPDATE cnt SET n = new.v WHERE cnt.k = new.k; "
                    "INSERT INTO log SELECT 'e', k, n, NULL FROM cnt; END")
    with pytest.raises(NotSupportedError, match="statement 2 .* reads a table an earlier"):
        session.execute("INSERT INTO t VALUES (2, 2, 2), (3, 3, 3)")
    assert rows(session, "SELECT n FROM cnt") == [(1,)]


# ------------------------------------------------------------------ catalog


def test_ddl_errors(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE VIEW tv AS SELECT * FROM t")
    session.execute("CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; END")
    cases = [
        ("CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; END", "already exists"),
        ("CREATE TRIGGER b AFTER DELETE ON t BEGIN SELECT new.k; END", "no NEW row"),
        ("CREATE TRIGGER b AFTER INSERT ON t BEGIN SELECT new.nope; END", "'nope' not found"),
        ("CREATE TRIGGER b INSTEAD OF INSERT ON t BEGIN SELECT 1; END", "INSTEAD OF"),
        ("CREATE TRIGGER b AFTER INSERT ON tv BEGIN SELECT 1; END", "AFTER trigger on view"),
        ("CREATE TRIGGER b AFTER INSERT ON nosuch BEGIN SELECT 1; END", "does not exist"),
        ("CREATE TRIGGER b AFTER UPDATE OF zz ON t BEGIN SELECT 1; END", "'zz' not found"),
        ("CREATE TRIGGER b AFTER INSERT ON t BEGIN CREATE TABLE x (a INT); END", "not CREATE"),
        ("CREATE TRIGGER b AFTER INSERT ON t BEGIN SELECT 1;", "CREATE TRIGGER expects"),
        ("CREATE TRIGGER b AFTER INSRT ON t BEGIN SELECT 1; END", "CREATE TRIGGER expects"),
        ("DROP TRIGGER nosuch", "does not exist"),
    ]
    for sql, msg in cases:
        with pytest.raises((SqlError, engine.errors.KodiakError), match=msg):
            session.execute(sql)
    session.execute("CREATE TRIGGER IF NOT EXISTS a AFTER INSERT ON t BEGIN SELECT 2; END")
    session.execute("DROP TRIGGER IF EXISTS nosuch")
    assert rows(session, "SHOW TRIGGERS") == [("a", "t", "AFTER", "INSERT", "ROW", "main")]
    assert rows(session, "SELECT trigger_name, table_name, sql FROM kodiak_triggers") == [
        ("a", "t", "CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; END")]


def test_drop_and_rename_table_take_the_triggers(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TRIGGER a AFTER INSERT ON t BEGIN "
                    "INSERT INTO log VALUES ('a', new.k, 0, 0); END")
    session.execute("ALTER TABLE t RENAME TO t9")
    session.execute("INSERT INTO t9 VALUES (1, 1, 1)")
    assert log(session) == [("a", 1, 0, 0)]
    session.execute("DROP TABLE t9")
    assert rows(session, "SHOW TRIGGERS") == []
    session.execute("CREATE TABLE t9 (k INT PRIMARY KEY, v INT, w INT)")
    session.execute("INSERT INTO t9 VALUES (2, 2, 2)")
    assert log(session) == [("a", 1, 0, 0)]


def test_triggers_survive_restart_and_backup(tmp_path: Any) -> None:
    db = engine.Database.open(str(tmp_path / "db"))
    s = Session(db)
    for sql in SETUP:
        s.execute(sql)
    s.execute("BEGIN")
    s.execute("CREATE TRIGGER gone AFTER INSERT ON t BEGIN SELECT 1; END")
    s.execute("ROLLBACK")  # transactional: rolled back with its transaction
    s.execute("CREATE TRIGGER a AFTER INSERT ON t BEGIN "
              "INSERT INTO log VALUES ('a', new.k, 0, 0); END")
    db.backup(str(tmp_path / "copy"))
    s.close()
    db.close()
    for where in ("db", "copy"):
        db = engine.Database.open(str(tmp_path / where))
        s = Session(db)
        s.execute("INSERT INTO t VALUES (1, 1, 1)")
        assert log(s) == [("a", 1, 0, 0)]
        assert [r[0] for r in rows(s, "SHOW TRIGGERS")] == ["a"]
        s.close()
        db.close()


def test_rights_to_create_and_the_owners_rights_in_the_body(db: Any) -> None:
    admin = Session(db)
    for sql in SETUP:
        admin.execute(sql)
    ann, bob = Session(db, user="ann"), Session(db, user="bob")
    with pytest.raises(PermissionDenied, match="user bob may not CREATE schema main"):
        bob.execute("CREATE TRIGGER a AFTER INSERT ON t BEGIN SELECT 1; END")
    admin.execute("GRANT CREATE ON SCHEMA main TO ann")
    admin.execute("GRANT INSERT ON log TO ann")
    ann.execute("CREATE TRIGGER a AFTER INSERT ON t BEGIN "
                "INSERT INTO log VALUES ('a', new.k, 0, 0); END")
    admin.execute("GRANT INSERT ON t TO bob")  # bob may not write log: the body runs as ann
    bob.execute("INSERT INTO t VALUES (1, 1, 1)")
    assert log(admin) == [("a", 1, 0, 0)]
    admin.execute("REVOKE INSERT ON log FROM ann")
    with pytest.raises(PermissionDenied, match="user ann may not INSERT table main.log"):
        bob.execute("INSERT INTO t VALUES (2, 2, 2)")
    assert rows(admin, "SELECT count(*) FROM t") == [(1,)]


def test_raise_refuses_rows_and_defaults_fill_before_insert(session: Session) -> None:
    session.execute("CREATE TABLE d (k INT PRIMARY KEY, v INT DEFAULT 7)")
    session.execute("CREATE TABLE log (ev VARCHAR, k INT, a INT, b INT)")
    session.execute("CREATE TRIGGER guard BEFORE INSERT ON d BEGIN "
                    "SELECT RAISE(ABORT, 'too big: ' || new.k) WHERE new.k > 2; "
                    "INSERT INTO log VALUES ('b', new.k, new.v, NULL); END")
    session.execute("INSERT INTO d (k) VALUES (1), (2)")
    assert log(session) == [("b", 1, 7, None), ("b", 2, 7, None)]
    with pytest.raises(SqlError, match="trigger 'guard': too big: 3"):
        session.execute("INSERT INTO d VALUES (0, 0), (3, 3)")
    assert rows(session, "SELECT count(*) FROM d") == [(2,)]
    with pytest.raises(NotSupportedError, match="RAISE"):
        session.execute("CREATE TRIGGER g2 BEFORE INSERT ON d BEGIN "
                        "SELECT RAISE(IGNORE); END")


def test_one_row_or_several_update_a_keyless_table(session: Session) -> None:
    session.execute("CREATE TABLE t (k INT PRIMARY KEY, v INT)")
    session.execute("CREATE TABLE keyless (a INT, b INT)")
    session.execute("INSERT INTO keyless VALUES (1, 0), (2, 0)")
    session.execute("CREATE TRIGGER u AFTER INSERT ON t BEGIN "
                    "UPDATE keyless SET b = new.v WHERE a = new.k; END")
    session.execute("INSERT INTO t VALUES (1, 5)")
    assert rows(session, "SELECT a, b FROM keyless ORDER BY a") == [(1, 5), (2, 0)]
    # several rows: the UPDATE reads the transition table (a correlated subquery), its
    # rows told apart by their values (statements/keyless.py)
    session.execute("INSERT INTO keyless VALUES (3, 0)")
    session.execute("INSERT INTO t VALUES (2, 6), (3, 7)")
    assert rows(session, "SELECT a, b FROM keyless ORDER BY a") == [(1, 5), (2, 6), (3, 7)]


def test_the_docs_example(session: Session) -> None:
    """docs/sql.md, Triggers: the example's statements and the log it shows."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs" / "sql.md").read_text()
    section = text.split("### Triggers", 1)[1]
    example = section.split("```sql", 2)[2].split("```", 1)[0]
    for stmt in example.split(";\n"):
        stmt = "\n".join(ln.split("--")[0] for ln in stmt.splitlines()).strip()
        if stmt:
            session.execute(stmt if stmt.endswith("END") else stmt)
    assert log(session) == [("big", 2, 20, None), ("w", 1, 1, 10), ("w", 2, 2, 20)]


def test_one_row_values_computed_from_the_row_like_sqlite(session: Session) -> None:
    """A VALUES entry computed from NEW (``new.v + 1``) is no constant: one changed row runs
    it as INSERT ... SELECT over the row too."""
    both(session, [
        "CREATE TRIGGER c AFTER INSERT ON t BEGIN "
        "INSERT INTO log VALUES ('c', new.k * 10, new.v + 1, coalesce(new.w, -1)); END",
        "INSERT INTO t VALUES (1, 10, NULL)",
        "INSERT INTO t VALUES (2, 20, 2), (3, 30, 3)",
    ])
