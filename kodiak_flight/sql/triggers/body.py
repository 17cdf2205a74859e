"""A trigger's body statements rewritten to run ONCE over the transition rows, set-wise.

The rows a write affected are one relation, :data:`TRANSITION`, with a column ``new$c`` and
``old$c`` per column ``c`` of the table (``binder/from_.py`` binds it from
``Context.transition``). ``NEW.c`` and ``OLD.c`` become references to it:

- one transition row: each reference is a scalar subquery of the relation, and the
  statement runs as written: exactly SQLite's row-by-row semantics, for any statement;
- several rows: ``INSERT ... VALUES`` becomes ``INSERT ... SELECT <values> FROM
  transition`` (one row per transition row), ``INSERT ... SELECT`` joins the transition
  into its FROM, ``UPDATE`` becomes ``UPDATE ... FROM transition``, ``DELETE`` becomes
  ``DELETE ... USING transition`` (a semi-join), ``SELECT`` joins it and is discarded.
  A statement that names neither NEW nor OLD runs once when that equals running it once per
  row (DELETE, SELECT, an UPDATE whose SET reads no column); otherwise it is refused.

Refused with several rows, because row-by-row execution could give another answer: a
statement whose later rows would see its earlier rows' effect (an INSERT whose query reads
the table it inserts into, an UPDATE or DELETE whose subqueries read their own target, an
INSERT ... SELECT with grouping, DISTINCT, LIMIT, windows or set operations, an UPDATE
without NEW/OLD whose SET reads the target), a statement reading a table an earlier
statement of the body wrote, and a BEFORE trigger's body reading the trigger's own table.
An UPDATE whose SET reads its target's columns is checked at run time: a target row matched
by several transition rows is refused (row by row its updates would compound).
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import NotSupportedError

TRANSITION = "__kodiak_transition"
SIDES = ("new", "old")


def column(side: str, name: str) -> str:
    """The transition relation's column for ``NEW.name`` / ``OLD.name``."""
    return f"{side}${name}"


def references(node: exp.Expression) -> list[exp.Column]:
    """The ``NEW.c`` / ``OLD.c`` references in ``node``."""
    return [c for c in node.find_all(exp.Column)
            if c.table.lower() in SIDES and not c.text("db")]


def fold_ref(c: exp.Column) -> str:
    return c.name if c.this.quoted else c.name.lower()


def rewrite_refs(node: exp.Expression, scalar: bool) -> None:
    """Replace each NEW/OLD reference in ``node``, in place: by a scalar subquery of the
    one transition row, or by the transition relation's column."""
    for c in references(node):
        name = column(c.table.lower(), fold_ref(c))
        if scalar:
            c.replace(exp.Subquery(this=exp.select(exp.column(name, quoted=True))
                                   .from_(TRANSITION)))
        else:
            c.replace(exp.column(name, table=TRANSITION, quoted=True))


def target(stmt: exp.Expression) -> str | None:
    """The table a body statement writes (lower case, unqualified), if it writes."""
    if isinstance(stmt, (exp.Insert, exp.Update, exp.Delete)):
        t = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
        return t.name.lower()
    return None


def reads(stmt: exp.Expression) -> set[str]:
    """The tables a body statement reads (an UPDATE or DELETE reads its target)."""
    node = stmt.expression if isinstance(stmt, exp.Insert) else stmt
    found = {t.name.lower() for t in node.find_all(exp.Table)} if node is not None else set()
    return found - {TRANSITION}


RUN, CHECK, RAISE = "run", "check", "raise"  # how a rewritten statement is run


def raise_calls(node: exp.Expression) -> list[exp.Anonymous]:
    return [f for f in node.find_all(exp.Anonymous) if f.name.lower() == "raise"]


def raising(stmt: exp.Expression) -> exp.Expression | None:
    """SQLite's ``SELECT RAISE(ABORT | FAIL | ROLLBACK, message) [FROM ...] [WHERE ...]`` as
    a query of the messages (any row fails the statement), or None for another statement;
    RAISE anywhere else, or RAISE(IGNORE), is refused."""
    calls = raise_calls(stmt)
    if not calls:
        return None
    call = calls[0]
    form = isinstance(stmt, exp.Select) and len(stmt.expressions) == 1 and \
        stmt.expressions[0] is call and len(calls) == 1 and len(call.expressions) == 2
    kind = call.expressions[0].name.upper() if call.expressions else ""
    if not form or kind not in ("ABORT", "FAIL", "ROLLBACK"):
        raise NotSupportedError(
            "RAISE in a trigger body is supported as SELECT RAISE(ABORT | FAIL | ROLLBACK, "
            "message) [FROM ...] [WHERE ...]; RAISE(IGNORE) and RAISE inside expressions "
            "are not")
    query = stmt.copy()
    query.set("expressions", [call.expressions[1].copy()])
    return query


def program(stmts: list[exp.Expression], trigger_name: str, trigger_table: str,
            timing: str, rows: int) -> list[tuple[exp.Expression, str]]:
    """The body, each statement rewritten for ``rows`` transition rows, with how to run it:
    ``run``, ``check`` (an UPDATE to check for target rows matched twice) or ``raise`` (a
    query whose rows are RAISE messages); refuses what set-wise execution cannot run with
    row-by-row semantics."""
    out: list[tuple[exp.Expression, str]] = []
    written: set[str] = set()
    own = trigger_table.split(".", 1)[-1].lower()
    for i, stmt in enumerate(stmts, 1):
        what = f"trigger {trigger_name!r}, body statement {i} ({_words(stmt)})"
        raised = raising(stmt)
        stmt = raised if raised is not None else stmt.copy()
        if rows == 1 and _values_over_row(stmt):  # (VALUES entries must be constants)
            out.append((_insert(stmt, what), RUN))
            continue
        if rows == 1:
            rewrite_refs(stmt, scalar=True)
            out.append((stmt, RAISE if raised is not None else RUN))
            continue
        if reads(stmt) & written:
            raise _refuse(what, "it reads a table an earlier statement of the body writes")
        if timing == "before" and own in reads(stmt):
            raise _refuse(what, "a BEFORE trigger's body reads the table being written")
        rewritten, check = _many(stmt, what)
        out.append((rewritten, RAISE if raised is not None else CHECK if check else RUN))
        if target(stmt):
            written.add(target(stmt) or "")
    return out


