"""Transaction actions: BeginTransaction, EndTransaction, BeginSavepoint, EndSavepoint."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

import pyarrow.flight as flight

from ... import flightsql as fsql
from ...flightsql import pb
from ...status import InvalidArgument, NotFound
from ..sessions import ClientSession, ExpiredTransaction, SessionStore, Transaction
from .registry import action, unpack_request

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer


@action(fsql.BEGIN_TRANSACTION, "Begin a transaction")
def begin_transaction(server: KodiakFlightServer, context: flight.ServerCallContext,
                      client: ClientSession, body: bytes) -> list[bytes]:
    """A new transaction with its own SQL session, begun at its first write (see
    :class:`Transaction`)."""
    sql = server.new_sql(client.schema, client)
    txn_id = secrets.token_bytes(16)
    state = server.state
    with state.lock:
        state.transactions[txn_id] = Transaction(txn_id, sql, client.id)
        client.transactions.add(txn_id)
    return [fsql.pack(pb.ActionBeginTransactionResult(transaction_id=txn_id))]


@action(fsql.END_TRANSACTION, "Commit or roll back a transaction")
def end_transaction(server: KodiakFlightServer, context: flight.ServerCallContext,
                    client: ClientSession, body: bytes) -> list[bytes]:
    """Commit or roll back; ending a transaction the server expired is an error only when
    committing what it wrote (that was rolled back)."""
    req = unpack_request(body, pb.ActionEndTransactionRequest,
                         "EndTransaction expects ActionEndTransactionRequest")
    if req.action not in (req.END_TRANSACTION_COMMIT, req.END_TRANSACTION_ROLLBACK):
        raise InvalidArgument("EndTransaction: action must be COMMIT or ROLLBACK",
                              "ProtocolError")
    commit = req.action == req.END_TRANSACTION_COMMIT
    state = server.state
    txn, expired = _take_transaction(state, bytes(req.transaction_id))
    if txn is not None:
        state.end_transaction(txn, commit=commit)
    elif expired is None:
        raise NotFound("unknown transaction (already ended, or from another server "
                       "process)", "UnknownTransaction")
    elif commit and expired.begun:
        raise NotFound(f"cannot commit: the transaction was rolled back after "
                       f"{state.transaction_idle_timeout:.0f} s without activity",
                       "TransactionExpired")
    return []  # (an expired transaction: rolled back already, or nothing to commit)


def _take_transaction(state: SessionStore, txn_id: bytes
                      ) -> tuple[Transaction | None, ExpiredTransaction | None]:
    """Unregister the open transaction ``txn_id``, or else forget that the server expired
    it: (the open transaction, what is remembered of the expired one)."""
    with state.lock:
        txn = state.transactions.pop(txn_id, None)
        if txn is None:
            return None, state.expired.pop(txn_id, None)
        owner = state.sessions.get(txn.owner)
        if owner is not None:
            owner.transactions.discard(txn.id)
        return txn, None


@action(fsql.BEGIN_SAVEPOINT, "Set a savepoint in a transaction")
def begin_savepoint(server: KodiakFlightServer, context: flight.ServerCallContext,
                    client: ClientSession, body: bytes) -> list[bytes]:
    """A savepoint in an open transaction. Savepoint names need not be unique (the id
    identifies it); the transaction begins here if it has not written yet, so a rollback
    to the savepoint undoes exactly what followed it."""
    req = unpack_request(body, pb.ActionBeginSavepointRequest,
                         "BeginSavepoint expects ActionBeginSavepointRequest")
    if not req.transaction_id:
        raise InvalidArgument("BeginSavepoint: a transaction_id is required",
                              "ProtocolError")
    state = server.state
    txn = state.transaction(req.transaction_id, client)
    sp_id = secrets.token_bytes(16)
    internal = f"flightsql_sp_{sp_id.hex()}"
    with txn.lock:
        txn.ensure_begun()
        txn.sql.savepoint(internal)
        txn.savepoints.append((sp_id, internal))
    with state.lock:
        state.savepoints[sp_id] = txn.id
    return [fsql.pack(pb.ActionBeginSavepointResult(savepoint_id=sp_id))]


@action(fsql.END_SAVEPOINT, "Release or roll back to a savepoint")
def end_savepoint(server: KodiakFlightServer, context: flight.ServerCallContext,
                  client: ClientSession, body: bytes) -> list[bytes]:
    """RELEASE forgets the savepoint and every later one; ROLLBACK undoes what followed
    it and forgets the later ones (the savepoint itself stays, as in SQL)."""
    req = unpack_request(body, pb.ActionEndSavepointRequest,
                         "EndSavepoint expects ActionEndSavepointRequest")
    act = pb.ActionEndSavepointRequest
    if req.action not in (act.END_SAVEPOINT_RELEASE, act.END_SAVEPOINT_ROLLBACK):
        raise InvalidArgument("EndSavepoint: action must be RELEASE or ROLLBACK",
                              "ProtocolError")
    state = server.state
    sp_id = bytes(req.savepoint_id)
    txn = _savepoint_transaction(state, sp_id)
    with txn.lock:
        dropped = _end_savepoint(state, txn, sp_id,
                                 release=req.action == act.END_SAVEPOINT_RELEASE)
    with state.lock:
        for s, _ in dropped:
            state.savepoints.pop(s, None)
    return []


def _savepoint_transaction(state: SessionStore, sp_id: bytes) -> Transaction:
    """The open transaction a savepoint belongs to (NOT_FOUND if it has ended)."""
    with state.lock:
        txn_id = state.savepoints.get(sp_id)
        txn = state.transactions.get(txn_id) if txn_id is not None else None
    if txn is None:
        with state.lock:
            state.savepoints.pop(sp_id, None)
        raise NotFound("unknown savepoint (released, rolled back past, or its transaction "
                       "has ended)", "UnknownSavepoint")
    return txn


def _end_savepoint(state: SessionStore, txn: Transaction, sp_id: bytes, *,
                   release: bool) -> list[tuple[bytes, str]]:
    """Release or roll back to a savepoint (caller holds ``txn.lock``); returns the
    savepoints that no longer exist."""
    ids = [s for s, _ in txn.savepoints]
    if sp_id not in ids:
        with state.lock:
            state.savepoints.pop(sp_id, None)
        raise NotFound("unknown savepoint (released or rolled back past)",
                       "UnknownSavepoint")
    i = ids.index(sp_id)
    internal = txn.savepoints[i][1]
    if release:
        txn.sql.release(internal)
    else:
        txn.sql.rollback_to(internal)
        i += 1
    dropped = txn.savepoints[i:]
    del txn.savepoints[i:]
    txn.last_used = time.monotonic()
    return dropped
