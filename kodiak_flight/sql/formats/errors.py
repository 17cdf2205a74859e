"""The formats' one error class."""

from __future__ import annotations

from ..errors import BindError


class FormatError(BindError):
    """A file cannot be read or written in the format asked for (or no format is known)."""
