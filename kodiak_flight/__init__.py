"""Kodiak's Flight SQL server, its CLI and clients; ``kodiak_flight.connect`` opens a database
in this process (see ``kodiak_flight.embedded``).

``connect`` is imported on first use only, so that importing the package (as the ``kodiak``
command does) stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["connect"]


def __getattr__(name: str) -> Any:
    if name == "connect":
        from .embedded import connect

        return connect
    raise AttributeError(f"module 'kodiak_flight' has no attribute {name!r}")
