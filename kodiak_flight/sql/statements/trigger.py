"""CREATE TRIGGER, DROP TRIGGER, SHOW TRIGGERS: triggers are objects of kind ``trigger``
(``triggers/model.py``), fired by the one write hook (``triggers/firing.py``).

Creating or dropping a trigger is DDL on its table: it needs the right to change the
table's schema (CREATE on it), like CREATE INDEX. The trigger remembers who created it, and
its body runs with that owner's rights (as a view's query does, PostgreSQL's rule).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from engine import errors

from ..binder import Context
from ..binder.coverage import check_supported
from ..catalog import fold
from ..catalog.resolver import Relation
from ..dialect import Grizzly, parse
from ..errors import BindError, NotSupportedError, ParseError, suggest
from ..execution import ExecContext
from ..result import Result, done, rows
from ..triggers import body as trigger_body
from ..triggers.model import TRIGGER, Trigger, all_triggers
from ..triggers.syntax import (
    CREATE_TRIGGER,
    DROP_TRIGGER,
    SHOW_TRIGGERS,
    parse_create,
    parse_drop,
    split_name,
)
from ..triggers.syntax import CreateTrigger as TriggerSyntax
from .instead_of import view_schema
from .registry import VerbCommand, command_text, register

SHOWN = pa.schema([pa.field(n, pa.string()) for n in
                   ("name", "table", "timing", "event", "for_each", "schema")])
_BODY_FORMS = (exp.Insert, exp.Update, exp.Delete, exp.Select, exp.SetOperation)
_USES = {"insert": ("new",), "delete": ("old",), "update": ("new", "old")}



@register
class CreateTrigger(VerbCommand):
    verb = CREATE_TRIGGER

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        create_trigger(ex.tx, ex.bind, command_text(node))
        return done()


@register
class DropTrigger(VerbCommand):
    verb = DROP_TRIGGER

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        drop_trigger(ex.tx, ex.bind, command_text(node))
        return done()


@register
class ShowTriggers(VerbCommand):
    verb = SHOW_TRIGGERS
    writes = False

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return SHOWN

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        assert ex.bind is not None
        visible = ex.bind.resolver.schemas()
        return rows(pa.Table.from_pylist(
            [{"name": t.name, "table": t.table.split(".", 1)[-1], "timing": t.timing.upper(),
              "event": t.event.upper(), "for_each": t.each.upper(), "schema": t.schema}
             for t in all_triggers(ex.bind.snap, visible)], schema=SHOWN))


def create_trigger(tx: Any, ctx: Context, sql: str) -> None:
    d = parse_create(sql, Grizzly)
    schema, name = split_name(d.name)
    t_schema, t_name = split_name(d.table)
    if d.temporary:
        raise NotSupportedError(f"CREATE TEMP TRIGGER {name}: temporary triggers are not "
                                "supported")
    rel = ctx.resolver.require(t_name, t_schema)
    target, columns = _target(ctx, name, d, rel)
    if schema is not None and schema != rel.schema:
        raise BindError(f"CREATE TRIGGER {name}: a trigger lives in its table's schema "
                        f"{rel.schema!r}, not {schema!r}")
    ctx.check_table("create", target)
    _check_columns(name, d.event, d.columns, columns)
    stmts = _body(name, d.body)
    if d.each == "statement" and (d.when or any(trigger_body.references(s) for s in stmts)):
        raise BindError(f"CREATE TRIGGER {name}: a FOR EACH STATEMENT trigger has no NEW or "
                        "OLD row (nor a WHEN condition on them)")
    refs = [r for s in stmts for r in trigger_body.references(s)]
    if d.when:
        refs += trigger_body.references(_condition(name, d.when))
    _check_refs(name, d.event, refs, columns)
    if ctx.snap.object(TRIGGER.name, rel.schema, fold(name)) is not None:
        if d.if_not_exists:
            return
        raise errors.AlreadyExists(f"trigger {name!r} already exists")
    trig = Trigger(rel.schema, name, target, d.timing, d.event, d.columns, d.each,
                   d.when, d.body, ctx.rights.user, d.sql)
    tx.create_object(TRIGGER.name, trig.schema, trig.name, trig.definition())


def _target(ctx: Context, name: str, d: TriggerSyntax, rel: Relation) -> tuple[str, list[str]]:
    """(the qualified table or view the trigger is on, its columns), by SQLite's rules:
    BEFORE / AFTER on stored tables, INSTEAD OF (for each row) on views."""
    if rel.kind == "view":
        if d.timing != "instead of":
            raise BindError(f"CREATE TRIGGER {name}: cannot create a {d.timing.upper()} "
                            f"trigger on view {rel.name!r}; triggers on a view are INSTEAD "
                            "OF triggers")
        if d.each != "row":
            raise NotSupportedError(f"CREATE TRIGGER {name}: INSTEAD OF triggers are FOR "
                                    "EACH ROW")
        return rel.qualified, list(view_schema(ctx, rel).names)
    if rel.kind != "table" or rel.schema == "temp":
        raise NotSupportedError(f"CREATE TRIGGER {name}: triggers can be created only on "
                                f"stored tables and views, and {rel.name!r} is neither")
    if d.timing == "instead of":
        raise BindError(f"CREATE TRIGGER {name}: cannot create an INSTEAD OF trigger on "
                        f"table {rel.name!r}; INSTEAD OF triggers are for views, use BEFORE "
                        "or AFTER")
    return rel.table.name, list(rel.table.schema.names)


def _body(name: str, text: str) -> list[exp.Expression]:
    try:
        stmts = parse(text)
    except ParseError as e:
        raise ParseError(f"in the body of trigger {name!r}: {e}") from None
    for s in stmts:
        trigger_body.raising(s)  # RAISE only in its one supported form
        if not isinstance(s, _BODY_FORMS):
            raise NotSupportedError(
                f"trigger {name!r}: a trigger's body holds INSERT, UPDATE, DELETE and SELECT "
                f"statements, not {s.sql(dialect=Grizzly).split(' ', 1)[0].upper()}")
        check_supported(s)  # what binding would ignore is refused now, not when it fires
    return stmts


def _condition(name: str, text: str) -> exp.Expression:
    try:
        return parse(f"SELECT 1 WHERE {text}")[0].args["where"].this
    except (ParseError, KeyError):
        raise ParseError(f"trigger {name!r}: WHEN {text!r} is not a condition") from None


def _check_columns(name: str, event: str, of: tuple[str, ...], columns: list[str]) -> None:
    if of and event != "update":
        raise BindError(f"CREATE TRIGGER {name}: OF columns belong to UPDATE triggers")
    for c in of:
        if c not in columns:
            raise BindError(f"CREATE TRIGGER {name}: column {c!r} not found"
                            + suggest(c, columns))


def _check_refs(name: str, event: str, refs: list[exp.Column], columns: list[str]) -> None:
    for r in refs:
        side = r.table.lower()
        if side not in _USES[event]:
            raise BindError(f"trigger {name!r}: an {event.upper()} trigger has no "
                            f"{side.upper()} row ({r.sql()})")
        if trigger_body.fold_ref(r) not in columns:
            raise BindError(f"trigger {name!r}: {r.sql()}: column {r.name!r} not found"
                            + suggest(r.name, columns))


def drop_trigger(tx: Any, ctx: Context, sql: str) -> None:
    typed, if_exists = parse_drop(sql)
    schema, name = split_name(typed)
    where = [schema] if schema else list(dict.fromkeys([fold(ctx.schema), "main"]))
    for s in where:
        obj = ctx.snap.object(TRIGGER.name, s, name)
        if obj is not None:
            ctx.check_table("create", obj.definition["table"])
            tx.drop_object(TRIGGER.name, s, name)
            return
    if not if_exists:
        known = [t.name for t in all_triggers(ctx.snap)]
        raise BindError(f"trigger {typed!r} does not exist" + suggest(name, known))
