"""KILL QUERY <id> (also ``KILL <id>``): stop a running statement listed in kodiak_queries.

The query is stopped through its interrupt, as a cancel from its own client would: its
reader raises ``QueryCancelled`` within one batch. A user may stop only their own user's
queries (see ``activity``), an admin anyone's; ``KILL CONNECTION`` is refused by name.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import BindError, NotSupportedError
from ..execution import ExecContext
from ..result import Result, done
from .registry import Statement, register


@register
class Kill(Statement):
    node = exp.Kill
    writes = False  # touches no data; runs inside a transaction too

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        kind = node.args.get("kind")
        if kind is not None and kind.name.upper() != "QUERY":
            raise NotSupportedError(f"KILL {kind.name.upper()} is not supported; "
                                    "KILL QUERY <id> stops a query")
        admin = ex.bind is not None and ex.bind.rights.is_admin
        ex.session.activity.cancel(_query_id(node.this), None if admin else ex.session.user)
        return done()


def _query_id(arg: exp.Expression) -> int:
    """The query id KILL names: a whole number as kodiak_queries shows it."""
    if isinstance(arg, exp.Literal) and not arg.is_string and arg.name.isdigit():
        return int(arg.name)
    raise BindError(f"KILL QUERY expects a query id from kodiak_queries, not "
                    f"{arg.sql(dialect='duckdb')!r}")
