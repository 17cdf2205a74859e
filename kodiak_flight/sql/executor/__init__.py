"""Executor: logical plan -> Acero declarations and vectorised pyarrow steps.

``core`` holds the ``Executor``, which runs each plan node through the operator function
registered for its type (``@operator``); the other modules hold the operators, one group
each, and the helpers they share.
"""

from __future__ import annotations

# importing the operator modules registers their operators
from . import (
    aggregate,
    cte,
    filter_project,
    generate,
    integer_decimals,
    join,
    sample,
    scan,
    setops,
    sort_limit,
    window,
)
from .aggregate import agg_spec, finalize
from .arrow_errors import execution_error
from .core import Executor, Out
from .kernels import evaluate_compiled

__all__ = ["Executor", "Out", "agg_spec", "aggregate", "cte", "evaluate_compiled",
           "execution_error", "filter_project", "finalize", "generate", "integer_decimals", "join", "sample", "scan", "setops",
           "sort_limit", "window"]
