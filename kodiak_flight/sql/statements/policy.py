"""CREATE POLICY and DROP POLICY: row-level security (``sql/access/policies.py``).

``CREATE POLICY name ON t [FOR SELECT | FOR ALL] [TO role_or_user, ...] USING (condition)``;
``DROP POLICY [IF EXISTS] name ON t``. Made by admins and holders of CREATE on the table's
schema; the condition is bound against the table when the policy is made. ``FOR ALL`` is
accepted as in PostgreSQL but only reads are filtered: writes are refused by name for a user
a policy restricts (see ``docs/security.md``).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from engine import errors as engine_errors

from ..access import syntax
from ..access.policies import Policy, check_predicate, drop_policy, policies_on, put_policy
from ..audit import audit_for
from ..binder import Binder
from ..errors import BindError
from ..execution import ExecContext
from ..result import Result, done
from .access import AccessStatement
from .registry import register


def _table(ex: ExecContext, t: syntax.Tokens) -> str:
    """The table a policy statement names (qualified), with CREATE on its schema checked."""
    assert ex.bind is not None
    schema, _, name = t.dotted("table").rpartition(".")
    rel = ex.bind.resolver.require(name, schema or None)
    if rel.kind != "table" or rel.schema == "temp":
        raise BindError(f"row-level security applies to stored tables; {rel.qualified!r} is "
                        "not one")
    ex.bind.check_table("create", rel.qualified)
    return rel.qualified


@register
class CreatePolicy(AccessStatement):
    lead = ("CREATE", "POLICY")

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        t = syntax.Tokens.of(node)
        t.expect("CREATE", "POLICY")
        name = t.name("policy")
        t.expect("ON")
        table = _table(ex, t)
        command = "select"
        if t.take("FOR"):
            if t.take("ALL"):
                command = "all"
            else:
                t.expect("SELECT")
        roles = t.names("role or user") if t.take("TO") else []
        if t.pos >= len(t.toks) or t.toks[t.pos].text.upper() != "USING":
            raise BindError(f"expected USING (condition) {t.where()}")
        if t.pos + 1 >= len(t.toks) or t.toks[t.pos + 1].token_type != TokenType.L_PAREN:
            raise BindError("expected USING (condition) with the condition in parentheses")
        text = syntax.statement_text(node)
        using = text[t.toks[t.pos + 1].start:].strip().rstrip(";")
        schema = table.split(".", 1)[0]
        if ex.tx.snapshot().object("policy", schema, name) is not None:
            raise engine_errors.AlreadyExists(f"policy {name!r} already exists in schema "
                                              f"{schema!r}")
        info = ex.snap.table(table)
        stored = check_predicate(Binder(ex.bind), info, using)
        put_policy(ex.tx, Policy(schema, name, table, command, tuple(roles), stored))
        audit_for(ex.session.db).record(user=ex.session.user, action="policy.create",
                                        object=f"table {table}", detail=name)
        return done()


@register
class DropPolicy(AccessStatement):
    lead = ("DROP", "POLICY")

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("DROP", "POLICY")
        if_exists = t.take("IF", "EXISTS")
        name = t.name("policy")
        t.expect("ON")
        table = _table(ex, t)
        t.end()
        if not any(p.name == name for p in policies_on(ex.tx.snapshot(), table)):
            if if_exists:
                return done()
            raise BindError(f"policy {name!r} on {table!r} does not exist")
        drop_policy(ex.tx, table.split(".", 1)[0], name)
        audit_for(ex.session.db).record(user=ex.session.user, action="policy.drop",
                                        object=f"table {table}", detail=name)
        return done()
