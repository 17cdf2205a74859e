"""Bulk ingest: DoPut of ``CommandStatementIngest``, streamed into a table batch by batch.

The upload is read ahead (``kodiak_flight.prefetch``) while the engine stores it, through
``Session.ingest`` (the SQL layer's one ingest path, shared with ``kodiak import``), in the
client's transaction when it names one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.flight as flight

from ..flightsql import pb
from ..prefetch import prefetch
from ..sql.ingest import IngestTarget
from ..status import InvalidArgument, NotFound
from .sessions import ClientSession
from .statements import CALL, CallWatch, check_finished, transaction_id

if TYPE_CHECKING:
    from .rpc import KodiakFlightServer

_OPTIONS = pb.CommandStatementIngest.TableDefinitionOptions
CREATE = _OPTIONS.TABLE_NOT_EXIST_OPTION_CREATE
NOT_EXIST_FAIL = _OPTIONS.TABLE_NOT_EXIST_OPTION_FAIL
EXISTS_FAIL = _OPTIONS.TABLE_EXISTS_OPTION_FAIL
APPEND = _OPTIONS.TABLE_EXISTS_OPTION_APPEND
REPLACE = _OPTIONS.TABLE_EXISTS_OPTION_REPLACE
_IF_EXISTS = {EXISTS_FAIL: "fail", APPEND: "append", REPLACE: "replace"}


def ingest(server: KodiakFlightServer, client: ClientSession, cmd: pb.CommandStatementIngest,
           reader: flight.MetadataRecordBatchReader) -> int:
    """Store the uploaded batches as ``cmd`` asks; returns the number of rows inserted.
    The SQL layer's one ingest path resolves the name, checks it and loads the rows."""
    check_request(server, cmd)
    txn_id = transaction_id(cmd)
    txn = server.state.transaction(txn_id, client) if txn_id else None
    opts = cmd.table_definition_options
    target = IngestTarget(cmd.table, cmd.schema if cmd.HasField("schema") and cmd.schema
                          else None, "create" if opts.if_not_exist == CREATE else "fail",
                          _IF_EXISTS[opts.if_exists], temporary=cmd.temporary)
    incoming = reader.schema.remove_metadata()
    stream = pa.RecordBatchReader.from_batches(
        incoming, finished(prefetch(put_batches(reader, incoming), depth=4), CALL.get()))
    if txn is None:
        with client.lock:
            return client.sql.ingest(target, stream)
    with txn.lock:
        txn.ensure_begun()
        return txn.sql.ingest(target, stream)


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


def finished(batches: Iterator[pa.RecordBatch], call: CallWatch | None
             ) -> Iterator[pa.RecordBatch]:
    """The upload's batches, then a check that it ended because the client finished it: a
    stream the client cancelled (an error on its side, a deadline) reads as ended too, and
    what it sent must not be stored as if it were the whole upload."""
    yield from batches
    check_finished(call, "ingest: the client cancelled the upload before it ended; "
                         "nothing was stored")


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
