"""Flight SQL wire codecs: ``google.protobuf.Any`` packing, command decoding, action names.

Commands travel Any-packed in ``FlightDescriptor.cmd`` and in tickets; Flight SQL action bodies
and results are Any-packed too; DoPut answers (``DoPutUpdateResult``,
``DoPutPreparedStatementResult``) and the core Flight session/cancel actions are raw protobuf
bytes.
"""

from __future__ import annotations

import pyarrow as pa
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from .proto import FlightCore_pb2 as core_pb
from .proto import FlightSql_pb2 as pb
from .status import InvalidArgument, Unimplemented

TYPE_URL_PREFIX = "type.googleapis.com/"
SQL_PACKAGE = "arrow.flight.protocol.sql."

# Every Flight SQL message a client may send us Any-packed, by full name.
_KNOWN: dict[str, type[Message]] = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (
        pb.CommandStatementQuery,
        pb.CommandStatementUpdate,
        pb.CommandStatementSubstraitPlan,
        pb.CommandPreparedStatementQuery,
        pb.CommandPreparedStatementUpdate,
        pb.CommandStatementIngest,
        pb.TicketStatementQuery,
        pb.CommandGetSqlInfo,
        pb.CommandGetXdbcTypeInfo,
        pb.CommandGetCatalogs,
        pb.CommandGetDbSchemas,
        pb.CommandGetTables,
        pb.CommandGetTableTypes,
        pb.CommandGetPrimaryKeys,
        pb.CommandGetExportedKeys,
        pb.CommandGetImportedKeys,
        pb.CommandGetCrossReference,
        pb.ActionCreatePreparedStatementRequest,
        pb.ActionCreatePreparedSubstraitPlanRequest,
        pb.ActionClosePreparedStatementRequest,
        pb.ActionBeginTransactionRequest,
        pb.ActionEndTransactionRequest,
        pb.ActionBeginSavepointRequest,
        pb.ActionEndSavepointRequest,
        pb.ActionCancelQueryRequest,
    )
}

METADATA_COMMANDS = (
    pb.CommandGetSqlInfo,
    pb.CommandGetXdbcTypeInfo,
    pb.CommandGetCatalogs,
    pb.CommandGetDbSchemas,
    pb.CommandGetTables,
    pb.CommandGetTableTypes,
    pb.CommandGetPrimaryKeys,
    pb.CommandGetExportedKeys,
    pb.CommandGetImportedKeys,
    pb.CommandGetCrossReference,
)

# DoAction types.
CREATE_PREPARED_STATEMENT = "CreatePreparedStatement"
CREATE_PREPARED_SUBSTRAIT_PLAN = "CreatePreparedSubstraitPlan"
CLOSE_PREPARED_STATEMENT = "ClosePreparedStatement"
BEGIN_TRANSACTION = "BeginTransaction"
END_TRANSACTION = "EndTransaction"
BEGIN_SAVEPOINT = "BeginSavepoint"
END_SAVEPOINT = "EndSavepoint"
CANCEL_QUERY = "CancelQuery"  # deprecated Flight SQL action
CANCEL_FLIGHT_INFO = "CancelFlightInfo"  # core Flight actions from here on
RENEW_FLIGHT_ENDPOINT = "RenewFlightEndpoint"
SET_SESSION_OPTIONS = "SetSessionOptions"
GET_SESSION_OPTIONS = "GetSessionOptions"
CLOSE_SESSION = "CloseSession"


def pack(msg: Message) -> bytes:
    """``msg`` wrapped in ``google.protobuf.Any`` and serialized."""
    wrapper = any_pb2.Any()
    wrapper.Pack(msg, type_url_prefix=TYPE_URL_PREFIX)
    return wrapper.SerializeToString()


# Some clients send a Flight SQL message bare instead of packed in Any, for some calls only.
_UNWRAPPED = (" (a Flight SQL message must be sent packed in google.protobuf.Any; "
              "was it sent bare?)")


def unpack(data: bytes, *, what: str = "command") -> Message:
    """Decode an Any-packed Flight SQL message; clear errors for garbage and unknown types."""
    if not data:
        raise InvalidArgument(f"empty {what}: expected a Flight SQL message packed in "
                              "google.protobuf.Any", "ProtocolError")
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RuntimeError):
        raise InvalidArgument(f"malformed {what}: not a protobuf-encoded google.protobuf.Any",
                              "ProtocolError") from None
    url = wrapper.type_url
    if not url:
        raise InvalidArgument(f"malformed {what}: google.protobuf.Any without a type_url"
                              f"{_UNWRAPPED}", "ProtocolError")
    if "/" not in url:  # a bare message's first string field read as the type URL
        raise InvalidArgument(f"malformed {what}: its type URL would be {url[:60]!r}"
                              f"{_UNWRAPPED}", "ProtocolError")
    name = url.rsplit("/", 1)[-1]
    cls = _KNOWN.get(name)
    if cls is None:
        if name.startswith(SQL_PACKAGE):
            raise Unimplemented(f"Flight SQL {what} {name.removeprefix(SQL_PACKAGE)} is not "
                                "supported by Kodiak", "UnsupportedCommand")
        raise InvalidArgument(f"unknown {what} type {url!r}: Kodiak speaks Flight SQL "
                              f"({SQL_PACKAGE}*)", "ProtocolError")
    msg = cls()
    try:
        msg.ParseFromString(wrapper.value)
    except (DecodeError, ValueError, RuntimeError):
        raise InvalidArgument(f"malformed {what}: {name} does not decode",
                              "ProtocolError") from None
    return msg


def parse_raw(cls: type[Message], data: bytes, *, what: str) -> Message:
    """Decode a raw (not Any-packed) protobuf message such as a core Flight action body."""
    msg = cls()
    try:
        msg.ParseFromString(bytes(data or b""))
    except (DecodeError, ValueError, RuntimeError):
        raise InvalidArgument(f"malformed {what} body", "ProtocolError") from None
    return msg


def update_result(count: int) -> bytes:
    """PutResult.app_metadata answering an update or ingest (raw DoPutUpdateResult)."""
    return pb.DoPutUpdateResult(record_count=int(count)).SerializeToString()


def prepared_put_result(handle: bytes) -> bytes:
    """PutResult.app_metadata answering a parameter bind (raw DoPutPreparedStatementResult)."""
    return pb.DoPutPreparedStatementResult(prepared_statement_handle=handle).SerializeToString()


def serialize_schema(schema: pa.Schema | None) -> bytes:
    """IPC-encapsulated schema bytes as Flight SQL fields expect (empty for None)."""
    if schema is None:
        return b""
    return schema.serialize().to_pybytes()


__all__ = [
    "METADATA_COMMANDS",
    "core_pb",
    "pack",
    "parse_raw",
    "pb",
    "prepared_put_result",
    "serialize_schema",
    "unpack",
    "update_result",
]
