"""The registry of Flight actions: each one a function registered by name.

A handler takes ``(server, context, client, body)`` (the server, the call's context, the
caller's session and the action body) and returns the result bodies to send back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow.flight as flight

from ... import flightsql as fsql
from ...status import InvalidArgument
from ..sessions import ClientSession

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer

Handler = Callable[["KodiakFlightServer", flight.ServerCallContext, ClientSession, bytes],
                   list[bytes]]


@dataclass(frozen=True)
class Action:
    """A Flight action: its type name, what ListActions says of it, and its handler.
    A hidden action is answered but not listed (one Kodiak only refuses clearly)."""

    name: str
    description: str
    handler: Handler
    hidden: bool = False


ACTIONS: dict[str, Action] = {}  # by name, in registration order


def action(name: str, description: str = "", *, hidden: bool = False
           ) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of action ``name``."""
    def register(handler: Handler) -> Handler:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = Action(name, description, handler, hidden)
        return handler
    return register


def listed(actions: dict[str, Action]) -> list[tuple[str, str]]:
    """ListActions' answer: (name, description) of every action not hidden."""
    return [(a.name, a.description) for a in actions.values() if not a.hidden]


def unpack_request(body: bytes, cls: type[Any], expects: str) -> Any:
    """An Any-packed Flight SQL action body that must be a ``cls``; else INVALID_ARGUMENT
    with the message ``expects`` (``{got}`` in it: the class sent)."""
    req = fsql.unpack(body, what="action body")
    if not isinstance(req, cls):
        raise InvalidArgument(expects.format(got=type(req).__name__), "ProtocolError")
    return req
