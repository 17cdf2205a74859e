"""INSTEAD OF triggers on views: INSERT, UPDATE [OF] and DELETE on a view run the view's
trigger over the view rows they would change, set-wise.

Python's sqlite3 module is the oracle: each script runs on both, and the base tables and the
log must agree (the bodies read no table an earlier body statement writes, so running them
once over all the rows equals SQLite's row by row)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

import engine
from kodiak_flight.sql import BindError, NotSupportedError, Session, SqlError

SETUP = ["CREATE TABLE a (k INT PRIMARY KEY, x INT)",
         "CREATE TABLE b (k INT PRIMARY KEY, y VARCHAR)",
         "CREATE TABLE src (k INT PRIMARY KEY, x INT)",
         "CREATE TABLE log (ev VARCHAR, k INT, p INT, q INT)",
         "CREATE VIEW va AS SELECT k, x FROM a",
         "CREATE VIEW ab AS SELECT a.k, a.x, b.y FROM a JOIN b ON a.k = b.k",
         "INSERT INTO a VALUES (1, 10), (2, 20), (3, 30)",
         "INSERT INTO b VALUES (1, 'one'), (2, 'two'), (3, 'three')",
         "INSERT INTO src VALUES (7, 70), (8, 8)"]
TABLES = ("a", "b", "log")


def rows(s: Session, sql: str) -> list[tuple]:
    t = s.execute(sql).reader.read_all()
    return [tuple(r.values()) for r in t.to_pylist()]


def contents(run: Any) -> dict[str, list[tuple]]:
    return {t: sorted((tuple(r) for r in run(f"SELECT * FROM {t}")), key=repr)
            for t in TABLES}


def both(s: Session, statements: list[str]) -> dict[str, list[tuple]]:
    """Run SETUP and ``statements`` on Kodiak and on SQLite; the tables must agree."""
    lite = sqlite3.connect(":memory:")
    for sql in [*SETUP, *statements]:
        s.execute(sql)
        lite.executescript(sql if sql.rstrip().endswith(";") else sql + ";")
    want = contents(lambda q: lite.execute(q).fetchall())
    assert contents(lambda q: rows(s, q)) == want
    assert want["log"]  # the case fired something
    return want


EVENTS = {
    "INSERT": ("new", "INSERT INTO a VALUES (new.k, new.x); "
                      "INSERT INTO log VALUES ('i', new.k, new.x, NULL)",
               ["INSERT INTO va VALUES (4, 40), (5, 5)", "INSERT INTO va (k) VALUES (6)",
                "INSERT INTO va SELECT k, x FROM src", "INSERT INTO va (x, k) VALUES (9, 9)"]),
    "UPDATE": ("new", "UPDATE a SET x = new.x WHERE a.k = old.k; "
                      "INSERT INTO log VALUES ('u', old.k, old.x, new.x)",
               ["UPDATE va SET x = x + 1 WHERE k >= 2", "UPDATE va SET x = 0 WHERE k = 1",
                "UPDATE va SET x = k * 100 WHERE x > (SELECT min(x) FROM src)"]),
    "DELETE": ("old", "DELETE FROM a WHERE k = old.k; "
                      "INSERT INTO log VALUES ('d', old.k, old.x, NULL)",
               ["DELETE FROM va WHERE k > 2", "DELETE FROM va WHERE k = 1",
                "DELETE FROM va WHERE x >= 20"]),
}


@pytest.mark.parametrize("when", [False, True])
@pytest.mark.parametrize("event", list(EVENTS))
def test_each_event_like_sqlite(session: Session, event: str, when: bool) -> None:
    side, body, statements = EVENTS[event]
    cond = f" WHEN {side}.k <> 2 AND {side}.k <> 5" if when else ""
    got = both(session, [f"CREATE TRIGGER tr INSTEAD OF {event} ON va{cond} "
                         f"BEGIN {body}; END", *statements])
    assert any(r[1] in (2, 5) for r in got["log"]) != when  # WHEN filtered the rows


def test_update_of_fires_only_for_its_columns(session: Session) -> None:
    got = both(session, [
        "CREATE TRIGGER ux INSTEAD OF UPDATE OF x ON ab BEGIN "
        "INSERT INTO log VALUES ('x', old.k, old.x, new.x); END",
        "CREATE TRIGGER uy INSTEAD OF UPDATE OF y ON ab FOR EACH ROW BEGIN "
        "UPDATE b SET y = new.y WHERE b.k = new.k; "
        "INSERT INTO log VALUES ('y', new.k, new.x, NULL); END",
        "UPDATE ab SET x = x * 2 WHERE k < 3",
        "UPDATE ab SET y = upper(y)",
        "UPDATE ab SET y = 'both', x = 0 WHERE k = 3",
    ])
    assert ("x", 3, 30, 0) in got["log"] and ("y", 3, 30, None) in got["log"]
    # no trigger for the SET's columns: the write is refused, as in SQLite
    session.execute("DROP TRIGGER uy")
    with pytest.raises(BindError, match="is a view; .*INSTEAD OF trigger"):
        session.execute("UPDATE ab SET y = 'z'")


def test_a_view_over_a_join_writes_both_tables(session: Session) -> None:
    got = both(session, [
        "CREATE TRIGGER i INSTEAD OF INSERT ON ab BEGIN "
        "INSERT INTO a VALUES (new.k, new.x); INSERT INTO b VALUES (new.k, new.y); END",
        "CREATE TRIGGER u INSTEAD OF UPDATE ON ab BEGIN "
        "UPDATE a SET x = new.x WHERE a.k = old.k; UPDATE b SET y = new.y WHERE b.k = old.k; "
        "INSERT INTO log VALUES ('u', new.k, old.x, new.x); END",
        "CREATE TRIGGER d INSTEAD OF DELETE ON ab WHEN old.x > 15 BEGIN "
        "DELETE FROM a WHERE k = old.k; DELETE FROM b WHERE k = old.k; "
        "INSERT INTO log VALUES ('d', old.k, old.x, NULL); END",
        "INSERT INTO ab VALUES (4, 40, 'four'), (5, 50, 'five')",
        "INSERT INTO ab (k, y) VALUES (6, 'six')",
        "UPDATE ab SET x = x + 1, y = y || '!' WHERE k IN (1, 4)",
        "DELETE FROM ab WHERE k >= 5 OR k = 1",
    ])
    assert (4, "four!") in got["b"] and (6, "six") in got["b"] and (6, None) in got["a"]
    assert (5, 50) not in got["a"] and (1, 11) in got["a"]  # WHEN kept row 1


def test_rowcounts_follow_sqlite(session: Session) -> None:
    """SQLite's changes() counts 0 for the statement on the view itself."""
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TRIGGER i INSTEAD OF INSERT ON va BEGIN "
                    "INSERT INTO a VALUES (new.k, new.x); END")
    session.execute("CREATE TRIGGER d INSTEAD OF DELETE ON va BEGIN "
                    "DELETE FROM a WHERE k = old.k; END")
    assert session.execute("INSERT INTO va VALUES (4, 4), (5, 5)").rowcount == 0
    assert session.execute("DELETE FROM va WHERE k > 3").rowcount == 0
    assert rows(session, "SELECT count(*) FROM a") == [(3,)]


