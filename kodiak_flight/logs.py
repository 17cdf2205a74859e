"""Log formats (text or JSON lines) and the query id every log line of a query carries.

The server runs each statement under :func:`query_context`; every record logged meanwhile on
that thread (by the server, the SQL layer, the engine) gets a ``query_id`` attribute, which
both formats print. ``kodiak serve --log-format json`` writes one JSON object per line:
``{"ts", "level", "logger", "message", "query_id"?, "exc"?}``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")

QUERY_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("kodiak_query_id",
                                                                     default=None)


class query_context:  # noqa: N801 - used as a function
    """Log lines written inside the block (on this thread) carry ``query_id``. (A class:
    every statement enters one, and a generator context manager costs five times more.)"""

    __slots__ = ("query_id", "token")

    def __init__(self, query_id: str) -> None:
        self.query_id = query_id

    def __enter__(self) -> None:
        self.token = QUERY_ID.set(self.query_id)

    def __exit__(self, *exc: Any) -> None:
        QUERY_ID.reset(self.token)


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Give every log record made from now on the current query id (idempotent): for
    every handler, not only the ones :func:`configure` sets up."""
    global _installed
    with _install_lock:
        if _installed:
            return
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            record.query_id = QUERY_ID.get()
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


class QueryIdFilter(logging.Filter):
    """Put the current query id (or None) on every record as ``query_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "query_id", None) is None:
            record.query_id = QUERY_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [query ID]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        query_id = getattr(record, "query_id", None)
        if query_id is None:
            return text
        first, nl, rest = text.partition("\n")  # before a traceback, if any
        return f"{first} [query {query_id}]{nl}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a traceback goes in ``exc``, never across lines)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        query_id = getattr(record, "query_id", None)
        if query_id is not None:
            out["query_id"] = query_id
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "info", fmt: str = "text") -> None:
    """Log to stderr at ``level`` in ``fmt`` (``text`` or ``json``), query ids included."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(QueryIdFilter())
    install()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
