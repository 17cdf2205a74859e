"""Catalog objects the PL tests need before CREATE TYPE / CREATE FUNCTION exist: made
through the engine's transaction API in the formats PL-DESIGN.md fixes."""

from __future__ import annotations

from typing import Any


def exception_type(db: Any, name: str, fields: list[tuple[str, str]]) -> None:
    with db.begin() as tx:
        tx.create_object("type", "main", name, {
            "form": "exception", "fields": [{"name": f, "type": t} for f, t in fields],
            "sql": ""})


def function(db: Any, name: str, params: list[tuple[str, str, str | None]], returns: str,
             body: str, *, block: bool = True, mode: str = "sync") -> None:
    types = ",".join(t.lower() for _, t, _ in params)
    with db.begin() as tx:
        tx.create_object("function", "main", f"{name}({types})", {
            "name": name, "receiver": None,
            "params": [{"name": p, "type": t, "default": d} for p, t, d in params],
            "returns": returns, "body": body, "block": block, "mode": mode, "raises": [],
            "sql": ""})
