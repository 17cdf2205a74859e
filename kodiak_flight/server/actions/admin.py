"""Kodiak's own actions: ``kodiak.backup``, ``kodiak.info``, ``kodiak.check``.

JSON in, JSON out (see docs/flight.md); the work is done by ``kodiak_flight.admin``. With
authentication on, the caller must be an authenticated user (the middleware already refuses
calls without credentials; these do not rely on it alone) and an admin (access control:
the server's own user, or a holder of the ``admin`` role); a denial is audited.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pyarrow.flight as flight

from ... import admin
from ..middleware import call_middleware
from ..sessions import ClientSession
from .registry import action

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer

log = logging.getLogger("kodiak.flight")


def _caller(server: KodiakFlightServer, context: flight.ServerCallContext, kind: str) -> str:
    """The authenticated user calling (``anonymous`` without authentication)."""
    mw = call_middleware(context)
    if server.auth is not None and (mw is None or not mw.user):
        raise flight.FlightUnauthenticatedError(f"{kind} requires an authenticated user")
    return (mw.user if mw else None) or "anonymous"


def _require_admin(client: ClientSession, kind: str) -> None:
    """Refuse (PERMISSION_DENIED, audited) a caller that is not an admin."""
    rights = getattr(client.sql, "rights", None)
    if rights is not None:
        rights(client.sql.snapshot()).require_admin(f"call {kind}")


@action(admin.ACTION_BACKUP,
        'Back up the database online into a new directory on the server: body '
        '{"dest": "/absolute/path"}; answers JSON {"dest", "tables", "rows", '
        '"bytes", "lsn", "files", "total_bytes", "users_file"}')
def backup(server: KodiakFlightServer, context: flight.ServerCallContext,
           client: ClientSession, body: bytes) -> list[bytes]:
    user = _caller(server, context, admin.ACTION_BACKUP)
    _require_admin(client, admin.ACTION_BACKUP)
    dest = admin.parse_backup_request(body)
    log.info("backup to %s requested by %s", dest, user)
    stats = admin.backup(server.db, dest, server.backup_root)
    log.info("backup to %s done: %s tables, %s rows, LSN %s", stats["dest"],
             stats.get("tables"), stats.get("rows"), stats.get("lsn"))
    return [json.dumps(stats).encode("utf-8")]


@action(admin.ACTION_INFO,
        "Tables with rows, segments and sizes, and the write-ahead log's size: "
        "answers JSON {\"tables\": [...], \"lsn\", \"wal_bytes\", ...}")
def info(server: KodiakFlightServer, context: flight.ServerCallContext,
         client: ClientSession, body: bytes) -> list[bytes]:
    _caller(server, context, admin.ACTION_INFO)
    _require_admin(client, admin.ACTION_INFO)
    return [admin.info_json(server.db)]


@action(admin.ACTION_CHECK,
        "Verify the live database (checksums, manifest, write-ahead log, "
        "segments, indexes): answers JSON {\"problems\": [...], \"tables\", "
        "\"rows\", \"lsn\"}")
def check(server: KodiakFlightServer, context: flight.ServerCallContext,
          client: ClientSession, body: bytes) -> list[bytes]:
    user = _caller(server, context, admin.ACTION_CHECK)
    _require_admin(client, admin.ACTION_CHECK)
    out = admin.check_json(server.db)
    log.info("online check requested by %s: %s", user, out[:200].decode("utf-8", "replace"))
    return [out]
