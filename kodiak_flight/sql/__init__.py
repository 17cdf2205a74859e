"""PL-Grizzly: Kodiak's SQL layer (parse -> bind -> plan -> optimise -> Acero).

``Session``, ``Result``, ``Prepared`` and ``FileAccess`` are imported on first use, so that a
client importing one light module of the package (``sql.formats`` for the ``kodiak`` command)
does not load the whole layer.
"""

from typing import Any

from .errors import (
    AccessDenied,
    BindError,
    ExecutionError,
    InternalError,
    NotSupportedError,
    ParameterError,
    ParseError,
    PermissionDenied,
    SqlError,
    SqlTypeError,
    TooComplex,
    TransactionError,
)

__all__ = ["Session", "Result", "Prepared", "SqlError", "ParseError", "BindError",
           "SqlTypeError", "NotSupportedError", "ParameterError", "TransactionError",
           "ExecutionError", "AccessDenied", "TooComplex", "FileAccess", "InternalError",
           "PermissionDenied"]


_LAZY = {"Session": "session", "Result": "session", "Prepared": "session", "FileAccess": "files"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
