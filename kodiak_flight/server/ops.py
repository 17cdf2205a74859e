"""What an operator watches of a running server: health, metrics, observed queries.

:class:`Operations` ties them together for one server: the metrics registry, the health state,
the query tracker, and the side listeners (gRPC health, HTTP metrics) when their ports are
set. The server drains it when it begins to stop and stops it last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from .. import logs
from .health import GrpcHealthServer, Health
from .metrics import Metrics
from .metrics_http import MetricsHttpServer
from .observe import QueryTracker


class Operations:
    """A server's health, metrics and query tracking (listening once :meth:`listen`)."""

    def __init__(self, db: Any, count_sessions: Callable[[], int]) -> None:
        logs.install()  # log records carry query ids
        self.metrics = Metrics()
        self.health = Health()
        self.queries = QueryTracker(self.metrics)
        self.health.on_drain(lambda: self.metrics.serving.set(0))
        self.metrics.count_sessions(count_sessions)
        self._unsubscribe = self.metrics.observe_engine(db)
        self.grpc_health: GrpcHealthServer | None = None
        self.http: MetricsHttpServer | None = None

    def listen(self, host: str, health_port: int | None, metrics_port: int | None) -> None:
        """Serve gRPC health checks and HTTP metrics on these ports (None: not at all;
        0: a free port, see :attr:`health_port` and :attr:`metrics_port`)."""
        try:
            if health_port is not None:
                self.grpc_health = GrpcHealthServer(self.health, host, health_port)
            if metrics_port is not None:
                self.http = MetricsHttpServer(self.metrics.registry, self.health, host,
                                              metrics_port)
        except BaseException:
            self.stop()
            raise

    @property
    def health_port(self) -> int | None:
        return self.grpc_health.port if self.grpc_health is not None else None

    @property
    def metrics_port(self) -> int | None:
        return self.http.port if self.http is not None else None

    def drain(self) -> None:
        self.health.drain()

    def stop(self) -> None:
        """Stop listening and stop observing the engine."""
        self._unsubscribe()
        for server in (self.grpc_health, self.http):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()
        self.grpc_health = self.http = None


def location_host(location: Any) -> str:
    """The host of a Flight location (a ``grpc://host:port`` string or a Location)."""
    uri = location.uri if hasattr(location, "uri") else location
    if isinstance(uri, bytes):
        uri = uri.decode()
    return urlparse(str(uri)).hostname or "127.0.0.1"
