"""The metrics port: ``GET /metrics`` (Prometheus text or OpenMetrics, as the scraper asks)
and ``GET /healthz`` (200 ``ok`` while serving, 503 ``draining`` while shutting down)."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from .health import Health

log = logging.getLogger("kodiak.metrics")


class MetricsHttpServer:
    """Serves ``registry`` and ``health`` over HTTP on ``host:port`` in a thread of its own."""

    def __init__(self, registry: CollectorRegistry, health: Health, host: str,
                 port: int) -> None:
        handler = type("Handler", (_Handler,), {"registry": registry, "health": health})
        server_class = _V6Server if ":" in host else ThreadingHTTPServer
        self._httpd = server_class((host.strip("[]"), port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="kodiak-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _V6Server(ThreadingHTTPServer):
    import socket

    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    health: Health

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._answer(200, encoder(self.registry), content_type)
        elif path == "/healthz":
            ok = self.health.serving
            self._answer(200 if ok else 503, b"ok\n" if ok else b"draining\n",
                         "text/plain; charset=utf-8")
        else:
            self._answer(404, b"not found: try /metrics or /healthz\n",
                         "text/plain; charset=utf-8")

    def _answer(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # scrapes are not news
        log.debug("%s " + format, self.address_string(), *args)
