"""Passwords out of statement text before it is kept anywhere (kodiak_queries, logs)."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(\bPASSWORD\s*)'(?:[^']|'')*'?", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every ``PASSWORD '...'`` literal shown as ``PASSWORD '***'``."""
    if "'" not in text:
        return text
    return _PASSWORD.sub(r"\1'***'", text)
