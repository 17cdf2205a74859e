"""CASE branches computed unguarded when the projection computes them anyway.

A CASE branch that can raise (checked decimal arithmetic) is bound guarded: its operands
are masked with ``if_else(taken, x, NULL)`` so rows the branch does not take cannot raise
(``functions.operators.guard``). TPC-H Q14 asks for
``sum(CASE WHEN p_type LIKE 'PROMO%' THEN price * (1 - disc) ELSE 0 END)`` next to
``sum(price * (1 - disc))``: the masked branch costs three ``if_else`` per operand and its
arithmetic cannot be shared with the unmasked one.

Arrow evaluates every expression of a projection on every row, so when the same expression
also appears unmasked anywhere in the projection, any error it can raise is raised anyway:
the branch may read it unmasked (on the rows the branch takes, the masks are no-ops), and
``shared_subexpressions`` then computes it once.
"""

from __future__ import annotations

from typing import Any

from ..expr import Call, Expr, Lit, call, lit
from ..functions.operators import guard
from ..plan import Node, Project
from .util import key


def unguard_case_branches(node: Node) -> Node:
    """The rule: in every projection, a CASE branch whose unmasked expression the
    projection computes anyway reads that expression."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Project):
            evaluated = {key(x) for _, e in n.exprs for x in e.walk() if isinstance(x, Call)}
            n.exprs = [(i, _rewrite(e, evaluated)) for i, e in n.exprs]
        stack.extend(n.children())
    return node


def _rewrite(e: Expr, evaluated: set[Any]) -> Expr:
    if not isinstance(e, Call):
        return e
    args = tuple(_rewrite(a, evaluated) for a in e.args)
    if e.fn == "case_when" and isinstance(args[0], Call) and args[0].fn == "make_struct" \
            and len(args) == len(args[0].args) + 2:
        args = _unguarded(args, evaluated)
    return Call(e.fn, args, e.options, e.type)


def _unguarded(args: tuple[Expr, ...], evaluated: set[Any]) -> tuple[Expr, ...]:
    """``case_when``'s arguments with each branch the binder guarded, and whose unguarded
    form is in ``evaluated``, unguarded (the guards as ``functions.operators.case_when``
    builds them)."""
    conds = args[0].args  # type: ignore[attr-defined]
    out = list(args)
    taken: Expr = lit(False)
    hits = []
    for c in conds:
        hits.append(call("and_kleene", [call("invert", [taken]),
                                        call("coalesce", [c, lit(False)])]))
        taken = call("or_kleene", [taken, call("coalesce", [c, lit(False)])])
    hits.append(call("invert", [taken]))
    for k, hit in enumerate(hits):
        v = args[k + 1]
        plain = _unmasked(v)
        if plain is not v and key(plain) in evaluated and key(guard(plain, hit)) == key(v):
            out[k + 1] = plain
    return tuple(out)


def _unmasked(e: Expr) -> Expr:
    """``e`` with every ``if_else(g, x, NULL)`` replaced by ``x`` (checked by the caller to
    be exactly the guard's masks)."""
    if not isinstance(e, Call):
        return e
    if e.fn == "if_else" and len(e.args) == 3 and isinstance(e.args[2], Lit) and \
            e.args[2].value is None:
        return _unmasked(e.args[1])
    args = tuple(_unmasked(a) for a in e.args)
    if all(a is b for a, b in zip(args, e.args, strict=True)):
        return e
    return Call(e.fn, args, e.options, e.type)