def test_failure_undoes_the_whole_statement(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TRIGGER i INSTEAD OF INSERT ON ab BEGIN "
                    "INSERT INTO a VALUES (new.k, new.x); INSERT INTO b VALUES (new.k, new.y); "
                    "END")
    session.execute("INSERT INTO b VALUES (5, 'taken')")
    before = contents(lambda q: rows(session, q))
    with pytest.raises(engine.errors.ConstraintError, match="trigger 'i'"):
        session.execute("INSERT INTO ab VALUES (4, 40, 'four'), (5, 50, 'five')")
    assert contents(lambda q: rows(session, q)) == before
    session.execute("BEGIN")
    session.execute("INSERT INTO ab VALUES (6, 60, 'six')")
    with pytest.raises(engine.errors.ConstraintError):
        session.execute("INSERT INTO ab VALUES (5, 50, 'five')")
    session.execute("COMMIT")  # the transaction keeps its first statement, not the second
    assert rows(session, "SELECT k FROM a WHERE k > 3") == [(6,)]
    assert rows(session, "SELECT k, y FROM b WHERE k > 3 ORDER BY k") == [
        (5, "taken"), (6, "six")]


def test_raise_and_the_nesting_limit(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TRIGGER g INSTEAD OF DELETE ON va BEGIN "
                    "SELECT RAISE(ABORT, 'keep ' || old.k) WHERE old.k = 2; "
                    "DELETE FROM a WHERE k = old.k; END")
    with pytest.raises(SqlError, match="trigger 'g': keep 2"):
        session.execute("DELETE FROM va")
    assert rows(session, "SELECT count(*) FROM a") == [(3,)]
    session.execute("CREATE TRIGGER again INSTEAD OF INSERT ON va BEGIN "
                    "INSERT INTO va VALUES (new.k, new.x); END")
    with pytest.raises(SqlError, match="nested more than 16 deep"):
        session.execute("INSERT INTO va VALUES (10, 1)")
    assert rows(session, "SELECT count(*) FROM a") == [(3,)]


