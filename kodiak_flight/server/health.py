"""Whether the server is serving: the gRPC health-checking service and its shared state.

``grpc.health.v1.Health`` (the standard protocol Kubernetes' ``grpc`` probes and
``grpc_health_probe`` speak) answers SERVING until the server begins to shut down, then
NOT_SERVING while it drains. It cannot be served on the Flight port: pyarrow's
``FlightServerBase`` is Arrow C++'s gRPC server, built and started inside Arrow; the C++ hook
that could add a service to it (``FlightServerOptions::builder_hook``) is not exposed to
Python, and a C++ service would be needed anyway (apache/arrow#33129 asks for exactly this).
So :class:`GrpcHealthServer` serves it with ``grpcio`` on a port of its own
(``--health-port``); the same state answers ``/healthz`` on the metrics port and the Flight
action ``kodiak.health``.
"""

from __future__ import annotations

import threading
from concurrent import futures

SERVICES = ("", "arrow.flight.protocol.FlightService",
            "arrow.flight.protocol.sql.FlightSqlService")  # "": the server as a whole


class Health:
    """SERVING until :meth:`drain`; listeners are told when draining begins."""

    def __init__(self) -> None:
        self._draining = threading.Event()
        self._listeners: list = []

    @property
    def serving(self) -> bool:
        return not self._draining.is_set()

    @property
    def status(self) -> str:
        return "SERVING" if self.serving else "NOT_SERVING"

    def on_drain(self, listener) -> None:  # type: ignore[no-untyped-def]
        self._listeners.append(listener)
        if not self.serving:
            listener()

    def drain(self) -> None:
        """The server is stopping: answer NOT_SERVING from now on."""
        if self._draining.is_set():
            return
        self._draining.set()
        for listener in self._listeners:
            listener()


class GrpcHealthServer:
    """``grpc.health.v1.Health`` on ``host:port`` (plaintext: probes do not speak TLS, and
    it tells nothing but whether the server is serving)."""

    def __init__(self, health: Health, host: str, port: int) -> None:
        import grpc
        from grpc_health.v1 import health as grpc_health
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        self._servicer = grpc_health.HealthServicer()
        for service in SERVICES:
            self._servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
        self._server = grpc.server(futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="kodiak-health"))
        health_pb2_grpc.add_HealthServicer_to_server(self._servicer, self._server)
        address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") \
            else f"{host}:{port}"
        self.port = self._server.add_insecure_port(address)
        if not self.port:
            raise OSError(f"cannot listen for health checks on {address}")
        self._server.start()
        health.on_drain(self._servicer.enter_graceful_shutdown)

    def stop(self) -> None:
        self._server.stop(grace=None).wait(timeout=5)
