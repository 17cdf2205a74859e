"""Secrets through the Flight SQL server with ADBC: created and listed by a client, the
value never shown to a user without the reveal right, nor in the server's logs."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pytest

from kodiak_flight.auth import Authenticator, hash_password
from kodiak_flight.sql.secrets import keyring
from kodiak_flight.users import UsersAuthenticator, add_user

from .conftest import running

PASSWORD = "open sesame, but longer"


@pytest.fixture(autouse=True)
def master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keyring.ENV, "flight test master key")
    monkeypatch.setattr(keyring, "ITERATIONS", 1000)
    keyring.use_master_key_file(None)


def test_secrets_over_adbc(db, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    value = f"MARK{uuid.uuid4().hex}"
    name = f"s{uuid.uuid4().hex[:8]}"
    with running(db) as srv, flight_sql.connect(f"grpc://127.0.0.1:{srv.port}",
                                                autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute(f"CREATE SECRET {name} (TYPE s3, SECRET '{value}', "
                        f"SCOPE 's3://b/{name}')")
            cur.execute(f"SELECT name, type, scope FROM kodiak_secrets WHERE name = '{name}'")
            assert cur.fetchall() == [(name, "s3", [f"s3://b/{name}"])]
            cur.execute("SHOW SECRETS")
            assert name in [r[0] for r in cur.fetchall()]
            cur.execute("SELECT query FROM kodiak_queries")
            texts = [r[0] for r in cur.fetchall()]
            assert any(f"CREATE SECRET {name}" in t for t in texts)
            assert not any(value in t for t in texts)
            cur.execute(f"SELECT secret('{name}')")  # no users: every right
            assert cur.fetchall() == [(value,)]
    assert value not in caplog.text


def test_reveal_refused_to_a_user(db, tmp_path) -> None:
    """ann, a user of the users file (not the server's own user, who holds every right):
    may use a secret the admin made, never see its value."""
    name = f"s{uuid.uuid4().hex[:8]}"
    add_user(tmp_path / "users.json", "ann", PASSWORD, n=2**10)
    own = Authenticator("boss", hash_password(PASSWORD, n=2**10))
    auth = UsersAuthenticator(tmp_path / "users.json", extra=own, reload_interval=0)

    def connect(user: str) -> Any:
        return flight_sql.connect(f"grpc://127.0.0.1:{srv.port}", autocommit=True,
                                  db_kwargs={"username": user, "password": PASSWORD})
    with running(db, auth=auth) as srv:
        with connect("boss") as conn, conn.cursor() as cur:
            cur.execute(f"CREATE SECRET {name} (TYPE password, PASSWORD 'pw')")
            cur.execute(f"GRANT USAGE ON SECRET {name} TO ann")
        with connect("ann") as conn, conn.cursor() as cur:
            with pytest.raises(adbc_driver_manager.Error, match="reveal right"):
                cur.execute(f"SELECT secret('{name}', 'password')")
            with pytest.raises(adbc_driver_manager.Error, match="may not DROP secret"):
                cur.execute(f"DROP SECRET {name}")
        with connect("boss") as conn, conn.cursor() as cur:
            cur.execute(f"SELECT secret('{name}', 'password')")
            assert cur.fetchall() == [("pw",)]
            cur.execute(f"DROP SECRET {name}")


def test_plaintext_never_in_a_json_logging_server(tmp_path) -> None:
    """A real ``kodiak serve --log-format json --log-level debug`` (a child process, its
    stdout and stderr captured) while an ADBC client creates, rotates, lists and uses
    secrets: no value, nor its base64 or hex, in any log line or file of the data
    directory."""
    from bench import hostile

    values = [f"MK{uuid.uuid4().hex}" for _ in range(4)]
    data, log, files = tmp_path / "db", tmp_path / "server.log", tmp_path / "files"
    files.mkdir()
    (files / "in.csv").write_text("a\n1\n2\n")
    env = {"KODIAK_USER": "boss", "KODIAK_PASSWORD": PASSWORD,
           "KODIAK_MASTER_KEY": "json log master key"}
    flags = ("--log-format", "json", "--log-level", "debug", "--file-root", str(files))
    with hostile.server(data, log, flags, env) as (uri, proc):
        with flight_sql.connect(uri, autocommit=True, db_kwargs={
                "username": "boss", "password": PASSWORD}) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE SECRET s1 (TYPE s3, KEY_ID '{values[0]}', "
                        f"SECRET '{values[1]}', SCOPE 's3://b')")
            cur.execute(f"CREATE TEMPORARY SECRET t1 (TYPE bearer, TOKEN '{values[2]}')")
            cur.execute(f"ALTER SECRET s1 ROTATE (SECRET '{values[3]}')")
            cur.execute("SELECT name, version FROM kodiak_secrets ORDER BY name")
            assert cur.fetchall() == [("s1", 2), ("t1", 1)]
            cur.execute("CREATE TABLE t (a INT)")
            cur.execute(f"COPY t FROM '{files / 'in.csv'}' (FORMAT csv) USING SECRET s1")
            cur.execute(f"SELECT sum(a) FROM read_csv('{files / 'in.csv'}' USING SECRET t1)")
            assert cur.fetchall() == [(3,)]
            cur.execute("SELECT secret('s1')")  # the admin's reveal: to it, not to the log
            assert cur.fetchall() == [(values[3],)]
            cur.execute("EXPLAIN SELECT secret('s1', 'KEY_ID')")
            assert values[0] not in str(cur.fetchall())
            with pytest.raises(adbc_driver_manager.Error) as e:
                cur.execute(f"CREATE SECRET bad (TYPE s3, SECRET '{values[1]}', NOPE 1")
            assert values[1] not in str(e.value)
            cur.execute("DROP SECRET t1")
    logged = log.read_text() + (proc.stdout.read() or "")
    lines = [ln for ln in logged.splitlines() if ln.startswith("{")]
    assert lines and all(isinstance(json.loads(ln), dict) for ln in lines)
    assert "CREATE SECRET s1 (***)" in logged  # statements were logged, cut at options
    assert hostile.leaks(logged, values) == []
    for f in Path(data).rglob("*"):
        if f.is_file():
            assert hostile.leaks(f.read_bytes().decode("latin-1"), values) == [], f
