"""The PL statements sqlglot cannot parse, recognised by their leading words before parsing.

``CREATE FUNCTION`` carries a receiver (``[point]``), ``RAISES``, ``AS SYNC|ASYNC`` and a
``BEGIN ... END`` body with semicolons of its own, so its whole text is one statement, kept
as a ``Command`` that ``statements/functions.py`` parses (``pl/functions.parse_create``).
``DROP FUNCTION`` may name a receiver too, and ``SHOW FUNCTIONS`` must not be read as
``SHOW <table>``. This module imports no dialect, so the dialect can call it.
"""

from __future__ import annotations

import re

from sqlglot import exp

_CREATE = re.compile(r"^\s*create\s+(or\s+replace\s+)?function\b", re.IGNORECASE)
_DROP = re.compile(r"^\s*drop\s+function\b", re.IGNORECASE)
_SHOW = re.compile(r"^\s*show\s+functions\s*;?\s*$", re.IGNORECASE)

CREATE_FUNCTION = "CREATE FUNCTION"
DROP_FUNCTION = "DROP FUNCTION"
SHOW_FUNCTIONS = "SHOW FUNCTIONS"


def function_command(sql: str) -> exp.Command | None:
    """``sql`` as a Command of one of the function statements, or None."""
    for verb, pattern in ((CREATE_FUNCTION, _CREATE), (DROP_FUNCTION, _DROP),
                          (SHOW_FUNCTIONS, _SHOW)):
        if pattern.match(sql):
            return exp.Command(this=verb, expression=exp.Literal.string(sql))
    return None
