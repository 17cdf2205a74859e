"""The procedural side's limits: how deep calls nest, how many turns a loop may take, how
many background jobs run at once and for how long.

:class:`PlOptions` is what a server (or an embedded user) gives the SQL layer: the CLI reads
``serve.pl_max_depth``, ``serve.pl_max_stack``, ``serve.pl_max_loop_iterations``,
``serve.job_workers`` and ``serve.job_timeout`` from flags and the config file and passes
them down; the SQL layer never reads the CLI's settings itself. A session may lower the
first three with ``SET pl_max_depth = N`` (``settings.py``), never raise them above the
server's: :func:`limits_of` is what the interpreter checks against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .variables import CallLimits


@dataclass(frozen=True)
class PlOptions:
    """A server's limits for scripts, functions and jobs (defaults: the built-in ones)."""

    max_depth: int = CallLimits.max_depth
    max_stack: int = CallLimits.max_stack
    max_loop_iterations: int | None = None  # turns of one WHILE/FOR; None: no limit
    job_workers: int = 2  # as ``jobs.DEFAULT_WORKERS`` (not imported: the interpreter
    # imports this module, and ``jobs`` imports the catalog, whose views import ``jobs``)
    job_timeout: float | None = None  # seconds a job may run; None: no limit

    def check(self) -> None:
        for name in ("max_depth", "max_stack", "max_loop_iterations", "job_workers",
                     "job_timeout"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be positive, not {v}")

    def call_limits(self) -> CallLimits:
        return CallLimits(self.max_depth, self.max_stack, self.max_loop_iterations)

    def ceilings(self) -> dict[str, tuple[Any, str]]:
        """The session settings' highest values and the server settings that set them."""
        return {"pl_max_depth": (self.max_depth, "serve.pl_max_depth"),
                "pl_max_stack": (self.max_stack, "serve.pl_max_stack"),
                "pl_max_loop_iterations": (self.max_loop_iterations,
                                           "serve.pl_max_loop_iterations"),
                "job_timeout": (self.job_timeout, "serve.job_timeout")}


def apply_to_database(db: Any, options: PlOptions) -> None:
    """Size the database's job pool and give its jobs their timeout."""
    from .jobs import jobs_for

    jobs = jobs_for(db)
    jobs.workers = options.job_workers
    jobs.timeout = options.job_timeout


def apply_to_session(session: Any, options: PlOptions) -> None:
    """A server's new session: its call limits, and the session settings' ceilings."""
    session.variables.limits = options.call_limits()
    session.settings.ceilings.update(options.ceilings())


def limits_of(session: Any) -> CallLimits:
    """The limits a session's calls and loops run under: its ``SET pl_...`` values where
    set, else its (server's) limits."""
    base: CallLimits = session.variables.limits
    values = session.settings.values
    if not any(k in values for k in ("pl_max_depth", "pl_max_stack",
                                     "pl_max_loop_iterations")):
        return base
    return CallLimits(values.get("pl_max_depth", base.max_depth),
                      values.get("pl_max_stack", base.max_stack),
                      values.get("pl_max_loop_iterations", base.max_loop_iterations))


__all__ = ["PlOptions", "apply_to_database", "apply_to_session", "limits_of"]
