"""``kodiak.health``: whether the server is serving, asked on the Flight port itself.

The standard gRPC health service needs a port of its own (``--health-port``; see
``server/health.py`` for why); this action lets a Flight client ask the same question.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow.flight as flight

from ..sessions import ClientSession
from .registry import action

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer

ACTION_HEALTH = "kodiak.health"


@action(ACTION_HEALTH, 'Whether the server is serving: answers JSON {"status": "SERVING"} '
        '(or "NOT_SERVING" while it shuts down), "sessions", "active_queries"')
def health(server: KodiakFlightServer, context: flight.ServerCallContext,
           client: ClientSession, body: bytes) -> list[bytes]:
    answer = {"status": server.ops.health.status,
              "sessions": len(server.state.sessions),
              "active_queries": len(server.ops.queries.running)}
    return [json.dumps(answer).encode("utf-8")]
