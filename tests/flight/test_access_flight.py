"""Access control through ADBC against a real server with users: each right allowed for one
user and denied (PERMISSION_DENIED, naming the object and right) for another; users made in
SQL log in; metadata, ingest and admin actions follow rights."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import engine
from kodiak_flight.auth import Authenticator, hash_password
from kodiak_flight.server import KodiakFlightServer
from kodiak_flight.users import UsersAuthenticator, add_user

PASSWORDS = {"kodiak": "pw-kodiak", "ann": "pw-ann", "bob": "pw-bob"}


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("access")
    for user in ("ann", "bob"):
        add_user(tmp / "users.json", user, PASSWORDS[user], n=2**10)
    db = engine.Database.open(str(tmp / "db"))
    own = Authenticator("kodiak", hash_password(PASSWORDS["kodiak"], n=2**10))
    srv = KodiakFlightServer(db, "grpc://127.0.0.1:0", auth=UsersAuthenticator(
        tmp / "users.json", extra=own, reload_interval=0))
    uri = f"grpc://127.0.0.1:{srv.port}"
    run(uri, "kodiak", "create table t (id int primary key, v varchar)",
        "insert into t values (1, 'a'), (2, 'b')", "create schema s",
        "create table s.u (id int primary key)")
    yield uri
    srv.shutdown()
    db.close()


def connect(uri: str, user: str, password: str | None = None) -> Any:
    return flight_sql.connect(uri, db_kwargs={"username": user,
                                              "password": password or PASSWORDS[user]},
                              autocommit=True)


def run(uri: str, user: str, *sqls: str, password: str | None = None) -> list[Any]:
    out = []
    with connect(uri, user, password) as conn, conn.cursor() as cur:
        for sql in sqls:
            cur.execute(sql)
            out.append(cur.fetchall() if cur.description else None)
    return out


MATRIX = [
    ("select * from t", "SELECT table main.t", "grant select on t to ann"),
    ("insert into t values (3, 'c')", "INSERT table main.t", "grant insert on t to ann"),
    ("update t set v = 'z' where id = 1", "UPDATE table main.t", "grant update on t to ann"),
    ("delete from t where id = 3", "DELETE table main.t", "grant delete on t to ann"),
    ("select * from s.u", "SELECT table s.u", "grant select on schema s to ann"),
    ("create table s.n (a int)", "CREATE schema s", "grant create on schema s to ann"),
    ("create schema fresh", "CREATE the database", "grant create on database to ann"),
]


@pytest.mark.parametrize(("sql", "says", "grant"), MATRIX)
def test_matrix(uri: str, sql: str, says: str, grant: str) -> None:
    run(uri, "kodiak", grant)
    with pytest.raises(adbc_driver_manager.Error,
                       match=f"permission denied: user bob may not {says}") as e:
        run(uri, "bob", sql)
    assert "UNAUTHORIZED" in str(e.value) or "PERMISSION" in str(e.value).upper()
    run(uri, "ann", sql)


def test_users_made_in_sql_log_in_and_hold_nothing(uri: str) -> None:
    run(uri, "kodiak", "create user carl password 'pw-carl'")
    with pytest.raises(adbc_driver_manager.Error, match="user carl may not SELECT"):
        run(uri, "carl", "select * from t", password="pw-carl")
    run(uri, "kodiak", "create role readers", "grant select on t to readers",
        "grant readers to carl")
    [got] = run(uri, "carl", "select count(*) from t", password="pw-carl")
    assert got[0][0] >= 2
    run(uri, "kodiak", "alter user carl password 'new-carl'")
    run(uri, "carl", "select 1", password="new-carl")
    with pytest.raises(adbc_driver_manager.Error, match="may not CREATE USER"):
        run(uri, "carl", "create user dan password 'x'", password="new-carl")
    run(uri, "kodiak", "drop user carl")
    with pytest.raises(adbc_driver_manager.Error, match="invalid user name or password"):
        run(uri, "carl", "select 1", password="new-carl")


def test_metadata_shows_only_what_a_user_may_use(uri: str) -> None:
    run(uri, "kodiak", "create schema hidden", "create table hidden.h (a int)",
        "create user meta password 'pw-meta'", "grant select on s.u to meta")
    with connect(uri, "meta", "pw-meta") as conn:
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    tables = {(s["db_schema_name"], t["table_name"]) for c in objects
              for s in c["catalog_db_schemas"] or [] for t in s["db_schema_tables"] or []}
    schemas = {s["db_schema_name"] for c in objects for s in c["catalog_db_schemas"] or []}
    assert ("s", "u") in tables and ("main", "t") not in tables
    assert "hidden" not in schemas and "main" not in schemas
    with connect(uri, "kodiak") as conn:
        objects = conn.adbc_get_objects(depth="db_schemas").read_all().to_pylist()
    assert "hidden" in {s["db_schema_name"] for c in objects for s in c["catalog_db_schemas"]}


def test_ingest_needs_rights(uri: str) -> None:
    data = pa.table({"id": pa.array([50], pa.int32()), "v": ["i"]})
    with connect(uri, "bob") as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error, match="may not INSERT table main.t"):
            cur.adbc_ingest("t", data, mode="append")
        with pytest.raises(adbc_driver_manager.Error, match="may not CREATE schema main"):
            cur.adbc_ingest("bobs", data, mode="create")


def test_audit_is_for_admins(uri: str) -> None:
    with pytest.raises(adbc_driver_manager.Error, match="may not read kodiak_audit"):
        run(uri, "bob", "select * from kodiak_audit")
    [got] = run(uri, "kodiak", "select action, allowed from kodiak_audit "
                               "where user_name = 'bob' and not allowed")
    assert got


def test_admin_actions_need_an_admin(uri: str) -> None:
    client = flight.connect(uri)
    token = client.authenticate_basic_token("bob", PASSWORDS["bob"])
    opts = flight.FlightCallOptions(headers=[token])
    with pytest.raises(flight.FlightUnauthorizedError, match="may not call kodiak.info"):
        list(client.do_action(flight.Action("kodiak.info", b""), opts))
    token = client.authenticate_basic_token("kodiak", PASSWORDS["kodiak"])
    opts = flight.FlightCallOptions(headers=[token])
    [r] = list(client.do_action(flight.Action("kodiak.info", b""), opts))
    assert "tables" in json.loads(r.body.to_pybytes())


def test_an_admin_stops_anyones_query(uri: str) -> None:
    from .test_activity import Client, running_id, start_endless, stopped

    run(uri, "kodiak", "create table keep as select range as a from range(1000)",
        "grant select on keep to ann", "create user boss password 'pw-boss'",
        "grant admin to boss")
    ann, bob, boss = Client(uri, "ann"), Client(uri, "bob"), Client(uri, "boss")
    for stop in ("kill", "action"):
        thread, out = start_endless(ann)
        qid = running_id(boss, "ann")
        with pytest.raises(flight.FlightUnauthorizedError, match="another user"):
            bob.action("kodiak.cancel", json.dumps({"query_id": qid}).encode())
        if stop == "kill":
            boss.update(f"kill query {qid}")
        else:
            boss.action("kodiak.cancel", json.dumps({"query_id": qid}).encode())
        stopped(thread, out)
