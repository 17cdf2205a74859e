"""kodiak_queries / kodiak_sessions over Flight, KILL QUERY and the kodiak.cancel action:
a user stops their own query from another connection; another user may not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import engine
from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.server import KodiakFlightServer
from kodiak_flight.sql import Session
from kodiak_flight.users import UsersAuthenticator, add_user

from .helpers import descriptor

ENDLESS = "select count(*) from keep, keep k2, keep k3, keep k4"


class Client:
    """A pyarrow Flight client logged in as one user (its own server session)."""

    def __init__(self, uri: str, user: str) -> None:
        self.flight = flight.connect(uri)
        pair = self.flight.authenticate_basic_token(user.encode(), f"pw-{user}".encode())
        self.options = flight.FlightCallOptions(headers=[pair])

    def query(self, sql: str) -> pa.Table:
        info = self.flight.get_flight_info(
            descriptor(pb.CommandStatementQuery(query=sql)), self.options)
        return self.flight.do_get(info.endpoints[0].ticket, self.options).read_all()

    def update(self, sql: str) -> None:
        writer, reader = self.flight.do_put(
            descriptor(pb.CommandStatementUpdate(query=sql)), pa.schema([]), self.options)
        writer.done_writing()
        reader.read()
        writer.close()

    def action(self, kind: str, body: bytes) -> list[bytes]:
        return [r.body.to_pybytes()
                for r in self.flight.do_action(flight.Action(kind, body), self.options)]


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("activity")
    for user in ("ann", "bob"):
        add_user(tmp / "users.json", user, f"pw-{user}", n=2**10)
    db = engine.Database.open(str(tmp / "db"))
    srv = KodiakFlightServer(db, "grpc://127.0.0.1:0",
                             auth=UsersAuthenticator(tmp / "users.json", reload_interval=0))
    uri = f"grpc://127.0.0.1:{srv.port}"
    admin = Session(db)  # the administrator (no user): ann may read what it made
    admin.execute("create table keep (a bigint)")
    admin.execute("insert into keep select range from range(1000)")
    admin.execute("grant select on keep to ann")
    admin.close()
    yield uri
    srv.shutdown()
    db.close()


def start_endless(client: Client) -> tuple[threading.Thread, dict[str, Any]]:
    """Run the endless query in a thread; its outcome lands in the dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["rows"] = client.query(ENDLESS)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            out["error"] = e
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def running_id(client: Client, user: str) -> int:
    """The id of ``user``'s running endless query, once it shows."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        t = client.query("select query_id, query from kodiak_queries where state = 'running' "
                         f"and user_name = '{user}' and query_id <> 0")
        ids = [r["query_id"] for r in t.to_pylist() if "k4" in (r["query"] or "")
               or r["query"] == "<insufficient privilege>"]
        if ids:
            return ids[0]
        time.sleep(0.05)
    raise AssertionError("the endless query never showed in kodiak_queries")


def stopped(thread: threading.Thread, out: dict[str, Any]) -> Exception:
    thread.join(10)
    assert not thread.is_alive(), "the query was not stopped"
    assert isinstance(out.get("error"), flight.FlightCancelledError), out
    return out["error"]


def test_kill_query_from_another_connection(uri: str) -> None:
    ann, ann2 = Client(uri, "ann"), Client(uri, "ann")
    thread, out = start_endless(ann)
    qid = running_id(ann2, "ann")
    ann2.update(f"kill query {qid}")
    assert "cancelled" in str(stopped(thread, out))
    t = ann2.query(f"select state, user_name, query from kodiak_queries where query_id = {qid}")
    assert t.to_pylist() == [{"state": "cancelled", "user_name": "ann", "query": ENDLESS}]
    with pytest.raises(pa.ArrowInvalid, match="no longer running"):  # INVALID_ARGUMENT
        ann2.update(f"kill query {qid}")
    with pytest.raises(pa.ArrowKeyError, match="no query 987654"):  # NOT_FOUND
        ann2.update("kill 987654")


def test_cancel_action(uri: str) -> None:
    ann, ann2 = Client(uri, "ann"), Client(uri, "ann")
    thread, out = start_endless(ann)
    qid = running_id(ann2, "ann")
    [answer] = ann2.action("kodiak.cancel", json.dumps({"query_id": qid}).encode())
    assert json.loads(answer) == {"query_id": qid, "user": "ann", "state": "cancelling"}
    stopped(thread, out)
    for body in (b"", b"{}", b'{"query_id": "x"}', b"not json"):
        with pytest.raises(pa.ArrowInvalid, match="query_id"):
            ann2.action("kodiak.cancel", body)


def test_another_user_is_refused(uri: str) -> None:
    ann, bob = Client(uri, "ann"), Client(uri, "bob")
    thread, out = start_endless(ann)
    qid = running_id(bob, "ann")
    t = bob.query(f"select query from kodiak_queries where query_id = {qid}")
    assert t.column("query").to_pylist() == ["<insufficient privilege>"]  # not ann's text
    with pytest.raises(flight.FlightUnauthorizedError, match="another user"):
        bob.update(f"kill query {qid}")
    with pytest.raises(flight.FlightUnauthorizedError, match="another user"):
        bob.action("kodiak.cancel", json.dumps({"query_id": qid}).encode())
    assert thread.is_alive()  # still running
    Client(uri, "ann").update(f"kill {qid}")
    stopped(thread, out)


def test_sessions_view(uri: str) -> None:
    ann, bob = Client(uri, "ann"), Client(uri, "bob")
    ann.query("select 1")
    t = bob.query("select session_id, user_name, peer, in_transaction, running_queries "
                  "from kodiak_sessions")
    rows = t.to_pylist()
    users = {r["user_name"] for r in rows}
    assert {"ann", "bob"} <= users
    mine = [r for r in rows if r["running_queries"] == 1]
    assert [r["user_name"] for r in mine] == ["bob"]  # the query reading the view
    assert all(r["peer"] and r["peer"].startswith("ipv") for r in rows if r["user_name"])
    assert not any(r["in_transaction"] for r in rows)
