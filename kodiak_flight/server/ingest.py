"""Bulk ingest: DoPut of ``CommandStatementIngest``, streamed into a table batch by batch.

The upload is read ahead (``kodiak_flight.prefetch``) while the engine stores it; it goes
straight to the engine's transaction API, in the client's transaction when it names one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from ..flightsql import pb
from ..prefetch import prefetch
from ..status import InvalidArgument, NotFound
from .sessions import ClientSession, Transaction
from .statements import transaction_id

if TYPE_CHECKING:
    from .rpc import KodiakFlightServer

_OPTIONS = pb.CommandStatementIngest.TableDefinitionOptions
CREATE = _OPTIONS.TABLE_NOT_EXIST_OPTION_CREATE
NOT_EXIST_FAIL = _OPTIONS.TABLE_NOT_EXIST_OPTION_FAIL
EXISTS_FAIL = _OPTIONS.TABLE_EXISTS_OPTION_FAIL
APPEND = _OPTIONS.TABLE_EXISTS_OPTION_APPEND
REPLACE = _OPTIONS.TABLE_EXISTS_OPTION_REPLACE


def ingest(server: KodiakFlightServer, client: ClientSession, cmd: pb.CommandStatementIngest,
           reader: flight.MetadataRecordBatchReader) -> int:
    """Store the uploaded batches as ``cmd`` asks; returns the number of rows inserted."""
    check_request(server, cmd)
    txn_id = transaction_id(cmd)
    txn = server.state.transaction(txn_id, client) if txn_id else None
    schema_name, name = _target(cmd, client, txn)
    incoming = reader.schema.remove_metadata()
    stream = pa.RecordBatchReader.from_batches(
        incoming, prefetch(put_batches(reader, incoming), depth=4))

    def load(tx: Any) -> int:
        return _load(tx, cmd, schema_name, name, incoming, stream)

    if txn is None:
        return _in_new_transaction(server.db, load)
    with txn.lock:
        txn.ensure_begun()
        return load(engine_transaction(txn.sql))


def check_request(server: KodiakFlightServer, cmd: pb.CommandStatementIngest) -> None:
    """Refuse options Kodiak does not know and a request naming no table or another catalog."""
    opts = cmd.table_definition_options
    if opts.if_not_exist not in (CREATE, NOT_EXIST_FAIL):
        raise InvalidArgument("ingest: table_definition_options.if_not_exist must be CREATE "
                              "or FAIL", "ProtocolError")
    if opts.if_exists not in (EXISTS_FAIL, APPEND, REPLACE):
        raise InvalidArgument("ingest: table_definition_options.if_exists must be FAIL, "
                              "APPEND or REPLACE", "ProtocolError")
    if cmd.temporary and cmd.HasField("schema") and cmd.schema:
        raise InvalidArgument("ingest: a temporary table has no schema (it lives in the "
                              "connection's temporary space)", "ProtocolError")
    if not cmd.table:
        raise InvalidArgument("ingest: no target table named", "ProtocolError")
    if cmd.HasField("catalog") and cmd.catalog not in ("", server.catalog):
        raise NotFound(f"ingest: catalog {cmd.catalog!r} does not exist (the only catalog is "
                       f"{server.catalog!r})", "NotFound")


def _target(cmd: pb.CommandStatementIngest, client: ClientSession,
            txn: Transaction | None) -> tuple[str, str]:
    """The schema and qualified name of the table to load."""
    sql = txn.sql if txn is not None else client.sql
    schema_name = cmd.schema if cmd.HasField("schema") and cmd.schema else sql.schema
    name = f"{schema_name}.{cmd.table}"
    if cmd.temporary:  # dropped when the connection's session closes
        name = sql.temp_table(cmd.table)
        schema_name = name.split(".", 1)[0]
    return schema_name, name


def _load(tx: Any, cmd: pb.CommandStatementIngest, schema_name: str, name: str,
          incoming: pa.Schema, stream: pa.RecordBatchReader) -> int:
    """Create, replace or append to the table in engine transaction ``tx``; insert."""
    opts = cmd.table_definition_options
    if cmd.temporary:
        tx.create_schema(schema_name, if_not_exists=True)
    snap = tx.snapshot()
    if schema_name not in snap.schemas():
        raise NotFound(f"ingest: schema {schema_name!r} does not exist", "NotFound")
    if snap.has_table(name):
        if opts.if_exists == EXISTS_FAIL:
            raise InvalidArgument(f"ingest: table {name!r} already exists", "AlreadyExists")
        if opts.if_exists == REPLACE:
            tx.drop_table(name)
            tx.create_table(name, incoming)
    else:
        if opts.if_not_exist == NOT_EXIST_FAIL:
            raise NotFound(f"ingest: table {name!r} does not exist", "NotFound")
        tx.create_table(name, incoming)
    return tx.insert(name, stream)


def _in_new_transaction(db: Any, load: Callable[[Any], int]) -> int:
    """``load`` in an engine transaction of its own, committed (rolled back on failure)."""
    tx = db.begin()
    try:
        count = load(tx)
        tx.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            tx.rollback()
        raise
    return count


def engine_transaction(sql: Any) -> Any:
    """The engine transaction a SQL session has open (for ingest inside a transaction)."""
    tx = sql.transaction
    if tx is None:  # pragma: no cover - ensure_begun() opened it
        raise InvalidArgument("ingest inside a transaction: the transaction is not open",
                              "TransactionError")
    return tx


def put_batches(reader: flight.MetadataRecordBatchReader,
                schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The record batches of a DoPut stream, one at a time (never the whole upload)."""
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            return
        batch = chunk.data
        if batch is None:
            continue
        if batch.schema.metadata:
            batch = batch.replace_schema_metadata(None)
        if not batch.schema.equals(schema):
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        yield batch
