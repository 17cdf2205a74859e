"""Statement outcomes: kept by GetFlightInfo as an :class:`Execution`, streamed by DoGet."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from .. import status
from ..metadata import with_column_metadata
from ..sql.interrupt import Interrupt
from . import observe
from .flightinfo import SchemaMemo, command_info, statement_ticket
from .limits import ResultBudget
from .sessions import Execution, SessionStore

if TYPE_CHECKING:
    from .rpc import KodiakFlightServer

# Explicit options: without them pyarrow reads an environment variable on every DoGet.
IPC_OPTIONS = pa.ipc.IpcWriteOptions()


def is_update(result: Any) -> bool:
    """Whether a SQL result is an update's outcome (side effects, no live result set)."""
    rowcount = getattr(result, "rowcount", -1)
    return result.reader is None or (rowcount is not None and rowcount >= 0)


def _annotate(schema: pa.Schema) -> pa.Schema:
    return with_column_metadata(schema)


# A prepared statement answers with the same schema every time: annotate it once
_annotated_schema: SchemaMemo[pa.Schema] = SchemaMemo(_annotate)


def result_schema(schema: pa.Schema | None) -> pa.Schema:
    """A statement's result schema as clients see it: the Flight SQL column metadata on every
    column (JDBC's ResultSetMetaData reads precision, scale, type name from it), and an
    empty schema for a statement without a result set (JDBC then takes the update path)."""
    return _annotated_schema(schema) if schema is not None else pa.schema([])


def register_execution(server: KodiakFlightServer, result: Any,
                       interrupt: Interrupt) -> Execution:
    """Keep a statement's outcome under a new handle, for the DoGet of its ticket."""
    handle = secrets.token_bytes(16)
    if is_update(result):
        # Side effects have happened; keep the (small) outcome, not a live reader.
        table = result.reader.read_all() if result.reader is not None \
            else (result.schema or pa.schema([])).empty_table()
        ex = Execution(handle, table.schema, table=_annotated(table), rowcount=result.rowcount)
    elif getattr(result, "table", None) is not None:
        # computed in memory anyway (a key lookup, a sort, a small aggregate): DoGet sends
        # it from C++ without pulling batches through a Python generator
        ex = Execution(handle, result.table.schema, table=_annotated(result.table))
    else:
        reader = result.reader
        ex = Execution(handle, result_schema(reader.schema), reader=reader,
                       interrupt=interrupt, query=observe.current())
        if ex.query is not None:
            ex.query.deferred = True  # it runs while its result streams
    if ex.reader is None and interrupt is not None:
        interrupt.release()  # computed already: the query is over
    if ex.table is not None:
        ex.schema = ex.table.schema
    server.state.add_execution(ex)
    return ex


def answered(server: KodiakFlightServer, rowcount: int) -> Execution:
    """An execution that runs nothing: the outcome of an update that already ran."""
    ex = Execution(secrets.token_bytes(16), pa.schema([]), table=pa.table({}),
                   rowcount=rowcount)
    server.state.add_execution(ex)
    return ex


def _annotated(table: pa.Table) -> pa.Table:
    """``table`` under its :func:`result_schema` (the same buffers)."""
    if table.num_columns == 0:
        return table
    return pa.Table.from_arrays(table.columns, schema=result_schema(table.schema))


def statement_info(descriptor: flight.FlightDescriptor, ex: Execution) -> flight.FlightInfo:
    """The FlightInfo answering a statement: one endpoint whose ticket names ``ex``."""
    ticket = statement_ticket(ex.handle)
    total = -1
    if ex.table is not None:
        # A statement without a result set reports the rows it affected (ADBC turns
        # total_records into the DB-API rowcount); a result set reports its length.
        affected = ex.table.num_columns == 0 and ex.rowcount is not None and ex.rowcount >= 0
        total = int(ex.rowcount) if affected else ex.table.num_rows
    return command_info(ex.schema, descriptor.command, ticket, total)


def stream(server: KodiakFlightServer, ex: Execution) -> flight.FlightDataStream:
    """DoGet's answer for an execution: its table, or its reader batch by batch (cancellable
    while it streams)."""
    if ex.table is not None:
        nbytes = result_bytes(ex.table, server.limits.max_result_bytes)
        server.metrics.streamed(ex.table.num_rows, nbytes)
        with status.mapped("DoGet"):
            ResultBudget(server.limits.max_result_bytes).add(nbytes)
        return flight.RecordBatchStream(ex.table, options=IPC_OPTIONS)
    q = ex.query
    try:
        ex.interrupt.check()
    except Exception as e:
        ex.query = None
        ex.close()
        out = status.to_flight(e)
        if q is not None:
            q.end(observe.outcome_of(out), out)
            out = observe.with_query_id(out, q.id)
        raise out from None
    state = server.state
    with state.lock:
        state.streaming[ex.handle] = ex
    budget = ResultBudget(server.limits.max_result_bytes)
    batches = observe.streamed(server.metrics, q,
                               status.guard("DoGet", _batches(state, ex, budget)))
    return flight.GeneratorStream(ex.schema, batches, options=IPC_OPTIONS)


# Up to this size a result counts its whole buffers (see ``result_bytes``).
SMALL_RESULT = 64 * 1024


def result_bytes(table: pa.Table, limit: int | None) -> int:
    """The bytes ``table`` sends, for the metrics and ``max_result_bytes``. ``nbytes`` walks
    every buffer's slice (~20 µs for a one-row, ten-column lookup); the whole buffers' size
    is read at once (~0.5 µs) and is an upper bound. When that bound is small and within the
    limit, the limit refuses nothing either way, so it is counted instead (a small result
    built by ``take`` differs only by the buffers' padding); else the exact figure."""
    total = table.get_total_buffer_size()
    if total <= SMALL_RESULT and (limit is None or total <= limit):
        return total
    return table.nbytes


def _batches(state: SessionStore, ex: Execution,
             budget: ResultBudget) -> Iterator[pa.RecordBatch]:
    """The batches of a streaming execution, checking its interrupt between batches; it is
    closed and no longer cancellable once the stream ends."""
    try:
        reader = ex.reader
        while True:
            # also checked by every scan, in the middle of Acero's work
            ex.interrupt.check()
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            budget.add(batch.nbytes)
            # the schema FlightInfo announced, column metadata included
            yield pa.RecordBatch.from_arrays(batch.columns, schema=ex.schema)
    finally:
        with state.lock:
            state.streaming.pop(ex.handle, None)
        ex.close()
