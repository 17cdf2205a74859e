"""``ALTER USER name SET ATTRIBUTE key = 'value'`` and ``ALTER USER name RESET ATTRIBUTE
key``: the attributes ``current_user_attr('key')`` returns to row-level security policies
(``access/attributes.py``).

The syntax follows PostgreSQL's ``ALTER ROLE name SET parameter = value`` with the word
ATTRIBUTE, so it cannot be mistaken for a session setting. Admins only (a user who could set
its own attributes could widen what its policies show it). Attributes are kept with the
user's grants (an engine object), so they are transactional and in backups, and a change
moves the catalog version that plan and result caches key on.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from ..access import model, syntax
from ..audit import audit_for
from ..errors import BindError
from ..execution import ExecContext
from ..result import Result, done
from .access import AccessStatement
from .registry import register


def sets_attribute(node: exp.Expression) -> bool:
    """Whether an ALTER USER statement sets or resets an attribute."""
    words = syntax.statement_text(node).upper().split()
    return "ATTRIBUTE" in words[3:6]


@register
class AlterUserAttribute(AccessStatement):
    lead = ("ALTER", "USER")

    def matches(self, node: exp.Expression) -> bool:
        return super().matches(node) and sets_attribute(node)

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        t = syntax.Tokens.of(node)
        t.expect("ALTER", "USER")
        name = t.name("user")
        reset = t.take("RESET")
        if not reset:
            t.expect("SET")
        t.expect("ATTRIBUTE")
        key = t.name("attribute").lower()
        value = None
        if not reset:
            if not t.take("TO"):  # SET ATTRIBUTE k = 'v' or TO 'v', as PostgreSQL's SET
                if t.pos >= len(t.toks) or t.toks[t.pos].token_type != TokenType.EQ:
                    raise BindError(f"expected = 'value' after attribute {key!r} {t.where()}")
                t.pos += 1
            value = t.string("attribute value")
        t.end()
        ex.bind.rights.require_admin(f"ALTER USER {name} {'RESET' if reset else 'SET'} "
                                     "ATTRIBUTE")
        snap = ex.tx.snapshot()
        if model.role_exists(snap, name):
            raise BindError(f"{name!r} is a role; attributes belong to users")
        users = getattr(ex.session, "users", None)
        if users is not None and name not in users.names():
            raise BindError(f"user {name!r} does not exist")
        entry = model.grantee(snap, name)
        if value is None:
            entry.attributes.pop(key, None)
        else:
            entry.attributes[key] = value
        model.put_grantee(ex.tx, entry)
        audit_for(ex.session.db).record(user=ex.session.user, action="user.attribute",
                                        object=f"user {name}",
                                        detail=f"{'RESET' if reset else 'SET'} {key}")
        return done()
