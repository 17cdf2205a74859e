"""CREATE POLICY and DROP POLICY: row-level security (``sql/access/policies.py``).

``CREATE POLICY name ON t [FOR SELECT | INSERT | UPDATE | DELETE | ALL] [TO role_or_user,
...] [USING (condition)] [WITH CHECK (condition)]``; ``DROP POLICY [IF EXISTS] name ON t``.
Made by admins and holders of CREATE on the table's schema; the conditions are bound against
the table when the policy is made. Without FOR a policy is FOR ALL, as in PostgreSQL (see
``docs/security.md``; writes: ``statements/row_security.py``).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from engine import errors as engine_errors

from ..access import syntax
from ..access.policies import (
    COMMANDS,
    Policy,
    check_predicate,
    drop_policy,
    policies_on,
    put_policy,
)
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
        command = "all"  # PostgreSQL's default
        if t.take("FOR"):
            command = next((c for c in COMMANDS if t.take(c.upper())), "")
            if not command:
                raise BindError(f"expected SELECT, INSERT, UPDATE, DELETE or ALL after FOR "
                                f"{t.where()}")
        roles = t.names("role or user") if t.take("TO") else []
        text = syntax.statement_text(node)
        using = _condition(t, text, "USING") if t.peek("USING") else None
        check = _condition(t, text, "WITH CHECK") if t.peek("WITH", "CHECK") else None
        t.end()
        if using is None and check is None:
            raise BindError("expected USING (condition) or WITH CHECK (condition)")
        if check is not None and command in ("select", "delete"):
            raise BindError(f"a FOR {command.upper()} policy takes no WITH CHECK (it writes no "
                            "new rows)")
        if using is not None and command == "insert":
            raise BindError("a FOR INSERT policy takes WITH CHECK, not USING (it reads no "
                            "existing rows)")
        schema = table.split(".", 1)[0]
        if ex.tx.snapshot().object("policy", schema, name) is not None:
            raise engine_errors.AlreadyExists(f"policy {name!r} already exists in schema "
                                              f"{schema!r}")
        info = ex.snap.table(table)
        stored = [None if c is None else check_predicate(Binder(ex.bind), info, c)
                  for c in (using, check)]
        put_policy(ex.tx, Policy(schema, name, table, command, tuple(roles), *stored))
        audit_for(ex.session.db).record(user=ex.session.user, action="policy.create",
                                        object=f"table {table}", detail=name)
        return done()


def _condition(t: syntax.Tokens, text: str, words: str) -> str:
    """The parenthesised condition after ``words`` (USING, WITH CHECK), as written."""
    t.expect(*words.split())
    if t.pos >= len(t.toks) or t.toks[t.pos].token_type != TokenType.L_PAREN:
        raise BindError(f"expected {words} (condition) with the condition in parentheses")
    start, depth = t.pos, 0
    while t.pos < len(t.toks):
        kind = t.toks[t.pos].token_type
        depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
        t.pos += 1
        if depth == 0:
            return text[t.toks[start].start:t.toks[t.pos - 1].end + 1]
    raise BindError(f"the {words} condition's parentheses are not closed")


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
