"""PL-Grizzly: Kodiak's SQL layer (parse -> bind -> plan -> optimise -> Acero)."""

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
from .files import FileAccess
from .session import Prepared, Result, Session

__all__ = ["Session", "Result", "Prepared", "SqlError", "ParseError", "BindError",
           "SqlTypeError", "NotSupportedError", "ParameterError", "TransactionError",
           "ExecutionError", "AccessDenied", "TooComplex", "FileAccess", "InternalError",
           "PermissionDenied"]
