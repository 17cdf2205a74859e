"""Grants and policies follow their table: dropped with it, renamed with it (so a new table
of the old name inherits neither, and a renamed one keeps its row-level security); so do
its triggers (``triggers/model.py``)."""

from __future__ import annotations

from typing import Any

from ..triggers.model import table_moved
from .model import Right, all_grantees, put_grantee
from .policies import Policy, drop_policy, policies_on, put_policy


def table_dropped(tx: Any, qualified: str) -> None:
    _move(tx, qualified, None)


def table_renamed(tx: Any, old: str, new: str) -> None:
    _move(tx, old, new)


def _move(tx: Any, old: str, new: str | None) -> None:
    table_moved(tx, old, new)
    snap = tx.snapshot()
    for g in all_grantees(snap):
        if not any(r.kind == "table" and r.name == old for r in g.rights):
            continue
        g.rights = [r if not (r.kind == "table" and r.name == old) else
                    Right(r.right, r.kind, new, r.grant_option) for r in g.rights
                    if new is not None or not (r.kind == "table" and r.name == old)]
        put_grantee(tx, g)
    for p in policies_on(snap, old):
        drop_policy(tx, p.schema, p.name)
        if new is not None:
            schema = new.split(".", 1)[0]
            put_policy(tx, Policy(schema, p.name, new, p.command, p.roles, p.using))
