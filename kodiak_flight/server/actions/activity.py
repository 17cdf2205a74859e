"""``kodiak.cancel``: stop a running query by its id in ``kodiak_queries``.

Body ``{"query_id": N}``; answers ``{"query_id": N, "user": ..., "state": "cancelling"}``.
The same rule as ``KILL QUERY``: with authentication on, a user may stop only their own
queries and an admin anyone's; without it, any query.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pyarrow.flight as flight

from ...sql.activity import activity_for
from ...status import InvalidArgument
from ..middleware import call_middleware
from ..sessions import ClientSession
from .registry import action

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer

log = logging.getLogger("kodiak.flight")

ACTION_CANCEL = "kodiak.cancel"


@action(ACTION_CANCEL, 'Stop a running query by its id in kodiak_queries: body '
        '{"query_id": N}; answers JSON {"query_id", "user", "state"}; a user may stop '
        'only their own queries, an admin anyone\'s')
def cancel_query_by_id(server: KodiakFlightServer, context: flight.ServerCallContext,
                       client: ClientSession, body: bytes) -> list[bytes]:
    user = _caller(server, context)
    query_id = _query_id(body)
    rights = getattr(client.sql, "rights", None)
    admin = user is not None and rights is not None and rights(client.sql.snapshot()).is_admin
    q = activity_for(server.db).cancel(query_id, None if admin else user)
    log.info("query %d of %s cancelled by %s", query_id, q.user or "anonymous",
             user or "anonymous")
    return [json.dumps({"query_id": query_id, "user": q.user,
                        "state": "cancelling"}).encode("utf-8")]


def _caller(server: KodiakFlightServer, context: flight.ServerCallContext) -> str | None:
    """The authenticated user (None without authentication: any query may be stopped)."""
    if server.auth is None:
        return None
    mw = call_middleware(context)
    if mw is None or not mw.user:
        raise flight.FlightUnauthenticatedError(f"{ACTION_CANCEL} requires an authenticated "
                                                "user")
    return mw.user


def _query_id(body: bytes) -> int:
    try:
        doc = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        doc = None
    qid = doc.get("query_id") if isinstance(doc, dict) else None
    if not isinstance(qid, int) or isinstance(qid, bool) or qid < 0:
        raise InvalidArgument(f'{ACTION_CANCEL} expects a JSON body {{"query_id": N}} with N '
                              "from kodiak_queries", "ProtocolError")
    return qid
