"""``kodiak user``: the users file, and a server authenticating against it."""

from __future__ import annotations

import json
import stat

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.flight as flight
import pytest

import engine
from kodiak_flight.auth import Authenticator, hash_password, verify_password
from kodiak_flight.server import KodiakFlightServer
from kodiak_flight.users import UsersAuthenticator, add_user, authenticator_for, users_path

from .conftest import kodiak


def test_user_commands(data_dir):
    args = ["--data-dir", str(data_dir)]
    r = kodiak("user", "add", "ann", *args, "--password-stdin", input="s3cret\n")
    assert r.code == 0 and "added user ann" in r.stdout
    path = users_path(data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["users"]["ann"]["hash"].startswith("scrypt$16384$8$1$")
    assert "s3cret" not in path.read_text()
    assert verify_password("s3cret", doc["users"]["ann"]["hash"])

    kodiak("user", "add", "bob", *args, "--password-stdin", input="pw\n")
    assert kodiak("user", "list", *args).stdout.split() == ["ann", "bob"]
    r = kodiak("user", "add", "ann", *args, "--password-stdin", input="x\n")
    assert r.code == 1 and r.err_lines == [
        "error: user 'ann' already exists (use `kodiak user passwd`)"]
    assert kodiak("user", "passwd", "ann", *args, "--password-stdin", input="new\n").code == 0
    assert verify_password("new", json.loads(path.read_text())["users"]["ann"]["hash"])
    assert kodiak("user", "remove", "bob", *args).code == 0
    assert kodiak("user", "list", *args).stdout.split() == ["ann"]

    for cmd, msg in [(["remove", "zed"], "no user 'zed'"),
                     (["passwd", "zed", "--password-stdin"], "no user 'zed'"),
                     (["add", "bad name", "--password-stdin"], "invalid user name"),
                     (["add", "carl", "--password-stdin"], "the password is empty"),
                     (["add", "carl"], "pass --password-stdin")]:
        r = kodiak("user", *cmd, *args, input="\n")
        assert r.code != 0 and msg in r.stderr and len(r.err_lines) == 1, (cmd, r.stderr)


@pytest.fixture
def users_server(tmp_path):
    path = tmp_path / "users.json"
    add_user(path, "ann", "pw-ann", n=2**10)
    auth = UsersAuthenticator(path, reload_interval=0)
    db = engine.Database.open(str(tmp_path / "db"))
    srv = KodiakFlightServer(db, "grpc://127.0.0.1:0", auth=auth)
    yield f"grpc://127.0.0.1:{srv.port}", path
    srv.shutdown()
    db.close()


def _adbc(uri, user, password):
    return flight_sql.connect(uri, db_kwargs={"username": user, "password": password},
                              autocommit=True)


def _select(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 1 AS x")
        return cur.fetchall()


def test_server_reads_the_users_file(users_server):
    uri, path = users_server
    with _adbc(uri, "ann", "pw-ann") as conn:
        assert _select(conn) == [(1,)]
    for user, pw in [("ann", "wrong"), ("nobody", "pw-ann")]:
        with pytest.raises(Exception, match="invalid user name or password"):
            with _adbc(uri, user, pw) as conn:
                _select(conn)
    # Users added while the server runs can log in without a restart.
    add_user(path, "bob", "pw-bob", n=2**10)
    with _adbc(uri, "bob", "pw-bob") as conn:
        assert _select(conn) == [(1,)]
    r = kodiak("sql", "--uri", uri, "--user", "bob", "--format", "csv", "select 2 as y",
               env={"KODIAK_PASSWORD": "pw-bob"})
    assert r.stdout.splitlines() == ['"y"', "2"], r.stderr


def test_removed_user_and_changed_password_invalidate_tokens(users_server, tmp_path):
    uri, path = users_server
    client = flight.connect(uri)
    token = dict([client.authenticate_basic_token("ann", "pw-ann")])
    opts = flight.FlightCallOptions(headers=list(token.items()))
    list(client.list_flights(options=opts))  # the token works

    data_dir = path.parent
    assert kodiak("user", "passwd", "ann", "--data-dir", data_dir, "--password-stdin",
                  input="pw-new\n").code == 0
    with pytest.raises(flight.FlightUnauthenticatedError, match="password changed"):
        list(client.list_flights(options=opts))
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.authenticate_basic_token("ann", "pw-ann")
    token = dict([client.authenticate_basic_token("ann", "pw-new")])
    opts = flight.FlightCallOptions(headers=list(token.items()))
    list(client.list_flights(options=opts))

    assert kodiak("user", "remove", "ann", "--data-dir", data_dir).code == 0
    with pytest.raises(flight.FlightUnauthenticatedError, match="no longer exists"):
        list(client.list_flights(options=opts))
    client.close()


def test_authenticator_choice(tmp_path):
    assert authenticator_for(tmp_path, env={}) is None  # no users file, no password: off
    single = authenticator_for(tmp_path, env={"KODIAK_PASSWORD": "pw"})
    assert isinstance(single, Authenticator) and not isinstance(single, UsersAuthenticator)
    add_user(users_path(tmp_path), "ann", "pw-ann", n=2**10)
    both = authenticator_for(tmp_path, env={"KODIAK_PASSWORD_HASH": hash_password("pw", n=2**10),
                                            "KODIAK_USER": "admin"})
    assert isinstance(both, UsersAuthenticator) and both.users() == ["admin", "ann"]
    import base64

    def basic(u, p):
        return "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()

    assert both.check_basic(basic("admin", "pw")) == "admin"
    assert both.check_basic(basic("ann", "pw-ann")) == "ann"
    with pytest.raises(flight.FlightUnauthenticatedError):
        both.check_basic(basic("admin", "pw-ann"))
    tok = both.issue_token("ann")
    assert both.check_token(tok).user == "ann"
    # an empty users file still means authentication is on (nobody from the file can log in)
    users_path(tmp_path).write_text('{"format": 1, "users": {}}')
    assert isinstance(authenticator_for(tmp_path, env={}), UsersAuthenticator)
