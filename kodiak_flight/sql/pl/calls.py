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

from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..errors import BindError, suggest
from ..interrupt import Interrupt
from ..types import sql_name
from .errors import ControlError, PlLimit
from .functions import UserFunction, find_functions, scalar_only, search_path
from .interpreter import Interpreter, materialised
from .jobs import jobs_for
from .limits import limits_of
from .parser import parse_script
from .variables import CallLimits


def overloads_of(session: Any, name: str) -> list[UserFunction]:
    """The overloads of plain function ``name`` in the session's schema, else ``main``."""
    snap = session.snapshot()
    for schema in search_path(session.schema):
        found = find_functions(snap, schema, name)
        if found:
            return found
    return []


def call_function(session: Any, fn_name: str, args: list[exp.Expression]) -> pa.Scalar:
    """Run user function ``fn_name`` with ``args`` (expressions of the caller)."""
    overloads = overloads_of(session, fn_name)
    if not overloads:
        known = {o.definition.get("name", "") for o in session.snapshot().objects("function")}
        raise BindError(f"function {fn_name} does not exist" + suggest(fn_name, known))
    overloads = scalar_only(fn_name, overloads)
    positional = [a for a in args if not isinstance(a, exp.Kwarg)]
    named = {a.this.name.lower(): a.expression for a in args if isinstance(a, exp.Kwarg)}
    values = _row(session, [*positional, *named.values()])
    given = values[:len(positional)]
    by_name = dict(zip(named, values[len(positional):], strict=True))
    fn = _choose(overloads, fn_name, given, by_name)
    session.rights(session.snapshot()).require("execute", "function", f"{fn.schema}.{fn.name}")
    bound = _bind(session, fn, given, by_name)
    if fn.mode == "async":
        return submit_async(session, fn, bound)
    return run_function(session, fn, bound)


def submit_async(session: Any, fn: UserFunction, bound: dict[str, pa.Scalar]) -> pa.Scalar:
    """``CALL`` of an ``AS ASYNC`` function: its body runs as a background job in a session
    of its own (same user, schema and file rights); the call answers the job's id at once
    (``AWAIT`` it, or read ``kodiak_jobs``)."""
    def work(interrupt: Interrupt) -> pa.Table:
        own = session.detached()
        try:
            with own.running(f"CALL {fn.signature()}", interrupt):
                value = run_function(own, fn, bound)
            return pa.Table.from_arrays([pa.array([value.as_py()], value.type)],
                                        names=[fn.name])
        finally:
            own.close()
    job = jobs_for(session.db).submit(session.user, f"CALL {fn.signature()}", work,
                                      timeout=session.settings.values.get("job_timeout"))
    return pa.scalar(job, pa.string())


def run_function(session: Any, fn: UserFunction, bound: dict[str, pa.Scalar]) -> pa.Scalar:
    """The body run in a new frame holding the parameters; its value cast to ``returns``."""
    variables = session.variables
    limits: CallLimits = limits_of(session)  # the server's, or lower SET pl_max_... ones
    if len(variables.frames) >= limits.max_stack:
        raise PlLimit(f"call stack too deep calling {fn.signature()}: more than "
                      f"{limits.max_stack} nested calls (pl_max_stack)")
    if variables.calls.count(fn.signature()) >= limits.max_depth:
        raise PlLimit(f"recursion too deep in {fn.signature()}: more than {limits.max_depth} "
                      "nested calls of it (pl_max_depth)")
    variables.calls.append(fn.signature())
    try:
        value = _body_value(session, fn, bound)
    finally:
        variables.calls.pop()
    if value is None:
        raise ControlError(f"function {fn.signature()} ended without RETURN")
    return _cast(value, fn.return_type, f"the value of {fn.signature()}")


def _body_value(session: Any, fn: UserFunction, bound: dict[str, pa.Scalar]
                ) -> pa.Scalar | None:
    script = session.variables.bodies.script(fn, _parse_body)  # parsed once per version
    returned, value = Interpreter(session, script).run(bound)
    return value if returned or not fn.block else None


def _parse_body(fn: UserFunction) -> Any:
    if fn.block:
        return parse_script(fn.body, name=fn.signature())
    return _expression_body(parse_script(f"RETURN {fn.body}", name=fn.signature()), fn)


def _expression_body(script: Any, fn: UserFunction) -> Any:
    """An expression body names its parameters bare (``a * 2``): read them as ``$a``."""
    names = {p.name for p in fn.params}
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
        names = [p.name for p in fn.params]
        if len(given) > len(names) or any(n not in names[len(given):] for n in by_name):
            return False
        return all(p.default is not None or p.name in by_name
                   for p in fn.params[len(given):])
    fit = [f for f in overloads if fits(f)]
    exact = [f for f in fit if all(s.type == p.type or pa.types.is_null(s.type)
                                   for s, p in zip(given, f.params, strict=False))]
    chosen = exact or fit
    if len(chosen) == 1:
        return chosen[0]
    shown = ", ".join(sql_name(s.type) for s in given)
    sigs = "; ".join(f.signature() for f in overloads)
    if not chosen:
        raise BindError(f"no function {name}({shown}) (there is {sigs})")
    raise BindError(f"call {name}({shown}) is ambiguous between {sigs}")


def _bind(session: Any, fn: UserFunction, given: list[pa.Scalar],
          by_name: dict[str, pa.Scalar]) -> dict[str, pa.Scalar]:
    out: dict[str, pa.Scalar] = {}
    for i, p in enumerate(fn.params):
        if i < len(given):
            v = given[i]
        elif p.name in by_name:
            v = by_name[p.name]
        else:
            assert p.default is not None
            v = _row(session, [parse_script(f"RETURN {p.default}").body[0].value.node])[0]
        out[p.name] = _cast(v, p.type, f"argument {p.name} of {fn.signature()}")
    return out


def _cast(v: pa.Scalar, t: pa.DataType, what: str) -> pa.Scalar:
    if v.type == t:
        return v
    try:
        return v.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise BindError(f"{what} must be {sql_name(t)}, not {sql_name(v.type)} "
                        f"({v.as_py()!r})") from None
