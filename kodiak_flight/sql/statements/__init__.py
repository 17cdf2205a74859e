"""Statements, one module per kind, each registered in :mod:`.registry`.

``query`` (SELECT, set operations, VALUES), ``explain`` (EXPLAIN, EXPLAIN ANALYZE),
``session_control`` (BEGIN, COMMIT,
ROLLBACK, USE), ``copy``, ``schema``, ``table``, ``view``, ``index``, ``alter``, ``insert``,
``update``, ``delete``, ``truncate``, ``vacuum``, ``reindex``, ``describe`` (DESCRIBE, SHOW, PRAGMA table_info),
``summarize``, ``kill`` (KILL QUERY), ``jobs`` (AWAIT, CANCEL JOB), ``types`` (CREATE/DROP TYPE, SHOW TYPES), ``functions`` (CREATE/DROP/SHOW FUNCTIONS), ``trigger`` (CREATE/DROP TRIGGER, SHOW TRIGGERS), ``secret`` (CREATE/DROP/ALTER SECRET, SHOW SECRETS), ``access`` (roles, grants, users), ``policy`` (row-level security); ``common`` holds what the DDL and DML share. Importing this package
registers them all.
"""

from . import (  # noqa: F401 (imported to register; no two statements match one node)
    access,  # first: its SHOW GRANTS is matched before describe's other SHOWs
    alter,
    call,
    copy,
    delete,
    describe,
    explain,
    functions,
    index,
    insert,
    jobs,
    kill,
    policy,
    query,
    reindex,
    schema,
    secret,
    session_control,
    summarize,
    table,
    trigger,
    truncate,
    types,
    update,
    user_attribute,
    vacuum,
    variables,
    view,
)
from .insert import hint_parameters, insert_table
from .query import is_query, plan_query
from .registry import STATEMENTS, Statement, register, statement_for

__all__ = ["STATEMENTS", "Statement", "register", "statement_for", "hint_parameters",
           "insert_table", "is_query", "plan_query"]
