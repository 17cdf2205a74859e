"""Signatures of built-in functions as ``SHOW FUNCTIONS`` lists them: argument types and
the result type.

A scalar function's result type is the type of the expression its builder makes (Arrow's
kernel decides it), so the registry cannot compute it without binding a call. Its common
forms are written here once, each with an example call; ``tests/sql/test_pl_limits.py``
binds every example and checks that the call gives the type written, so the list cannot
drift from what the binder does. An aggregate's signatures come from its registry record
(``accepts`` and ``result``) over the common argument types. A function with neither shows
its argument count. Window and table functions have written forms too (checked the same
way); the file readers' result is the file's columns.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pyarrow as pa

from ..expr import Lit
from ..types import sql_name
from .registry import AGGREGATE, Function, functions


@dataclass(frozen=True)
class Signature:
    name: str
    params: tuple[str, ...]  # SQL type names, lower case
    returns: str
    example: str = ""  # a call giving this signature (the test binds it)

    def parameters(self) -> str:
        return ", ".join(self.params)


# name(type example, ...) -> result: one common form per line
_FORMS = """
abs(bigint -7::bigint) -> bigint
abs(double -7.5::double) -> double
acos(double 0.5::double) -> double
asin(double 0.5::double) -> double
atan(double 0.5::double) -> double
cos(double 0.5::double) -> double
sin(double 0.5::double) -> double
tan(double 0.5::double) -> double
exp(double 1.0::double) -> double
ln(double 2.0::double) -> double
log10(double 100.0::double) -> double
log2(double 8.0::double) -> double
log(double 100.0::double) -> double
log(double 2.0::double, double 8.0::double) -> double
sqrt(double 2.0::double) -> double
ceil(double 1.5::double) -> double
floor(double 1.5::double) -> double
trunc(double 1.5::double) -> double
round(bigint 15::bigint) -> bigint
round(double 1.55::double) -> double
round(double 1.55::double, bigint 1::bigint) -> double
sign(double -2.0::double) -> double
mod(bigint 7::bigint, bigint 3::bigint) -> bigint
mod(double 7.5::double, double 2.0::double) -> double
power(double 2.0::double, double 3.0::double) -> double
pi() -> double
greatest(bigint 1::bigint, bigint 2::bigint) -> bigint
bit_count(bigint 7::bigint) -> tinyint
xor(bigint 12::bigint, bigint 10::bigint) -> bigint
least(bigint 1::bigint, bigint 2::bigint) -> bigint
upper(varchar 'abc') -> varchar
lower(varchar 'ABC') -> varchar
length(varchar 'abc') -> integer
strlen(varchar 'abc') -> bigint
ascii(varchar 'a') -> integer
chr(bigint 65::bigint) -> varchar
concat_ws(varchar '-', varchar 'a', varchar 'b') -> varchar
regexp_split_to_array(varchar 'a1b', varchar '[0-9]') -> varchar[]
trim(varchar ' abc ') -> varchar
ltrim(varchar ' abc') -> varchar
rtrim(varchar 'abc ') -> varchar
reverse(varchar 'abc') -> varchar
concat(varchar 'a', varchar 'b') -> varchar
substring(varchar 'abcdef', bigint 2::bigint, bigint 3::bigint) -> varchar
left(varchar 'abcdef', bigint 2::bigint) -> varchar
right(varchar 'abcdef', bigint 2::bigint) -> varchar
lpad(varchar 'ab', bigint 5::bigint, varchar '*') -> varchar
rpad(varchar 'ab', bigint 5::bigint, varchar '*') -> varchar
repeat(varchar 'ab', bigint 3::bigint) -> varchar
replace(varchar 'abc', varchar 'b', varchar 'x') -> varchar
split_part(varchar 'a-b-c', varchar '-', bigint 2::bigint) -> varchar
string_split(varchar 'a-b', varchar '-') -> varchar[]
strpos(varchar 'abc', varchar 'b') -> integer
contains(varchar 'abc', varchar 'b') -> boolean
starts_with(varchar 'abc', varchar 'a') -> boolean
ends_with(varchar 'abc', varchar 'c') -> boolean
like(varchar 'abc', varchar 'a%') -> boolean
ilike(varchar 'abc', varchar 'A%') -> boolean
regexp_matches(varchar 'abc', varchar 'b+') -> boolean
regexp_replace(varchar 'abc', varchar 'b', varchar 'x') -> varchar
regexp_extract(varchar 'abc', varchar 'b+') -> varchar
md5(varchar 'abc') -> varchar
sha256(varchar 'abc') -> varchar
hash(varchar 'abc') -> ubigint
current_date() -> date
now() -> timestamptz
year(date date '2024-05-06') -> bigint
quarter(date date '2024-05-06') -> bigint
month(date date '2024-05-06') -> bigint
day(date date '2024-05-06') -> bigint
dayofweek(date date '2024-05-06') -> bigint
date_part(varchar 'year', date date '2024-05-06') -> bigint
date_trunc(varchar 'month', timestamp timestamp '2024-05-06 07:08:09') -> timestamp
date_trunc(varchar 'month', date date '2024-05-06') -> date
date_diff(varchar 'day', date date '2024-05-06', date date '2024-06-06') -> bigint
date_add(date date '2024-05-06', interval interval 1 day) -> timestamp
date_add(timestamp timestamp '2024-05-06 07:08:09', interval interval 2 hour) -> timestamp
make_date(bigint 2024::bigint, bigint 5::bigint, bigint 6::bigint) -> date
strftime(timestamp timestamp '2024-05-06 07:08:09', varchar '%Y') -> varchar
strptime(varchar '2024', varchar '%Y') -> timestamp
age(timestamp timestamp '2024-05-06 07:08:09', timestamp timestamp '2024-01-01') -> interval
array_length(bigint[] [1, 2, 3]::bigint[]) -> bigint
list_value(bigint 1::bigint, bigint 2::bigint) -> bigint[]
list_contains(bigint[] [1, 2]::bigint[], bigint 2::bigint) -> boolean
list_extract(bigint[] [1, 2]::bigint[], bigint 1::bigint) -> bigint
list_slice(bigint[] [1, 2, 3]::bigint[], bigint 1::bigint, bigint 2::bigint) -> bigint[]
ifnull(bigint 1::bigint, bigint 2::bigint) -> bigint
nullif(bigint 1::bigint, bigint 2::bigint) -> bigint
if(boolean true, bigint 1::bigint, bigint 2::bigint) -> bigint
typeof(bigint 1::bigint) -> varchar
struct_extract(struct {'x': 1::bigint}, varchar 'x') -> bigint
version() -> varchar
"""

_FORM = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\) -> (?P<returns>.+)$")
_ARG = re.compile(r"^(?P<type>\w+(?:\[\])?) (?P<example>.+)$")


def _parse(line: str) -> Signature:
    m = _FORM.match(line.strip())
    if m is None:
        raise ValueError(f"bad signature line {line!r}")
    args = [_ARG.match(a.strip()) for a in _split(m["args"])]
    if any(a is None for a in args):
        raise ValueError(f"bad signature line {line!r}")
    example = f"{m['name']}({', '.join(a['example'] for a in args if a)})"
    return Signature(m["name"], tuple(a["type"] for a in args if a), m["returns"], example)


def _split(args: str) -> list[str]:
    """The arguments of a form, split at commas outside brackets."""
    out, depth, cur = [], 0, ""
    for ch in args:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return [a for a in [*out, cur] if a.strip()]


SCALAR_FORMS: tuple[Signature, ...] = tuple(_parse(x) for x in _FORMS.splitlines() if x.strip())

# Window functions (the test runs each example with OVER (ORDER BY range) over range(3)); a
# value function's result has its first argument's type, one common type written per form.
_WINDOW_FORMS = """
row_number() -> bigint
rank() -> bigint
dense_rank() -> bigint
percent_rank() -> double
cume_dist() -> double
ntile(bigint 2::bigint) -> bigint
lag(bigint 1::bigint) -> bigint
lag(bigint 1::bigint, bigint 1::bigint, bigint 0::bigint) -> bigint
lead(bigint 1::bigint) -> bigint
lead(double 1.5::double, bigint 1::bigint, double 0.0::double) -> double
first_value(varchar 'a') -> varchar
last_value(varchar 'a') -> varchar
nth_value(double 1.5::double, bigint 1::bigint) -> double
"""
WINDOW_FORMS: tuple[Signature, ...] = tuple(_parse(x) for x in _WINDOW_FORMS.splitlines()
                                            if x.strip())

# Table functions: the result is the table's column and its type (the test runs
# ``SELECT * FROM <example>``); the file readers' columns come from the file.
_TABLE_FORMS = """
range(bigint 5::bigint) -> table(range bigint)
range(bigint 0::bigint, bigint 5::bigint, bigint 1::bigint) -> table(range bigint)
generate_series(bigint 0::bigint, bigint 5::bigint, bigint 1::bigint) -> table(generate_series bigint)
generate_series(timestamp timestamp '2024-01-01', timestamp timestamp '2024-01-02', interval interval 1 hour) -> table(generate_series timestamp)
generate_series(date date '2024-01-01', date date '2024-01-03', interval interval 1 day) -> table(generate_series timestamp)
"""
TABLE_FORMS: tuple[Signature, ...] = tuple(_parse(x) for x in _TABLE_FORMS.splitlines()
                                           if x.strip())
FILE_READERS = ("read_csv", "read_parquet", "read_json", "read_ndjson", "read_arrow")
READER_FORMS: tuple[Signature, ...] = tuple(
    Signature(n, ("varchar", "name := value ..."), "table (the file's columns)")
    for n in FILE_READERS)

# argument types an aggregate's signatures are computed over (from its registry record)
AGGREGATE_INPUTS = (pa.int64(), pa.float64(), pa.decimal128(18, 2), pa.string(), pa.date32(),
                    pa.timestamp("us"), pa.bool_())


def aggregate_forms(fn: Function) -> list[Signature]:
    """``fn``'s one-argument forms over the common types, from ``accepts`` and ``result``."""
    spec = fn.aggregate
    if fn.kind != AGGREGATE or fn.result is None or fn.min_args != 1 or spec is None or \
            spec.parameter is not None:  # quantiles: the second argument is part of it
        return []
    out = []
    for t in AGGREGATE_INPUTS:
        if fn.accepts is not None and not fn.accepts(t):
            continue
        if spec.runs_as is not None and not (pa.types.is_integer(t) or
                                             pa.types.is_floating(t) or
                                             pa.types.is_decimal(t)):
            continue  # median of dates is accepted but fails as it runs (a known gap)
        try:
            prepare = spec.prepare
            if prepare is not None:
                prepare(Lit(None, t))  # refuses what the aggregate cannot take
            r = fn.result([t])
        except Exception:  # noqa: BLE001 - the rules refuse this type: no such form
            continue
        out.append(Signature(fn.name, (sql_name(t).lower(),), sql_name(r).lower(),
                             f"{fn.name}(CAST(NULL AS {sql_name(t)}))"))
    return out


@functools.lru_cache(maxsize=4)
def _by_name(generation: int) -> dict[str, list[Signature]]:
    out: dict[str, list[Signature]] = {}
    for s in (*SCALAR_FORMS, *WINDOW_FORMS, *TABLE_FORMS, *READER_FORMS):
        out.setdefault(s.name, []).append(s)
    for fn in functions(AGGREGATE):
        forms = aggregate_forms(fn)
        if forms:
            out[fn.name] = forms
    return out


def signatures(fn: Function, generation: int) -> list[Signature]:
    """The known signatures of built-in ``fn`` (empty: only its argument count is known)."""
    return _by_name(generation).get(fn.name, [])


__all__ = ["AGGREGATE_INPUTS", "FILE_READERS", "READER_FORMS", "SCALAR_FORMS", "TABLE_FORMS",
           "WINDOW_FORMS", "Signature", "aggregate_forms", "signatures"]
