"""Function calls in the AST: the canonical name of a call and its argument list, shared by
scalar, aggregate and window binding."""

from __future__ import annotations

from sqlglot import exp

# other spellings of a function (sqlglot names and SQL dialect synonyms) -> ours
FUNC_ALIASES = {
    "str_position": "strpos", "strposition": "strpos", "timestamp_trunc": "date_trunc",
    "regexp_like": "regexp_matches", "pow": "power", "group_concat": "string_agg",
    "percentile_cont": "quantile_cont", "percentile_disc": "quantile_disc",
    "logical_and": "bool_and", "logical_or": "bool_or", "array_agg": "list",
    "stddev": "stddev_samp", "variance": "var_samp", "variance_pop": "var_pop",
    "variance_samp": "var_samp", "char_length": "length",
    "length": "length", "avg": "avg", "ceil": "ceil", "approx_distinct": "approx_count_distinct",
    "regexp_replace": "regexp_replace", "concat_ws": "concat_ws", "day_of_week": "dayofweek",
    "day_of_month": "day", "dayofmonth": "day", "any_value": "any_value", "ln": "ln",
    "date_part": "date_part", "datetrunc": "date_trunc", "substr": "substring",
    "starts_with": "starts_with", "startswith": "starts_with", "to_date": "to_date",
    "current_date": "current_date",
}


def func_args(node: exp.Expression) -> list[exp.Expression]:
    """The argument expressions of a function call, in sqlglot's argument order."""
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    out: list[exp.Expression] = []
    for k in type(node).arg_types:
        v = node.args.get(k)
        if isinstance(v, list):
            out.extend(x for x in v if isinstance(x, exp.Expression))
        elif isinstance(v, exp.Expression):
            out.append(v)
    return out


def function_name(node: exp.Expression) -> str:
    """The lower-case name ``node`` calls, after ``FUNC_ALIASES``."""
    name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
    name = name.lower()
    return FUNC_ALIASES.get(name, name)
