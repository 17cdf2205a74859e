"""Secrets: encrypted at rest under a wrapped per-database key, scoped, never shown."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.errors import (
    AccessDenied,
    BindError,
    ParseError,
    PermissionDenied,
    SqlError,
)
from kodiak_flight.sql.resultcache import ResultCache
from kodiak_flight.sql.secrets import keyring, store

MASTER = "correct horse battery staple, master edition"


@pytest.fixture(autouse=True)
def master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A master key in the environment, and a cheap KDF (one test checks the real cost)."""
    monkeypatch.setenv(keyring.ENV, MASTER)
    monkeypatch.setattr(keyring, "ITERATIONS", 1000)
    keyring.use_master_key_file(None)


@pytest.fixture
def s(db: Any) -> Session:
    return Session(db)


def q(session: Session, sql: str) -> list[dict[str, Any]]:
    r = session.execute(sql)
    return (r.table if r.table is not None else r.reader.read_all()).to_pylist()


def marker() -> str:
    return f"MARK{uuid.uuid4().hex}"


def forms(value: str) -> list[bytes]:
    """The value and its base64 and hex spellings, as bytes to look for."""
    raw = value.encode()
    return [raw, base64.b64encode(raw), raw.hex().encode(), raw.hex().upper().encode(),
            value.encode("utf-16-le")]


def scan_dir(root: Path, value: str) -> list[str]:
    """Files under ``root`` holding ``value`` in any of its forms."""
    hits = []
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            hits += [f"{p}: {f[:12]!r}" for f in forms(value) if f in data]
    return hits


# ---------------------------------------------------------------------- statements


def test_create_show_drop(s: Session) -> None:
    s.execute("CREATE SECRET s1 (TYPE s3, KEY_ID 'AKIA1', SECRET 'v1', "
              "SCOPE 's3://bucket/a', REGION 'eu-west-1')")
    s.execute("CREATE TEMPORARY SECRET t1 (TYPE http, BEARER_TOKEN 'tok')")
    shown = q(s, "SHOW SECRETS")
    assert [(r["name"], r["type"], r["scope"], r["persistent"], r["version"]) for r in shown] \
        == [("s1", "s3", ["s3://bucket/a"], True, 1), ("t1", "http", [], False, 1)]
    view = q(s, "SELECT * FROM kodiak_secrets ORDER BY name")
    assert view == shown
    assert "v1" not in json.dumps(view, default=str) and "AKIA1" not in json.dumps(
        view, default=str)
    s.execute("DROP SECRET s1")
    s.execute("DROP SECRET IF EXISTS s1")
    with pytest.raises(BindError, match="secret 'zz' does not exist"):
        s.execute("DROP SECRET zz")
    s.execute("DROP TEMPORARY SECRET t1")
    assert q(s, "SHOW SECRETS") == []


def test_persistent_unless_said_and_survives_reopen(db: Any, reopen: Any) -> None:
    Session(db).execute("CREATE SECRET p (TYPE password, PASSWORD 'pw')")
    Session(db).execute("CREATE TEMPORARY SECRET t (TYPE password, PASSWORD 'pw')")
    db = reopen(db)
    try:
        s = Session(db)
        assert [r["name"] for r in q(s, "SHOW SECRETS")] == ["p"]
        ctx = s.context(s.snapshot(), None)
        assert store.fields_of(ctx, store.secret_by_name(ctx, "p")) == {"PASSWORD": "pw"}
    finally:
        db.close()


def test_temporary_secrets_are_the_sessions_own(db: Any) -> None:
    a, b = Session(db), Session(db)
    a.execute("CREATE TEMPORARY SECRET t (TYPE key, KEY 'k')")
    assert [r["name"] for r in q(a, "SHOW SECRETS")] == ["t"]
    assert q(b, "SHOW SECRETS") == []
    assert not db.snapshot().objects(store.SECRET_KIND)  # nothing stored


