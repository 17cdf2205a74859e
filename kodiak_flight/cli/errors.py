"""The error a command raises to stop with a message for the user."""

from __future__ import annotations


class CliError(Exception):
    """A message for the user; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
