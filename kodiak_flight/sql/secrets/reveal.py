"""``secret('name' [, 'FIELD'])``: a secret's value in SQL.

It exists for PL-Grizzly code (not built yet). In a query sent by a client it is refused
unless the user holds the ``reveal`` right on the secret; when it is allowed, an audit record
``secret.reveal`` is written (without the value). The value enters the plan as a
:class:`~..expr.Hidden` literal: EXPLAIN shows ``secret('name')``, constant folding leaves it
alone, and the plan is never kept for reuse nor its result cached.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..audit import audit_for
from ..errors import AccessDenied, BindError
from ..expr import Hidden
from . import store


def may_reveal(ctx: Any, name: str) -> bool:
    """Whether the statement's user holds the ``reveal`` right on secret ``name``
    (``sql/access``; a session without a user holds every right). Inside a view, which
    reads with its owner's rights, the owner *and* the session's user must hold it: a view
    is no way to show a secret to someone without the right."""
    invoker = getattr(ctx, "invoker", None) or ctx.rights
    return ctx.rights.allows("reveal", "secret", name) and \
        invoker.allows("reveal", "secret", name)


def _audit(ctx: Any, name: str, allowed: bool) -> None:
    viewer = ctx.viewer  # every session's context has one: the reader and its database
    who = (getattr(ctx, "invoker", None) or ctx.rights).user  # an admin's name too
    audit_for(viewer.db).record(user=who or viewer.user, action="secret.reveal", object=name,
                                allowed=allowed)


def reveal(ctx: Any, args: list[Any]) -> Hidden:
    """The bound value of ``secret(name[, field])`` (literal text arguments only)."""
    if not 1 <= len(args) <= 2 or not all(isinstance(a, str) for a in args):
        raise BindError("secret() takes the secret's name and optionally a field, as text "
                        "literals: secret('name') or secret('name', 'KEY_ID')")
    name, key = args[0], (args[1] if len(args) > 1 else "SECRET").upper()
    found = store.secret_by_name(ctx, name)
    if not may_reveal(ctx, found.name):
        _audit(ctx, found.name, False)
        raise AccessDenied(f"secret({name!r}) is refused: revealing a secret's value needs "
                           f"the reveal right on secret {found.name!r}")
    if key not in found.sensitive_keys:
        raise BindError(f"secret {found.name!r} has no field {key}"
                        + (f" (it has {', '.join(found.sensitive_keys)})"
                           if found.sensitive_keys else ""))
    fields = store.fields_of(ctx, found)
    try:
        value = fields[key]
    finally:
        fields.clear()
    _audit(ctx, found.name, True)
    ctx.volatile = True  # never reused, never cached
    shown = f"secret({found.name!r})" if key == "SECRET" else f"secret({found.name!r}, {key!r})"
    return Hidden(str(value), pa.string(), shown)

