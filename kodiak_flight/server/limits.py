"""Resource limits of a server: sessions, queries per user, statement, result and memory size.

Each refusal is a :class:`~kodiak_flight.sql.errors.ResourceExhausted` error whose message
names the setting; ``status`` turns it into the Flight status the client sees.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..sql.errors import ResourceExhausted
from ..sql.interrupt import Interrupt
from ..sql.memory import MemoryLimits, show_size


@dataclass(frozen=True)
class Limits:
    """The configured limits (None: no limit); sizes in bytes."""

    memory_limit: int | None = None
    query_memory_limit: int | None = None
    max_sessions: int | None = None
    max_queries_per_user: int | None = None
    max_result_bytes: int | None = None
    max_statement_bytes: int | None = None

    def check(self) -> None:
        for name, value in vars(self).items():
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive (or None for no limit)")


def check_statement(limits: Limits, query: str) -> None:
    """Refuse SQL text longer than ``max_statement_bytes`` before anything parses it."""
    limit = limits.max_statement_bytes
    if limit is not None and len(query) > limit // 4 and len(query.encode("utf-8")) > limit:
        raise ResourceExhausted(
            f"the statement is {show_size(len(query.encode('utf-8')))}, over the limit of "
            f"{show_size(limit)} (serve.max_statement_bytes)")


def check_sessions(limits: Limits, open_sessions: int) -> None:
    """Refuse a new session when ``max_sessions`` are open."""
    if limits.max_sessions is not None and open_sessions >= limits.max_sessions:
        raise ResourceExhausted(
            f"the server has its maximum of {limits.max_sessions} sessions open "
            "(serve.max_sessions); close a connection or try again later", retry=True)


class QuerySlots:
    """Queries running per user (from GetFlightInfo until their result is read or dropped)."""

    def __init__(self, per_user: int | None) -> None:
        self.per_user = per_user
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()

    def take(self, user: str, interrupt: Interrupt) -> None:
        if self.per_user is None:
            return
        with self._lock:
            if self._running[user] >= self.per_user:
                raise ResourceExhausted(
                    f"{user} already has {self.per_user} queries running "
                    "(serve.max_queries_per_user); read or close their results first",
                    retry=True)
            self._running[user] += 1
        interrupt.on_release(weakref.finalize(interrupt, self._give_back, user))

    def _give_back(self, user: str) -> None:
        with self._lock:
            self._running[user] -= 1
            if self._running[user] <= 0:
                del self._running[user]


class ResultBudget:
    """Counts a result's bytes as they stream; over ``max_result_bytes`` it stops them."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.sent = 0

    def add(self, nbytes: int) -> None:
        self.sent += nbytes
        if self.limit is not None and self.sent > self.limit:
            raise ResourceExhausted(
                f"the result passed the limit of {show_size(self.limit)} "
                "(serve.max_result_bytes) and was stopped; add a LIMIT or fewer columns")


def memory_limits(limits: Limits) -> MemoryLimits:
    return MemoryLimits(limits.memory_limit, limits.query_memory_limit)


def admit(server: Any, user: str, interrupt: Interrupt) -> None:
    """Let a query run: its user's query slot, its memory watch."""
    server.query_slots.take(user, interrupt)
    server.memory.attach(interrupt)
