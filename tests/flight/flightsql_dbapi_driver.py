"""Runs flightsql-dbapi in a process of its own, driven over stdin/stdout.

The client runs apart from the server under test, as a remote client would (Kodiak's
protobuf classes live in a descriptor pool of their own, so the two could share a process:
``test_flightsql_dbapi.test_same_process``). ``test_flightsql_dbapi.py`` starts this script
and sends it one JSON request per line:

* ``{"exec": "python statements"}`` runs them in a namespace kept between requests;
* ``{"eval": "python expression"}`` evaluates it;

and reads one JSON line back: ``{"ok": value}`` or ``{"error": "ArrowInvalid", "message": ...}``.
The namespace starts with ``flightsql``, ``FlightSQLClient``, ``TableRef``, ``connect``,
``pa`` and ``read(info)`` (DoGet of a FlightInfo's first endpoint, as a pyarrow Table).
"""

from __future__ import annotations

import datetime
import decimal
import json
import sys
import traceback
from typing import Any

import flightsql
import pyarrow as pa
from flightsql import FlightSQLClient, TableRef, connect

assert "kodiak_flight" not in sys.modules


def _plain(o: Any) -> Any:
    if isinstance(o, bytes):
        return {"bytes": o.hex()}
    if isinstance(o, type):
        return o.__name__
    if isinstance(o, datetime.date | datetime.time | datetime.datetime):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if isinstance(o, tuple | set):
        return list(o)
    return repr(o)


def main() -> None:
    ns: dict[str, Any] = {"flightsql": flightsql, "FlightSQLClient": FlightSQLClient,
                          "TableRef": TableRef, "connect": connect, "pa": pa}
    ns["read"] = lambda info: ns["client"].do_get(info.endpoints[0].ticket).read_all()
    print(json.dumps({"ok": "ready"}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if "exec" in req:
                exec(req["exec"], ns)
                out: dict[str, Any] = {"ok": None}
            else:
                out = {"ok": eval(req["eval"], ns)}
            text = json.dumps(out, default=_plain)
        except Exception as exc:
            text = json.dumps({"error": type(exc).__name__, "message": str(exc),
                               "traceback": traceback.format_exc()})
        print(text, flush=True)


if __name__ == "__main__":
    main()