def test_replace_if_not_exists_and_rotate(s: Session) -> None:
    s.execute("CREATE SECRET x (TYPE s3, KEY_ID 'k1', SECRET 'v1')")
    with pytest.raises(engine.errors.AlreadyExists, match="secret 'x' already exists"):
        s.execute("CREATE SECRET x (TYPE s3, SECRET 'v2')")
    s.execute("CREATE SECRET IF NOT EXISTS x (TYPE s3, SECRET 'v2')")
    assert q(s, "SELECT secret('x') AS v") == [{"v": "v1"}]
    s.execute("ALTER SECRET x ROTATE (SECRET 'v3')")
    assert q(s, "SELECT secret('x') AS v, secret('x', 'key_id') AS k, version "
                "FROM kodiak_secrets") == [{"v": "v3", "k": "k1", "version": 2}]
    s.execute("CREATE OR REPLACE SECRET x (TYPE http, BEARER_TOKEN 'b')")
    assert q(s, "SELECT type, version FROM kodiak_secrets") == [{"type": "http", "version": 3}]
    with pytest.raises(BindError, match="TYPE changes with CREATE OR REPLACE"):
        s.execute("ALTER SECRET x ROTATE (TYPE s3)")


def test_audit_records_changes_never_values(s: Session) -> None:
    value = marker()
    s.execute(f"CREATE SECRET a (TYPE s3, SECRET '{value}')")
    s.execute(f"ALTER SECRET a ROTATE (SECRET '{value}2')")
    s.execute("SELECT secret('a')")
    s.execute("DROP SECRET a")
    rows = q(s, "SELECT action, object, allowed, detail FROM kodiak_audit")
    assert [(r["action"], r["object"]) for r in rows] == [
        ("secret.create", "a"), ("secret.rotate", "a"), ("secret.reveal", "a"),
        ("secret.drop", "a")]
    assert value not in json.dumps(rows)


# ---------------------------------------------------------------------- keys


def test_no_secrets_no_master_key(s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keyring.ENV)
    s.execute("CREATE TABLE t (a INT)")
    s.execute("CREATE TEMPORARY SECRET t1 (TYPE key, KEY 'k')")  # memory only: no key needed
    assert q(s, "SELECT secret('t1', 'KEY') AS k") == [{"k": "k"}]
    assert q(s, "SHOW SECRETS")[0]["name"] == "t1"


def test_missing_master_key(s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keyring.ENV)
    with pytest.raises(keyring.MasterKeyError, match="secrets need the master key: set "
                       "KODIAK_MASTER_KEY or pass --master-key-file"):
        s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    assert not keyring.has_keyring(s.snapshot())  # nothing half-written
    monkeypatch.setenv(keyring.ENV, MASTER)
    s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    monkeypatch.delenv(keyring.ENV)
    assert q(s, "SELECT name FROM kodiak_secrets") == [{"name": "x"}]  # clear part: no key
    with pytest.raises(keyring.MasterKeyError, match="secrets need the master key"):
        s.execute("SELECT secret('x')")


