"""Secrets through the Flight SQL server with ADBC: created and listed by a client, the
value never shown to a user without the reveal right, nor in the server's logs."""

from __future__ import annotations

import logging
import uuid

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


def test_reveal_refused_to_a_user_until_granted(db, tmp_path) -> None:
    """The server's own user (ann) is its admin; bob, a user of the users file, may not
    read a secret's value until granted REVEAL on it."""
    name = f"s{uuid.uuid4().hex[:8]}"
    add_user(tmp_path / "users.json", "bob", PASSWORD, n=2**10)
    auth = UsersAuthenticator(tmp_path / "users.json", reload_interval=0,
                              extra=Authenticator("ann", hash_password(PASSWORD, n=2**10)))
    with running(db, auth=auth) as srv:
        uri = f"grpc://127.0.0.1:{srv.port}"
        with flight_sql.connect(uri, autocommit=True, db_kwargs={
                "username": "ann", "password": PASSWORD}) as ann, ann.cursor() as cur:
            cur.execute(f"CREATE SECRET {name} (TYPE password, PASSWORD 'pw')")
        with flight_sql.connect(uri, autocommit=True, db_kwargs={
                "username": "bob", "password": PASSWORD}) as bob, bob.cursor() as cur:
            with pytest.raises(adbc_driver_manager.Error, match="reveal right"):
                cur.execute(f"SELECT secret('{name}', 'password')")
        with flight_sql.connect(uri, autocommit=True, db_kwargs={
                "username": "ann", "password": PASSWORD}) as ann, ann.cursor() as cur:
            cur.execute(f"GRANT REVEAL ON SECRET {name} TO bob")
        with flight_sql.connect(uri, autocommit=True, db_kwargs={
                "username": "bob", "password": PASSWORD}) as bob, bob.cursor() as cur:
            cur.execute(f"SELECT secret('{name}', 'password')")
            assert cur.fetchall() == [("pw",)]
