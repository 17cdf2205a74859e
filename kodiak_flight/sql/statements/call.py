"""``CALL name(args)``: a user function's value as a one-row result (``pl/calls.py``); a
built-in function (or any expression) as ``SELECT name(args)``."""

from __future__ import annotations

from sqlglot import exp

from ..dialect import parse
from ..errors import ParseError
from ..execution import ExecContext
from ..pl.calls import call_function, overloads_of
from ..pl.interpreter import materialised, one_row
from ..result import Result
from .registry import Statement, register


@register
class Call(Statement):
    node = exp.Command
    writes = False  # its body's statements take their own transactions, as a script's do

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == "CALL"

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        arg = node.args.get("expression")
        text = (arg if isinstance(arg, str) else arg.name if arg is not None else "").strip()
        call = parse("SELECT " + text)[0].expressions[0] if text else None
        if not isinstance(call, exp.Func):
            raise ParseError(f"CALL needs a function call, not {text!r}")
        name = call.name if isinstance(call, exp.Anonymous) else \
            text.split("(", 1)[0].strip()
        if isinstance(call, exp.Anonymous) and overloads_of(ex.session, name):
            return one_row(call_function(ex.session, name, list(call.expressions)),
                           name.lower())
        return materialised(ex.session.run_statement(exp.Select(expressions=[call])))
