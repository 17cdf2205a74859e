"""Calling a user function: ``CALL name(args)`` and what a block body's ``CALL`` runs.

Functions are catalog objects of kind ``function`` (PL-DESIGN.md: name
``"<name>(<param types>)"``, a JSON definition with ``params``, ``returns``, ``body``,
``block``, ``mode``). Arguments are computed as one row (``SELECT arg, ...``) with the
caller's variables bound, an overload is chosen by count and types, and the body runs in a new
frame whose variables are the parameters: a block body in the interpreter (``RETURN`` gives
the value), an expression body as ``SELECT <body>`` with each parameter bound as a value.
Nesting is limited by :class:`CallLimits` (a clear error, never Python's recursion limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..dialect import Grizzly
from ..errors import BindError, NotSupportedError, suggest
from ..types import from_sql, sql_name
from .errors import ControlError, PlLimit
from .interpreter import Interpreter, materialised
from .parser import parse_script
from .variables import CallLimits


@dataclass
class UserFunction:
    """A function's catalog definition, as CALL needs it."""

    name: str
    params: list[tuple[str, pa.DataType, str | None]]  # name, type, default SQL text
    returns: pa.DataType
    body: str
    block: bool
    mode: str

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(sql_name(t) for _, t, _ in self.params)})"

    @classmethod
    def from_definition(cls, d: dict[str, Any]) -> UserFunction:
        return cls(d["name"].lower(),
                   [(p["name"].lower(), sql_type(p["type"]), p.get("default"))
                    for p in d.get("params", [])],
                   sql_type(d.get("returns") or "varchar"), d["body"],
                   bool(d.get("block")), d.get("mode") or "sync")


def sql_type(text: str) -> pa.DataType:
    return from_sql(exp.DataType.build(text, dialect=Grizzly))


def find_functions(session: Any, name: str) -> list[UserFunction]:
    """The overloads of ``name`` (no receiver) in the session's schema, else ``main``."""
    snap = session.snapshot()
    for schema in dict.fromkeys((session.schema, "main")):
        found = [UserFunction.from_definition(o.definition)
                 for o in snap.objects("function", schema)
                 if o.definition.get("name", "").lower() == name.lower()
                 and not o.definition.get("receiver")]
        if found:
            return found
    return []


def call_function(session: Any, fn_name: str, args: list[exp.Expression]) -> pa.Scalar:
    """Run user function ``fn_name`` with ``args`` (expressions of the caller)."""
    overloads = find_functions(session, fn_name)
    if not overloads:
        known = {o.definition.get("name", "") for o in session.snapshot().objects("function")}
        raise BindError(f"function {fn_name} does not exist" + suggest(fn_name, known))
    positional = [a for a in args if not isinstance(a, exp.Kwarg)]
    named = {a.this.name.lower(): a.expression for a in args if isinstance(a, exp.Kwarg)}
    values = _row(session, [*positional, *named.values()])
    given = values[:len(positional)]
    by_name = dict(zip(named, values[len(positional):], strict=True))
    fn = _choose(overloads, fn_name, given, by_name)
    bound = _bind(session, fn, given, by_name)
    if fn.mode == "async":
        return submit_async(session, fn, bound)
    return run_function(session, fn, bound)


def submit_async(session: Any, fn: UserFunction, bound: dict[str, pa.Scalar]) -> pa.Scalar:
    """THE HOOK for ``AS ASYNC`` functions: at merge this submits ``run_function`` as a
    background job (``pl/jobs.jobs_for(session.db).submit(session.user, fn.signature,
    work)``) and returns the job id as a varchar. Refused until the jobs module is joined."""
    raise NotSupportedError(f"CALL of {fn.signature}, an AS ASYNC function, needs "
                            "background jobs, which this build does not have yet")


def run_function(session: Any, fn: UserFunction, bound: dict[str, pa.Scalar]) -> pa.Scalar:
    """The body run in a new frame holding the parameters; its value cast to ``returns``."""
    variables = session.variables
    limits: CallLimits = variables.limits
    if len(variables.frames) >= limits.max_stack:
        raise PlLimit(f"call stack too deep calling {fn.signature}: more than "
                      f"{limits.max_stack} nested calls")
    if variables.calls.count(fn.signature) >= limits.max_depth:
        raise PlLimit(f"recursion too deep in {fn.signature}: more than {limits.max_depth} "
                      "nested calls of it")
    variables.calls.append(fn.signature)
    try:
        value = _body_value(session, fn, bound)
    finally:
        variables.calls.pop()
    if value is None:
        raise ControlError(f"function {fn.signature} ended without RETURN")
    return _cast(value, fn.returns, f"the value of {fn.signature}")


def _body_value(session: Any, fn: UserFunction, bound: dict[str, pa.Scalar]
                ) -> pa.Scalar | None:
    if fn.block:
        script = parse_script(fn.body, name=fn.signature)
        returned, value = Interpreter(session, script).run(bound)
        return value if returned else None
    node = parse_script(f"RETURN {fn.body}", name=fn.signature)
    returned, value = Interpreter(session, _expression_body(node, fn)).run(bound)
    return value


def _expression_body(script: Any, fn: UserFunction) -> Any:
    """An expression body names its parameters bare (``a * 2``): read them as ``$a``."""
    names = {p for p, _, _ in fn.params}
    code = script.body[0].value

    def param(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and not n.table and n.name.lower() in names:
            return exp.Placeholder(this=n.name.lower())
        return n
    code.node = code.node.transform(param)
    return script


def _row(session: Any, args: list[exp.Expression]) -> list[pa.Scalar]:
    if not args:
        return []
    table = materialised(session.run_statement(exp.Select(expressions=args))).table
    return [c[0] for c in table.columns]


def _choose(overloads: list[UserFunction], name: str, given: list[pa.Scalar],
            by_name: dict[str, pa.Scalar]) -> UserFunction:
    def fits(fn: UserFunction) -> bool:
        names = [p for p, _, _ in fn.params]
        if len(given) > len(names) or any(n not in names[len(given):] for n in by_name):
            return False
        return all(d is not None or p in by_name
                   for p, _, d in fn.params[len(given):])
    fit = [f for f in overloads if fits(f)]
    exact = [f for f in fit if all(s.type == t or pa.types.is_null(s.type)
                                   for s, (_, t, _) in zip(given, f.params, strict=False))]
    chosen = exact or fit
    if len(chosen) == 1:
        return chosen[0]
    shown = ", ".join(sql_name(s.type) for s in given)
    sigs = "; ".join(f.signature for f in overloads)
    if not chosen:
        raise BindError(f"no function {name}({shown}) (there is {sigs})")
    raise BindError(f"call {name}({shown}) is ambiguous between {sigs}")


def _bind(session: Any, fn: UserFunction, given: list[pa.Scalar],
          by_name: dict[str, pa.Scalar]) -> dict[str, pa.Scalar]:
    out: dict[str, pa.Scalar] = {}
    for i, (p, t, default) in enumerate(fn.params):
        if i < len(given):
            v = given[i]
        elif p in by_name:
            v = by_name[p]
        else:
            assert default is not None
            v = _row(session, [parse_script(f"RETURN {default}").body[0].value.node])[0]
        out[p] = _cast(v, t, f"argument {p} of {fn.signature}")
    return out


def _cast(v: pa.Scalar, t: pa.DataType, what: str) -> pa.Scalar:
    if v.type == t:
        return v
    try:
        return v.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise BindError(f"{what} must be {sql_name(t)}, not {sql_name(v.type)} "
                        f"({v.as_py()!r})") from None
