"""``current_user_attr('key')``: an attribute of the session's user, for row-level security
(``CREATE POLICY ... USING (region = current_user_attr('region'))``).

Attributes are set by admins with ``ALTER USER name SET ATTRIBUTE key = 'value'`` and kept
with the user's grants (``model.Grantee``), an engine object: so they are transactional, in
backups, and moving them moves the catalog version, which every cache of bound plans and of
results keys on (with the user, for the result cache). The value is read from the
statement's snapshot when the statement is bound and is a constant of that statement; a
view's body sees the session's user, as ``current_user``. NULL without a user or without
that attribute.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..errors import BindError
from ..expr import Lit
from .model import grantee


def user_attribute(ctx: Any, args: list[Any]) -> Lit:
    """The bound value of ``current_user_attr(key)`` (a text literal key)."""
    if len(args) != 1 or not isinstance(args[0], str):
        raise BindError("current_user_attr() takes the attribute's name as a text literal: "
                        "current_user_attr('region')")
    if ctx.user is None:
        return Lit(None, pa.string())
    return Lit(grantee(ctx.snap, ctx.user).attributes.get(args[0].lower()), pa.string())
