"""Run test code in a fresh interpreter, so that a crash fails the test instead of killing
pytest, and check that the interpreter's own objects are intact.

``ac.Declaration("union", None, ...)`` once corrupted CPython's ``type`` object (its
``ob_type`` field counts up while the declaration lives) without crashing at once; the crash
came later, at the first unspecialised ``type(x)`` call anywhere. ``TYPE_CHECK`` lets a
script look for that kind of damage directly after each statement.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Paste into a script: ``type_intact()`` is True while ``type``'s header still names ``type``.
TYPE_CHECK = """
import ctypes as _ctypes
def type_intact():
    return _ctypes.c_void_p.from_address(id(type) + 8).value == id(type)
"""


def run_isolated(script: str, timeout: float = 120) -> str:
    """Run ``script`` with ``python -X faulthandler``; return its stdout, or fail with the
    signal that killed it and the end of its stderr (the native crash's Python stack)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script],
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no answer within {timeout} s") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise AssertionError(f"the interpreter died of {name}:\n{done.stderr[-3000:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
