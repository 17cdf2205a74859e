"""Flight SQL commands sent bare (not packed in ``google.protobuf.Any``), read only when the
bytes can mean one command.

Some clients (``@firetiger-oss/flight-sql-client`` for most of its metadata calls) put the
serialized command in the descriptor without its Any wrapper, so nothing says which message
it is. A bare message is read as a command the RPC takes only when exactly one of the
commands the specification allows for that RPC decodes it and encodes back to the same bytes;
when several do (an empty message is every metadata command without arguments; a message
whose fields are strings 1..3 is GetTables, GetPrimaryKeys and both key commands), it is
refused naming them, never guessed.
"""

from __future__ import annotations

from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from .proto import FlightSql_pb2 as pb
from .status import InvalidArgument

_QUERIES = (
    pb.CommandStatementQuery, pb.CommandStatementSubstraitPlan,
    pb.CommandPreparedStatementQuery, pb.CommandGetSqlInfo, pb.CommandGetXdbcTypeInfo,
    pb.CommandGetCatalogs, pb.CommandGetDbSchemas, pb.CommandGetTables,
    pb.CommandGetTableTypes, pb.CommandGetPrimaryKeys, pb.CommandGetExportedKeys,
    pb.CommandGetImportedKeys, pb.CommandGetCrossReference,
)

# What the specification lets a client send with each RPC that takes a command descriptor.
CANDIDATES: dict[str, tuple[type[Message], ...]] = {
    "GetFlightInfo": _QUERIES,
    "GetSchema": _QUERIES,
    "DoPut": (pb.CommandStatementUpdate, pb.CommandStatementIngest,
              pb.CommandStatementSubstraitPlan, pb.CommandPreparedStatementQuery,
              pb.CommandPreparedStatementUpdate),
}


def looks_packed(data: bytes) -> bool:
    """Whether ``data`` reads as an Any with a type URL (then it is not read bare)."""
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError):
        return False
    return "/" in wrapper.type_url


def readings(data: bytes, rpc: str) -> list[Message]:
    """The commands ``rpc`` takes that ``data`` is exactly the encoding of."""
    out = []
    for cls in CANDIDATES.get(rpc, ()):
        msg = cls()
        try:
            msg.ParseFromString(data)
        except (DecodeError, ValueError, RuntimeError):
            continue
        msg.DiscardUnknownFields()  # kept fields it has no number for would re-encode
        if msg.SerializeToString(deterministic=True) == data:
            out.append(msg)
    return out


def read_bare(data: bytes, rpc: str) -> Message | None:
    """The one command a bare ``data`` can be; an error naming the commands when it could
    be several; None when it is none of them (the caller's own error applies)."""
    if looks_packed(data):
        return None
    found = readings(data, rpc)
    if len(found) == 1:
        return found[0]
    if not found:
        return None
    names = ", ".join(type(m).__name__ for m in found)
    what = "an empty command" if not data else "a command that is not packed in " \
        "google.protobuf.Any"
    raise InvalidArgument(
        f"{what} cannot be read: it could be any of {names} (a Flight SQL message must be "
        "sent packed in google.protobuf.Any, which names its type)", "ProtocolError")
