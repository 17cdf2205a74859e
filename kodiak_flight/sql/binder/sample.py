"""TABLESAMPLE and USING SAMPLE as a :class:`plan.Sample` over the sampled input."""

from __future__ import annotations

from sqlglot import exp

from ..errors import BindError, NotSupportedError
from ..plan import Node, Sample

METHODS = ("BERNOULLI", "SYSTEM", "RESERVOIR")


def sampled(plan: Node, sample: exp.TableSample) -> Sample:
    """``plan`` sampled as ``sample`` says. SYSTEM (block) sampling is done row by row, a
    sample at least as random; a percentage with RESERVOIR draws exactly that share."""
    words = sample.sql(dialect="duckdb")
    for arg in ("bucket_numerator", "bucket_denominator", "bucket_field", "expressions"):
        if sample.args.get(arg):
            raise NotSupportedError(f"{words} is not supported")
    method = (sample.text("method") or "SYSTEM").upper()
    if method not in METHODS:
        raise NotSupportedError(f"{words} is not supported (sampling method {method})")
    seed = _number(sample.args.get("seed"), words, "seed")
    percent = sample.args.get("percent")
    size = sample.args.get("size") or sample.args.get("rows") or None
    if percent is not None:
        p = _number(percent, words, "percentage")
        if p is None or not 0 <= p <= 100:
            raise BindError(f"{words}: the sample percentage must be between 0 and 100")
        return Sample(plan, float(p), None, seed, exact=method == "RESERVOIR")
    if method in ("BERNOULLI", "SYSTEM"):  # as DuckDB: a count is a reservoir's
        raise NotSupportedError(f"{method} sampling of a row count is not supported: a row "
                                "count needs RESERVOIR sampling (or write a PERCENT)")
    n = _number(size, words, "size")
    if n is None or n < 0 or n != int(n):
        raise BindError(f"{words}: the sample size must be a non-negative whole number")
    return Sample(plan, None, int(n), seed)


def _number(e: exp.Expression | None, words: str, what: str) -> float | int | None:
    if e is None or isinstance(e, bool):
        return None
    if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal):
        raise BindError(f"{words}: the sample {what} must not be negative")
    if not isinstance(e, exp.Literal) or e.is_string:
        raise BindError(f"{words}: the sample {what} must be a number")
    v = float(e.name)
    return int(v) if v == int(v) else v