def _many(stmt: exp.Expression, what: str) -> tuple[exp.Expression, bool]:
    has = bool(references(stmt))
    if isinstance(stmt, exp.Insert):
        return _insert(stmt, what), False
    if isinstance(stmt, exp.Update):
        return _update(stmt, what, has)
    if isinstance(stmt, exp.Delete):
        if target(stmt) in _subquery_tables(stmt):
            raise _refuse(what, "its subqueries read the table it deletes from")
        if has:
            stmt.set("using", [*(stmt.args.get("using") or []), exp.to_table(TRANSITION)])
            rewrite_refs(stmt, scalar=False)
        return stmt, False
    if has:  # a query: evaluated over the transition rows, its rows discarded
        if not isinstance(stmt, exp.Select):
            raise _refuse(what, "a set operation naming NEW or OLD")
        _join(stmt)
        rewrite_refs(stmt, scalar=False)
    return stmt, False


def _insert(stmt: exp.Insert, what: str) -> exp.Insert:
    src = stmt.expression
    if target(stmt) in reads(stmt):
        raise _refuse(what, "its query reads the table it inserts into")
    if isinstance(src, exp.Values):
        selects = []
        for row in src.expressions:
            items = row.expressions if isinstance(row, exp.Tuple) else [row]
            selects.append(exp.select(*[it.copy() for it in items]).from_(TRANSITION))
        query: exp.Expression = selects[0]
        for s in selects[1:]:
            query = exp.union(query, s, distinct=False)
        stmt.set("expression", query)
    elif isinstance(src, exp.Select):
        for arg in ("group", "having", "distinct", "limit", "order", "qualify", "offset"):
            if src.args.get(arg):
                raise _refuse(what, f"its query has {arg.upper()}")
        if any(src.find_all(exp.AggFunc)) or any(src.find_all(exp.Window)):
            raise _refuse(what, "its query aggregates")
        _join(src)
    else:
        raise _refuse(what, "its source is not VALUES or a plain SELECT")
    rewrite_refs(stmt, scalar=False)
    return stmt


def _values_over_row(stmt: exp.Expression) -> bool:
    """An ``INSERT ... VALUES`` naming NEW or OLD, reading no table it writes: run as
    ``INSERT ... SELECT <values> FROM transition`` even for one row, since a VALUES entry
    like ``new.k + 1`` is no constant."""
    return isinstance(stmt, exp.Insert) and isinstance(stmt.expression, exp.Values) and \
        bool(references(stmt)) and target(stmt) not in reads(stmt)


def _update(stmt: exp.Update, what: str, has: bool) -> tuple[exp.Update, bool]:
    own = target(stmt)
    if own in _subquery_tables(stmt):
        raise _refuse(what, "its subqueries read the table it updates")
    sets = [a.expression for a in stmt.expressions]
    reads_target = any(c.table.lower() not in SIDES for s in sets
                       for c in s.find_all(exp.Column))
    if not has:
        if reads_target:
            raise _refuse(what, "without NEW or OLD it would run once per row, and its SET "
                          "reads the row it changes (the updates would compound)")
        return stmt, False
    if stmt.args.get("from_") is not None:
        raise _refuse(what, "an UPDATE ... FROM naming NEW or OLD")
    stmt.set("from_", exp.From(this=exp.to_table(TRANSITION)))
    rewrite_refs(stmt, scalar=False)
    return stmt, reads_target


def duplicate_check(stmt: exp.Update, key: list[str]) -> exp.Select:
    """A query answering a row if some target row of the rewritten UPDATE ``stmt`` is matched
    by more than one transition row."""
    t = stmt.this
    alias = t.alias_or_name
    q = exp.select("1").from_(t.copy()).join(exp.to_table(TRANSITION), join_type="cross")
    if stmt.args.get("where") is not None:
        q = q.where(stmt.args["where"].this.copy())
    return q.group_by(*[exp.column(k, table=alias, quoted=True) for k in key]) \
        .having("count(*) > 1").limit(1)


def _join(select: exp.Select) -> None:
    if select.args.get("from_") is None:
        select.from_(TRANSITION, copy=False)
    else:
        select.join(exp.to_table(TRANSITION), join_type="cross", copy=False)


def _subquery_tables(stmt: exp.Expression) -> set[str]:
    return {t.name.lower() for q in stmt.find_all(exp.Subquery, exp.Exists, exp.In)
            for t in q.find_all(exp.Table)}


def _words(stmt: exp.Expression) -> str:
    text = " ".join(stmt.sql().split())
    return text if len(text) <= 60 else text[:57] + "..."


def _refuse(what: str, why: str) -> NotSupportedError:
    return NotSupportedError(
        f"{what} cannot run set-wise over several rows: {why}; Kodiak runs a trigger's body "
        "once over all the rows a statement changed and refuses forms whose row-by-row "
        "result could differ")