def test_wrong_master_key(s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    s.execute("CREATE SECRET x (TYPE s3, KEY_ID 'k', SECRET 'v')")
    monkeypatch.setenv(keyring.ENV, "not the key")
    with pytest.raises(keyring.MasterKeyError, match="is not the one this database's secrets"):
        s.execute("SELECT secret('x')")
    ctx = s.context(s.snapshot(), None)
    with pytest.raises(keyring.MasterKeyError):
        store.fields_of(ctx, store.secret_by_name(ctx, "x"))  # no partial read either


def test_key_file(tmp_path: Path, s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keyring.ENV)
    key = tmp_path / "master.key"
    key.write_text("file key\n")
    key.chmod(0o644)
    with pytest.raises(keyring.MasterKeyError, match="readable by its group or others"):
        keyring.use_master_key_file(key)
    key.chmod(0o600)
    keyring.use_master_key_file(key)
    try:
        s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
        assert q(s, "SELECT secret('x') AS v") == [{"v": "v"}]
        key.chmod(0o640)
        with pytest.raises(keyring.MasterKeyError, match="readable by its group"):
            s.execute("SELECT secret('x')")
    finally:
        keyring.use_master_key_file(None)


def test_kdf_is_pbkdf2_600k_derived_once(s: Session, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.setattr(keyring, "ITERATIONS", 600_000)
    calls = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(keyring.hashlib, "pbkdf2_hmac",
                        lambda *a: calls.append(a[3]) or real(*a))
    s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    for _ in range(3):
        s.execute("SELECT secret('x')")
    assert calls == [600_000]  # derived once per process per (salt, source)
    d = s.snapshot().object(keyring.KEYRING_KIND, keyring.KEYRING_SCHEMA, "default").definition
    assert d["kdf"] == "pbkdf2-hmac-sha256" and d["iterations"] == 600_000
    assert len(base64.b64decode(d["salt"])) == 16


def test_master_key_rotation_rewraps_only(db: Any, s: Session,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    before = db.snapshot().object(store.SECRET_KIND, store.SECRET_SCHEMA, "x").definition
    ring = db.snapshot().object(keyring.KEYRING_KIND, keyring.KEYRING_SCHEMA, "default")
    old = keyring.MasterSource(MASTER.encode(), "old")
    new = keyring.MasterSource(b"the new master key", "new")
    assert keyring.rotate_master_key(db, old, new, user="ops")
    after = db.snapshot().object(store.SECRET_KIND, store.SECRET_SCHEMA, "x").definition
    assert after == before  # the secret itself is not re-encrypted
    ring2 = db.snapshot().object(keyring.KEYRING_KIND, keyring.KEYRING_SCHEMA, "default")
    assert ring2.definition["salt"] != ring.definition["salt"]
    with pytest.raises(keyring.MasterKeyError, match="is not the one"):
        s.execute("SELECT secret('x')")
    monkeypatch.setenv(keyring.ENV, "the new master key")
    assert q(s, "SELECT secret('x') AS v") == [{"v": "v"}]
    with pytest.raises(keyring.MasterKeyError):  # the old key no longer opens it
        keyring.rotate_master_key(db, old, new)
    audit = q(s, "SELECT action, user_name FROM kodiak_audit "
                 "WHERE action = 'master_key.rotate'")
    assert audit == [{"action": "master_key.rotate", "user_name": "ops"}]


def test_cli_rotate_master_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from kodiak_flight.cli import app

    path = tmp_path / "db"
    db = engine.Database.open(str(path))
    Session(db).execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    db.close()
    monkeypatch.setenv("KODIAK_NEW_MASTER_KEY", "next key")
    out = CliRunner().invoke(app, ["secrets", "rotate-master-key", "--data-dir", str(path)])
    assert out.exit_code == 0, out.output
    assert "master key rotated" in out.output
    monkeypatch.setenv(keyring.ENV, "next key")
    db = engine.Database.open(str(path))
    try:
        assert q(Session(db), "SELECT secret('x') AS v") == [{"v": "v"}]
    finally:
        db.close()
    out = CliRunner().invoke(app, ["secrets", "rotate-master-key", "--data-dir", str(path)])
    assert out.exit_code != 0
    assert "the new master key is the current one" in out.output + str(out.exception)


def test_ciphertext_moved_to_another_name_fails(db: Any, s: Session) -> None:
    s.execute("CREATE SECRET a (TYPE s3, SECRET 'va')")
    s.execute("CREATE SECRET b (TYPE s3, SECRET 'vb')")
    snap = db.snapshot()
    da = snap.object(store.SECRET_KIND, store.SECRET_SCHEMA, "a").definition
    db_ = snap.object(store.SECRET_KIND, store.SECRET_SCHEMA, "b").definition
    with db.begin() as tx:  # a's sealed value put under b's name (same version)
        tx.create_object(store.SECRET_KIND, store.SECRET_SCHEMA, "b",
                         {**db_, "sealed": da["sealed"]}, replace=True)
    with pytest.raises(store.SecretError, match="secret 'b' cannot be decrypted"):
        s.execute("SELECT secret('b')")
    with db.begin() as tx:  # and a's under an older version of itself
        tx.create_object(store.SECRET_KIND, store.SECRET_SCHEMA, "a",
                         {**da, "version": 2}, replace=True)
    with pytest.raises(store.SecretError, match="secret 'a' cannot be decrypted"):
        s.execute("SELECT secret('a')")


def test_each_encryption_has_its_own_nonce(db: Any, s: Session) -> None:
    s.execute("CREATE SECRET a (TYPE s3, SECRET 'same')")
    n1 = db.snapshot().object(store.SECRET_KIND, store.SECRET_SCHEMA, "a").definition
    s.execute("CREATE OR REPLACE SECRET a (TYPE s3, SECRET 'same')")
    n2 = db.snapshot().object(store.SECRET_KIND, store.SECRET_SCHEMA, "a").definition
    assert len(base64.b64decode(n1["sealed"]["nonce"])) == 12
    assert n1["sealed"]["nonce"] != n2["sealed"]["nonce"]
    assert n1["sealed"]["ciphertext"] != n2["sealed"]["ciphertext"]


# ---------------------------------------------------------------------- lookup


def test_lookup_by_longest_scope(s: Session) -> None:
    s.execute("CREATE SECRET broad (TYPE s3, SECRET 'x', SCOPE 's3://bucket')")
    s.execute("CREATE SECRET narrow (TYPE s3, SECRET 'x', SCOPE ['s3://bucket/a/', 's3://o'])")
    s.execute("CREATE SECRET anys3 (TYPE s3, SECRET 'x')")
    s.execute("CREATE SECRET web (TYPE http, BEARER_TOKEN 'x')")
    ctx = s.context(s.snapshot(), None)

    def found(path: str, type: str | None = None) -> str | None:
        hit = store.secret_for_path(ctx, path, type)
        return hit.name if hit is not None else None

    assert found("s3://bucket/a/f.parquet") == "narrow"
    assert found("s3://bucket/b/f.parquet") == "broad"
    assert found("s3://other/f") == "narrow"  # 's3://o' is the longest prefix
    assert found("s3://zzz/f") == "anys3"  # s3's default scope
    assert found("https://example.com/f.csv") == "web"
    assert found("https://example.com/f.csv", "s3") is None
    assert found("gs://b/f") is None
    s.execute("CREATE TEMPORARY SECRET tnarrow (TYPE s3, SECRET 'x', SCOPE 's3://bucket/a/')")
    ctx = s.context(s.snapshot(), None)
    assert found("s3://bucket/a/f") == "tnarrow"  # a tie goes to the temporary one
    assert store.secret_by_name(ctx, "broad").scope == ("s3://bucket",)
    with pytest.raises(BindError, match="secret 'brod' does not exist.*broad"):
        store.secret_by_name(ctx, "brod")


def test_using_secret_on_local_files(tmp_path: Path, s: Session) -> None:
    s.execute("CREATE SECRET files (TYPE s3, SECRET 'x')")
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (1), (2)")
    csv = tmp_path / "t.csv"
    s.execute(f"COPY t TO '{csv}' (FORMAT csv, SECRET files)")
    assert q(s, f"SELECT sum(a) AS s FROM read_csv('{csv}', secret := 'files')") == [{"s": 3}]
    s.execute(f"COPY t TO '{tmp_path / 't.parquet'}' (FORMAT parquet)")
    assert q(s, f"SELECT count(*) AS n FROM read_parquet('{tmp_path / 't.parquet'}', "
                "secret = 'files')") == [{"n": 2}]
    s.execute(f"COPY t FROM '{csv}' (SECRET 'files')")
    with pytest.raises(BindError, match="secret 'nope' does not exist"):
        s.execute(f"SELECT * FROM read_csv('{csv}', secret := 'nope')")
    with pytest.raises(BindError, match="secret 'nope' does not exist"):
        s.execute(f"COPY t FROM '{csv}' (SECRET nope)")



def test_using_secret_as_typed(tmp_path: Path, s: Session) -> None:
    """``USING SECRET name`` after a call's arguments and after COPY's options."""
    s.execute("CREATE SECRET files (TYPE s3, SECRET 'x')")
    s.execute('CREATE SECRET "Mixed" (TYPE s3, SECRET \'y\')')
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (1), (2)")
    csv, pq = tmp_path / "t.csv", tmp_path / "t.parquet"
    s.execute(f"COPY t TO '{csv}' (FORMAT csv) USING SECRET files")
    s.execute(f"COPY t TO '{pq}' (FORMAT parquet)")
    assert q(s, f"SELECT count(*) AS n FROM read_parquet('{pq}' USING SECRET files)") == [
        {"n": 2}]
    assert q(s, f"SELECT sum(a) AS s FROM read_csv('{csv}', header := true "
                'USING SECRET "Mixed")') == [{"s": 3}]
    s.execute(f"COPY t FROM '{csv}' (FORMAT csv) USING SECRET FILES")  # folds: files
    s.execute(f"COPY t FROM '{csv}' USING SECRET 'Mixed'")
    assert q(s, "SELECT count(*) AS n FROM t") == [{"n": 6}]
    for sql in [f"SELECT * FROM read_csv('{csv}' USING SECRET nope)",
                f"COPY t FROM '{csv}' (FORMAT csv) USING SECRET nope",
                f"SELECT * FROM read_csv('{csv}' USING SECRET mixed)"]:
        with pytest.raises(BindError, match="secret '(nope|mixed)' does not exist"):
            s.execute(sql)
    with pytest.raises(SqlError):
        s.execute(f"SELECT * FROM read_csv('{csv}' USING SECRET)")
    assert q(s, "SELECT count(*) AS n FROM t a JOIN t b USING (a)") == [{"n": 18}]


# ---------------------------------------------------------------------- reveal


def test_reveal_needs_the_right(db: Any) -> None:
    Session(db).execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    bob = Session(db, user="bob")
    with pytest.raises(AccessDenied, match=r"secret\('x'\) is refused: .*reveal right"):
        bob.execute("SELECT secret('x')")
    with pytest.raises(AccessDenied):
        bob.execute("SELECT length(secret('x')) FROM range(3)")
    denied = q(Session(db), "SELECT user_name, allowed FROM kodiak_audit "
                            "WHERE action = 'secret.reveal'")
    assert {"user_name": "bob", "allowed": False} in denied


def test_the_reveal_right_is_granted_and_revoked(db: Any) -> None:
    admin = Session(db)  # no user: every right
    admin.execute("CREATE SECRET x (TYPE password, SECRET 'p4ss')")
    bob = Session(db, user="bob")
    with pytest.raises(AccessDenied):
        bob.execute("SELECT secret('x')")
    admin.execute("GRANT REVEAL ON SECRET x TO bob")
    assert q(bob, "SELECT secret('x') AS v") == [{"v": "p4ss"}]
    admin.execute("REVOKE REVEAL ON SECRET x FROM bob")
    with pytest.raises(AccessDenied):
        bob.execute("SELECT secret('x')")
    rows = q(admin, "SELECT user_name, allowed FROM kodiak_audit "
                    "WHERE action = 'secret.reveal' ORDER BY at")
    assert [(r["user_name"], r["allowed"]) for r in rows] == [
        ("bob", False), ("bob", True), ("bob", False)]


def test_revealed_value_hidden_in_plans_and_not_cached(db: Any) -> None:
    s = Session(db, result_cache=ResultCache(1 << 20))
    value = marker()
    s.execute(f"CREATE SECRET x (TYPE s3, SECRET '{value}')")
    plan = json.dumps(q(s, "EXPLAIN SELECT upper(secret('x')) || 'a' AS v"))
    assert value not in plan and value.upper() not in plan and "secret('x')" in plan
    p = s.prepare("SELECT secret('x') AS v")
    assert p.execute().reader.read_all().to_pylist() == [{"v": value}]
    assert p.execute().reader.read_all().to_pylist() == [{"v": value}]
    assert q(s, "SELECT entries FROM information_schema.kodiak_result_cache") == \
        [{"entries": 0}]
    assert not p._templates  # the plan holding the value is not kept


# ---------------------------------------------------------------------- never written


def test_plaintext_never_written(db: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
                                 ) -> None:
    caplog.set_level(logging.DEBUG)
    s = Session(db)
    values = [marker() for _ in range(4)]
    errors: list[str] = []
    s.execute(f"CREATE SECRET a (TYPE s3, KEY_ID '{values[0]}', SECRET '{values[1]}')")
    s.execute(f"CREATE OR REPLACE PERSISTENT SECRET b (TYPE custom, TOKEN {values[2]})")
    s.execute(f"ALTER SECRET a ROTATE (SECRET '{values[3]}')")
    s.prepare(f"CREATE SECRET c (TYPE s3, SECRET '{values[1]}')").execute()
    for bad in (f"CREATE SECRET a (TYPE s3, SECRET '{values[1]}')",  # exists
                f"CREATE SECRET d (TYPE nope, SECRET '{values[1]}')",
                f"CREATE SECRET e (TYPE s3, SECRET '{values[1]}'",
                f"CREATE SECRET (TYPE s3, SECRET '{values[1]}')",
                f"ALTER SECRET zz ROTATE (SECRET '{values[1]}')",
                f"EXPLAIN CREATE SECRET f (TYPE s3, SECRET '{values[1]}')"):
        try:
            s.execute(bad)
        except SqlError as e:
            errors.append(str(e))
        except Exception as e:  # noqa: BLE001 - engine errors too
            errors.append(str(e))
    text = json.dumps(q(s, "SELECT * FROM kodiak_queries"), default=str)
    text += json.dumps(q(s, "SELECT * FROM kodiak_audit"), default=str)
    text += json.dumps(q(s, "SELECT * FROM information_schema.kodiak_objects"), default=str)
    text += json.dumps(q(s, "SHOW SECRETS"), default=str)
    text += json.dumps(q(s, "EXPLAIN SELECT secret('a')"), default=str)
    text += "\n".join(errors) + caplog.text
    text += repr(s._prepared) + repr(list(store.persistent(s.snapshot()).values()))
    db.checkpoint()
    db.backup(str(tmp_path / "bk"))
    for v in values:
        for f in forms(v):
            assert f.decode("latin-1") not in text
        assert scan_dir(Path(db.root), v) == []
        assert scan_dir(tmp_path / "bk", v) == []
    assert len(errors) == 6


def test_backup_restores_secrets(db: Any, tmp_path: Path) -> None:
    Session(db).execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    db.backup(str(tmp_path / "bk"))
    other = engine.Database.open(str(tmp_path / "bk"))
    try:
        assert q(Session(other), "SELECT secret('x') AS v") == [{"v": "v"}]
    finally:
        other.close()


# ---------------------------------------------------------------------- hostile input

HOSTILE_NAMES = ['"a b"', '"x""y"', '"ünïcødé秘密"', '"' + "n" * 300 + '"',
                 '"; DROP TABLE t; --"', '"\'"']
HOSTILE_VALUES = ["''", "'a'';DROP TABLE t;--'", "'ü秘密\U0001F512'", "'" + "v" * 5000 + "'",
                  "'\\x00\\n'", "'$1 ? %s {}'", "'secret(''x'')'"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names(s: Session, name: str) -> None:
    s.execute("CREATE TABLE t (a INT)")
    s.execute(f"CREATE SECRET {name} (TYPE s3, SECRET 'v')")
    plain = name[1:-1].replace('""', '"')
    assert q(s, "SELECT name FROM kodiak_secrets") == [{"name": plain}]
    lit = plain.replace("'", "''")
    assert q(s, f"SELECT secret('{lit}') AS v") == [{"v": "v"}]
    s.execute(f"ALTER SECRET {name} ROTATE (SECRET 'w')")
    s.execute(f"DROP SECRET {name}")
    assert q(s, "SELECT count(*) AS n FROM t") == [{"n": 0}]  # still there


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values(s: Session, value: str) -> None:
    s.execute("CREATE TABLE t (a INT)")
    s.execute(f"CREATE SECRET x (TYPE custom, SECRET {value}, SCOPE {value})"
              if value != "''" else f"CREATE SECRET x (TYPE custom, SECRET {value})")
    expected = value[1:-1].replace("''", "'")
    assert q(s, "SELECT secret('x') AS v") == [{"v": expected}]
    assert q(s, "SELECT count(*) AS n FROM t") == [{"n": 0}]


@pytest.mark.parametrize("sql", [
    "CREATE SECRET x (TYPE s3, SECRET 'v', SECRET 'w')",
    "CREATE SECRET x TYPE s3",
    "CREATE SECRET x (TYPE s3, 'v')",
    "CREATE SECRET x (TYPE s3, SECRET 'v') extra",
    "CREATE SECRET x (TYPE s3, SECRET 'v",
    "CREATE SECRET x (TYPE s3, SCOPE ['', 'a'])",
    "CREATE SECRET x (SECRET 'v')",
    "ALTER SECRET x ROTATE ()",
    "SHOW SECRETS please",
])
def test_bad_statements_are_refused_without_values(s: Session, sql: str) -> None:
    s.execute("CREATE SECRET x0 (TYPE s3, SECRET 'v')")
    with pytest.raises((ParseError, BindError)) as info:
        s.execute(sql)
    assert "'v'" not in str(info.value) and "'w'" not in str(info.value)


def test_reveal_arguments_are_checked(s: Session) -> None:
    s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    with pytest.raises(BindError, match="text literals"):
        s.execute("SELECT secret(1)")
    with pytest.raises(BindError, match="has no field NOPE"):
        s.execute("SELECT secret('x', 'nope')")


def test_secrets_are_not_tables(s: Session) -> None:
    s.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    with pytest.raises(SqlError):
        s.execute("SELECT * FROM kodiak_system.x")
    with pytest.raises((SqlError, engine.errors.KodiakError)):
        s.execute("DROP TABLE kodiak_system.audit")
    assert pa.types.is_list(s.execute("SHOW SECRETS").schema.field("scope").type)




def test_shell_history_redacts_secret_statements(tmp_path: Path) -> None:
    from prompt_toolkit.history import FileHistory

    from kodiak_flight.shell import redacting

    value = marker()
    history = redacting(FileHistory)(str(tmp_path / "history"))
    history.store_string(f"CREATE SECRET s (TYPE s3, SECRET {value})")
    history.store_string("select  1")
    assert scan_dir(tmp_path, value) == []
    assert "select  1" in (tmp_path / "history").read_text()


def test_no_way_around_the_reveal_right(db: Any) -> None:
    """A view or a user function over secret() shows nothing to a user without the right
    (a view reads with its owner's rights, but a reveal needs the reader's too), and only
    a secret's owner or an admin changes it."""
    admin = Session(db)
    admin.execute("CREATE SECRET x (TYPE s3, SECRET 'v')")
    admin.execute("CREATE VIEW sv AS SELECT secret('x') AS v")
    admin.execute("CREATE FUNCTION sf() RETURNS varchar AS secret('x')")
    admin.execute("GRANT SELECT ON sv TO bob")
    admin.execute("GRANT EXECUTE ON FUNCTION main.sf TO bob")
    admin.execute("GRANT CREATE ON SCHEMA main TO bob")
    admin.execute("GRANT USAGE ON SECRET x TO bob")
    bob = Session(db, user="bob")
    for sql in ["SELECT * FROM sv", "SELECT sf() AS v", "EXPLAIN SELECT * FROM sv"]:
        with pytest.raises(AccessDenied, match="reveal right"):
            bob.execute(sql)
    for sql in ["ALTER SECRET x ROTATE (SECRET 'mine')", "DROP SECRET x",
                "CREATE OR REPLACE SECRET x (TYPE s3, SECRET 'mine')",
                "CREATE SECRET y (TYPE s3, SECRET 'mine')"]:
        with pytest.raises(PermissionDenied):
            bob.execute(sql)
    bob.execute("CREATE TEMPORARY SECRET t (TYPE s3, SECRET 'own')")  # its own session's
    admin.execute("GRANT REVEAL ON SECRET x TO bob")
    assert q(bob, "SELECT * FROM sv") == [{"v": "v"}]
    log = q(admin, "SELECT user_name, allowed FROM kodiak_audit WHERE action = "
                   "'secret.reveal' ORDER BY at")
    assert {"user_name": "bob", "allowed": False} in log
    assert {"user_name": "bob", "allowed": True} in log
