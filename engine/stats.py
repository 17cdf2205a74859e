"""What a Database has done durably: commits, WAL fsyncs and checkpoints, with timings.

The engine counts these itself (``db.stats``) and tells observers of each event, so a server
can feed them into whatever monitoring it uses without the engine knowing of it. Observers run
on the thread that did the work, after it is done: they must be quick and must not raise (an
observer that raises is logged and ignored, never failing the commit it was told of).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("kodiak.engine")

EVENTS = ("commit", "wal_fsync", "checkpoint")  # what observers are told of

Observer = Callable[[str, float], None]  # (event, seconds it took)


class EngineStats:
    """Running totals of a Database's durable work, and the observers told of each event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(EVENTS, 0)
        self.seconds: dict[str, float] = dict.fromkeys(EVENTS, 0.0)
        self._observers: tuple[Observer, ...] = ()

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(event, seconds)`` after each event; returns the unsubscriber."""
        with self._lock:
            self._observers += (observer,)

        def unsubscribe() -> None:
            with self._lock:
                self._observers = tuple(o for o in self._observers if o is not observer)
        return unsubscribe

    def record(self, event: str, seconds: float) -> None:
        """Count one ``event`` that took ``seconds`` and tell the observers."""
        with self._lock:
            self.counts[event] += 1
            self.seconds[event] += seconds
        for observer in self._observers:  # a tuple, replaced whole: no lock needed
            try:
                observer(event, seconds)
            except Exception:
                log.exception("an engine stats observer failed on %s", event)

    def snapshot(self) -> dict[str, dict[str, float]]:
        """The totals so far: ``{event: {"count": n, "seconds": s}}``."""
        with self._lock:
            return {e: {"count": self.counts[e], "seconds": self.seconds[e]} for e in EVENTS}
