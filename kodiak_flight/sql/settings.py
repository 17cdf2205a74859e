"""Session settings: ``SET memory_limit = '64MiB'``, ``SET query_timeout = 30``, ``RESET``.

A few names set a setting of the session instead of a variable (``statements/variables.py``
asks :data:`SETTINGS` first, so these names win over variables). Each applies to every
statement the session runs from then on, through the statement's
:class:`~.interrupt.Interrupt`. A server caps each with its own setting (``ceilings``): a
session may lower a limit, never raise it above the server's.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from .errors import BindError
from .memory import MemoryLimits, parse_size, show_size


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any]  # the SET value (a Python value) -> the setting's value
    show: Callable[[Any], str]
    meaning: str


SETTINGS: dict[str, Setting] = {}


def register(s: Setting) -> Setting:
    SETTINGS[s.name] = s
    return s


def _size(v: Any) -> int:
    try:
        n = parse_size(v)
    except ValueError:
        n = 0
    if n <= 0:
        raise BindError(f"memory_limit must be a size such as '64MiB' or a number of bytes "
                        f"(got {v!r})")
    return n


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|min|minutes?)?\s*$")
_SECONDS = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
            "min": 60.0, "minute": 60.0, "minutes": 60.0}


def _seconds(v: Any) -> float:
    # SQL's 0.5 arrives as a Decimal: a number of seconds like any other
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool) and v > 0:
        return float(v)
    m = _DURATION.match(str(v)) if isinstance(v, str) else None
    if m is None or float(m.group(1)) <= 0:
        shown = str(v) if isinstance(v, Decimal) else repr(v)  # as typed: -0.5, 'soon'
        raise BindError("query_timeout must be a number of seconds or a duration such as "
                        f"'30s', '500ms', '2min' (got {shown})")
    return float(m.group(1)) * _SECONDS[m.group(2)]


MEMORY_LIMIT = register(Setting(
    "memory_limit", _size, show_size,
    "memory one statement of this session may allocate; over it the statement is stopped"))


def _count(name: str) -> Callable[[Any], int]:
    def parse(v: Any) -> int:
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
        raise BindError(f"{name} must be a positive whole number (got {v!r})")
    return parse


QUERY_TIMEOUT = register(Setting(
    "query_timeout", _seconds, lambda s: f"{s:g} s",
    "seconds one statement of this session may run before it is stopped"))
for _name, _meaning in (
        ("pl_max_depth", "nested calls of one function (recursion) a script may make"),
        ("pl_max_stack", "nested calls of functions in all a script may make"),
        ("pl_max_loop_iterations", "turns one WHILE or FOR loop of a script may take")):
    register(Setting(_name, _count(_name), str, _meaning))


def _job_seconds(v: Any) -> float:
    try:
        return _seconds(v)
    except BindError:
        raise BindError("job_timeout must be a number of seconds or a duration such as "
                        f"'30s', '500ms', '2min' (got {v!r})") from None


JOB_TIMEOUT = register(Setting(
    "job_timeout", _job_seconds, lambda s: f"{s:g} s",
    "seconds a background job this session starts (CALL of an AS ASYNC function) may run"))


@dataclass
class SessionSettings:
    """One session's settings (shared with the sessions of its transactions)."""

    values: dict[str, Any] = field(default_factory=dict)
    # name -> (the highest value allowed, the server setting's name), set by a server
    ceilings: dict[str, tuple[Any, str]] = field(default_factory=dict)
    _memory: MemoryLimits | None = None
    _applied: weakref.WeakSet = field(default_factory=weakref.WeakSet)

    def set(self, name: str, value: pa.Scalar) -> None:
        s = SETTINGS[name.lower()]
        v = s.parse(value.as_py())
        cap = self.ceilings.get(s.name)
        if cap is not None and cap[0] is not None and v > cap[0]:
            raise BindError(f"{s.name} = {s.show(v)} is above this server's limit of "
                            f"{s.show(cap[0])} ({cap[1]}); a session may only lower it")
        self.values[s.name] = v
        if s.name == "memory_limit":
            self._memory = MemoryLimits(per_query=v, names=("memory_limit", "memory_limit"))

    def reset(self, name: str | None = None) -> None:
        """Back to the server's (or no) limit: one setting, or all of them."""
        for n in [name.lower()] if name is not None else list(self.values):
            self.values.pop(n, None)
            if n == "memory_limit":
                self._memory = None

    def shown(self) -> list[dict[str, str | None]]:
        out = []
        for s in SETTINGS.values():
            v = self.values.get(s.name)
            cap = self.ceilings.get(s.name, (None, ""))[0]
            out.append({"name": s.name, "value": None if v is None else s.show(v),
                        "server_limit": None if cap is None else s.show(cap),
                        "meaning": s.meaning})
        return out

    def apply(self, interrupt: Any) -> None:
        """Bind the statement behind ``interrupt`` by this session's settings (once)."""
        if interrupt in self._applied:
            return
        self._applied.add(interrupt)
        timeout = self.values.get("query_timeout")
        if timeout is not None:
            deadline = time.monotonic() + timeout
            if interrupt.deadline is None or deadline < interrupt.deadline:
                interrupt.deadline, interrupt.timeout = deadline, timeout
        if self._memory is not None:
            self._memory.attach(interrupt)


def is_setting(name: str) -> bool:
    return name.lower() in SETTINGS