def test_ddl_rules_and_refusals(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    cases = [
        ("CREATE TRIGGER b BEFORE INSERT ON va BEGIN SELECT 1; END",
         "cannot create a BEFORE trigger on view 'va'"),
        ("CREATE TRIGGER b AFTER DELETE ON va BEGIN SELECT 1; END", "AFTER trigger on view"),
        ("CREATE TRIGGER b INSTEAD OF INSERT ON a BEGIN SELECT 1; END",
         "INSTEAD OF trigger on table 'a'"),
        ("CREATE TRIGGER b INSTEAD OF INSERT ON va FOR EACH STATEMENT BEGIN SELECT 1; END",
         "FOR EACH ROW"),
        ("CREATE TRIGGER b INSTEAD OF INSERT ON va BEGIN SELECT new.nope; END",
         "'nope' not found"),
        ("CREATE TRIGGER b INSTEAD OF DELETE ON va BEGIN SELECT new.k; END", "no NEW row"),
        ("CREATE TRIGGER b INSTEAD OF UPDATE OF zz ON va BEGIN SELECT 1; END",
         "'zz' not found"),
        ("INSERT INTO va VALUES (9, 9)", "is a view; .*INSTEAD OF trigger"),
        ("DELETE FROM va", "is a view; .*INSTEAD OF trigger"),
    ]
    for sql, msg in cases:
        with pytest.raises((SqlError, engine.errors.KodiakError), match=msg):
            session.execute(sql)
    session.execute("CREATE TRIGGER i INSTEAD OF INSERT ON va BEGIN "
                    "INSERT INTO a VALUES (new.k, new.x); END")
    session.execute("CREATE TRIGGER u INSTEAD OF UPDATE ON va BEGIN SELECT 1; END")
    session.execute("CREATE TRIGGER d INSTEAD OF DELETE ON va BEGIN SELECT 1; END")
    for sql, what in [("INSERT INTO va VALUES (9, 9) RETURNING k", "RETURNING"),
                      ("INSERT OR REPLACE INTO va VALUES (9, 9)", "INSERT OR"),
                      ("INSERT INTO va VALUES (9, 9) ON CONFLICT DO NOTHING", "ON CONFLICT"),
                      ("UPDATE va SET x = 1 FROM src WHERE va.k = src.k", "UPDATE ... FROM"),
                      ("DELETE FROM va USING src WHERE va.k = src.k", "DELETE ... USING"),
                      ("UPDATE va SET nope = 1", "'nope' not found"),
                      ("INSERT INTO va (nope) VALUES (1)", "'nope' not found")]:
        with pytest.raises((NotSupportedError, BindError), match=what):
            session.execute(sql)
    assert rows(session, "SELECT count(*) FROM a") == [(3,)]


def test_listed_and_dropped_with_the_view(session: Session) -> None:
    for sql in SETUP:
        session.execute(sql)
    session.execute("CREATE TRIGGER i INSTEAD OF INSERT ON va WHEN new.x > 0 BEGIN "
                    "INSERT INTO a VALUES (new.k, new.x); END")
    assert rows(session, "SHOW TRIGGERS") == [("i", "va", "INSTEAD OF", "INSERT", "ROW",
                                               "main")]
    assert rows(session, "SELECT table_name, timing, condition FROM kodiak_triggers") == [
        ("va", "INSTEAD OF", "new.x > 0")]
    session.execute("DROP VIEW va")
    assert rows(session, "SHOW TRIGGERS") == []
    session.execute("CREATE VIEW va AS SELECT k, x FROM a")
    with pytest.raises(BindError, match="is a view; .*INSTEAD OF trigger"):
        session.execute("INSERT INTO va VALUES (9, 9)")
    session.execute("CREATE TRIGGER j INSTEAD OF INSERT ON va BEGIN SELECT 1; END")
    session.execute("BEGIN")  # DROP VIEW and its triggers' going are one change
    session.execute("DROP VIEW va")
    assert rows(session, "SHOW TRIGGERS") == []
    session.execute("ROLLBACK")
    assert [r[0] for r in rows(session, "SHOW TRIGGERS")] == ["j"]


def test_survives_reopening(tmp_path: Any) -> None:
    db = engine.Database.open(str(tmp_path / "db"))
    s = Session(db)
    for sql in SETUP:
        s.execute(sql)
    s.execute("CREATE TRIGGER i INSTEAD OF INSERT ON ab BEGIN "
              "INSERT INTO a VALUES (new.k, new.x); INSERT INTO b VALUES (new.k, new.y); END")
    s.close()
    db.close()
    db = engine.Database.open(str(tmp_path / "db"))
    s = Session(db)
    s.execute("INSERT INTO ab VALUES (4, 40, 'four')")
    assert rows(s, "SELECT * FROM ab WHERE k = 4") == [(4, 40, "four")]
    assert [r[:3] for r in rows(s, "SHOW TRIGGERS")] == [("i", "ab", "INSTEAD OF")]
    s.close()
    db.close()


def test_parameter_batches_and_rights(db: Any) -> None:
    import pyarrow as pa
    admin = Session(db)
    for sql in SETUP:
        admin.execute(sql)
    admin.execute("CREATE TRIGGER i INSTEAD OF INSERT ON va BEGIN "
                  "INSERT INTO a VALUES (new.k, new.x); END")
    admin.execute("INSERT INTO va VALUES ($1, $2)", pa.table({"p": [4, 5], "q": [40, 50]}))
    assert rows(admin, "SELECT k, x FROM a WHERE k > 3 ORDER BY k") == [(4, 40), (5, 50)]
    bob = Session(db, user="bob")
    with pytest.raises(SqlError, match="user bob may not INSERT table main.va"):
        bob.execute("INSERT INTO va VALUES (6, 6)")
    admin.execute("GRANT INSERT ON va TO bob")  # enough: not SELECT on va, nor INSERT on a
    bob.execute("INSERT INTO va VALUES (6, 6)")
    assert rows(admin, "SELECT x FROM a WHERE k = 6") == [(6,)]


def test_the_docs_example(session: Session) -> None:
    """docs/sql.md, Triggers: the INSTEAD OF example and the rows it shows."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs" / "sql.md").read_text()
    section = text.split("**INSTEAD OF triggers on views**", 1)[1]
    example = section.split("```sql", 1)[1].split("```", 1)[0]
    for stmt in example.split(";\n"):
        stmt = "\n".join(ln.split("--")[0] for ln in stmt.splitlines()).strip()
        if stmt:
            session.execute(stmt)
    assert rows(session, "SELECT * FROM a ORDER BY k") == [(1, 10), (2, 20)]
    assert rows(session, "SELECT * FROM b ORDER BY k") == [(1, "one"), (2, "TWO")]
