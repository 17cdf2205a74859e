"""The Window operator: window functions over the whole input (``sql/window.py``)."""

from __future__ import annotations

from ..plan import Window
from .core import Executor, Out, operator


@operator(Window)
def run_window_node(ex: Executor, node: Window) -> Out:
    # imported here: the window module uses this package's evaluation helpers
    from ..window import run_window
    t = ex.as_table(ex.run(node.input))
    return Out(table=run_window(ex, node, t), ordered=False)
