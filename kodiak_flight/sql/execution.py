"""The execution context: everything one statement runs with, passed to every statement.

A statement module reads what it needs from here rather than from the session: the session
itself (for transaction control and settings), the engine transaction it writes in (None for
a read outside a transaction), the snapshot it reads, its parameters, the interrupt that can
stop it, the files it may touch, and the name resolver. The coming secrets manager, attached
sources and extra file systems get their fields here, so statements that need them receive
them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .binder import Context
from .catalog import Resolver
from .interrupt import Interrupt

if TYPE_CHECKING:
    from .session import Session


@dataclass
class ExecContext:
    session: Session
    snap: Any  # the engine snapshot the statement reads
    tx: Any = None  # the engine transaction it writes in, if it writes
    params: list[pa.Scalar] | None = None
    interrupt: Interrupt | None = None
    bind: Context | None = None  # the binder's context over ``snap`` (with the files it
    #                              may touch and the name resolver)
    # Room for what later statements need: secrets, attached sources, file systems.
    secrets: Any = None
    attached: dict[str, Any] = field(default_factory=dict)

    @property
    def resolver(self) -> Resolver:
        assert self.bind is not None
        return self.bind.resolver
