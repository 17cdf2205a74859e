"""A pager for results taller than the screen, as psql does: ``$PAGER`` (default ``less
-FRSX``), only when output goes to a terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable

from rich.console import Console

DEFAULT = "less -FRSX"


def pager_command() -> list[str] | None:
    """The pager to run, or None when there is none (``PAGER`` empty, or not installed)."""
    text = os.environ.get("PAGER", DEFAULT)
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    if not words or shutil.which(words[0]) is None:
        return None
    return words


def show(console: Console, draw: Callable[[Console], object]) -> None:
    """Draw onto ``console``; through the pager when the output is taller than the terminal
    (and the console is a terminal)."""
    if not console.is_terminal:
        draw(console)
        return
    with console.capture() as capture:
        draw(console)
    text = capture.get()
    command = pager_command()
    if command is None or text.count("\n") < console.size.height - 1:
        console.file.write(text)
        console.file.flush()
        return
    try:
        subprocess.run(command, input=text.encode("utf-8"), check=False)
    except OSError:
        console.file.write(text)
        console.file.flush()
