"""SQL functions: the registry (``registry``) and the families that register into it, one
module each, plus the operators the binder calls directly.

Importing this package registers every built-in function. To add one, write it in the
module of its family and ``register`` a ``Function`` record (see docs/sql.md).
"""

from __future__ import annotations

from . import (
    aggregates,
    aggregates_more,
    aggregates_stats,
    bits,
    calendar_names,
    codepoints,
    conditional,
    dates,
    distances,
    formatting,
    hashing,
    list_aggregates,
    lists,
    make_times,
    math,
    math_more,
    random_values,
    series,
    strings,
    structs,
    system,
    tables,
    time_buckets,
    timestamps,
    windows,
)
from .operators import (
    and_,
    arith,
    as_condition,
    case_when,
    coalesce,
    coerce_literal,
    compare,
    guard,
    in_list,
    narrow_int_literal,
    not_,
    or_,
    unify,
)
from .registry import (
    AGGREGATE,
    IMMUTABLE,
    SCALAR,
    STABLE,
    TABLE,
    VOLATILE,
    WINDOW,
    AggregateSpec,
    Function,
    aggregate_spec,
    apply,
    check_arity,
    constant,
    functions,
    generation,
    kernel,
    lookup,
    register,
    require,
    result_type,
    strict,
    unregister,
)
from .tables import table_function

__all__ = [
    "AGGREGATE", "IMMUTABLE", "SCALAR", "STABLE", "TABLE", "VOLATILE", "WINDOW",
    "AggregateSpec", "Function", "aggregate_spec", "aggregates", "aggregates_more", "and_", "apply", "arith",
    "aggregates_stats", "bits", "calendar_names", "codepoints",
    "as_condition", "case_when", "check_arity", "coalesce", "coerce_literal", "compare",
    "conditional", "constant", "dates", "distances", "formatting", "functions", "generation", "guard", "in_list",
    "kernel", "lookup", "make_times", "math", "math_more", "narrow_int_literal", "not_", "or_", "random_values", "register", "require", "result_type",
    "strict",
    "hashing", "list_aggregates", "lists", "series", "strings", "structs", "system", "table_function", "time_buckets", "timestamps",
    "tables", "unify", "unregister", "windows",
]
