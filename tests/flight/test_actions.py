"""The registry of Flight actions: what ListActions lists, and how DoAction finds a handler."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.server import KodiakFlightServer
from kodiak_flight.server.actions import ACTIONS, Action, action, listed


def test_list_actions_in_registration_order(uri):
    client = flight.connect(uri)
    assert [a.type for a in client.list_actions()] == [
        "CreatePreparedStatement", "ClosePreparedStatement", "BeginTransaction",
        "EndTransaction", "BeginSavepoint", "EndSavepoint", "CancelFlightInfo", "CancelQuery",
        "SetSessionOptions", "GetSessionOptions", "CloseSession", "kodiak.backup",
        "kodiak.info", "kodiak.check", "kodiak.health", "kodiak.cancel"]
    client.close()


def test_a_hidden_action_is_answered_but_not_listed(uri):
    assert ACTIONS["CreatePreparedSubstraitPlan"].hidden
    assert "CreatePreparedSubstraitPlan" not in dict(listed(ACTIONS))
    client = flight.connect(uri)
    with pytest.raises(pa.ArrowNotImplementedError, match="Substrait plans are not supported"):
        list(client.do_action(flight.Action("CreatePreparedSubstraitPlan", b"")))
    client.close()


def test_an_unknown_action_is_unimplemented(uri):
    client = flight.connect(uri)
    with pytest.raises(pa.ArrowNotImplementedError, match="unknown action type 'nope'"):
        list(client.do_action(flight.Action("nope", b"")))
    client.close()


def test_a_name_registers_once():
    with pytest.raises(ValueError, match="registered twice"):
        action("BeginTransaction", "again")(lambda server, context, client, body: [])


def test_a_server_serves_the_actions_of_its_table(db):
    """A handler gets the server, the call, the caller's session and the body."""
    seen = []

    def echo(server, context, client, body):
        seen.append((server, client.id))
        return [body[::-1]]

    class Echo(KodiakFlightServer):
        actions = {"echo": Action("echo", "Echo", echo)}

    srv = Echo(db, "grpc://127.0.0.1:0")
    try:
        client = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        assert [(a.type, a.description) for a in client.list_actions()] == [("echo", "Echo")]
        (result,) = client.do_action(flight.Action("echo", b"abc"))
        assert result.body.to_pybytes() == b"cba"
        assert seen[0][0] is srv and seen[0][1] in srv.state.sessions
        client.close()
    finally:
        srv.shutdown()
    assert "echo" not in ACTIONS
