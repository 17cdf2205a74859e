"""String functions on Arrow's ``utf8_*`` kernels. Kernels that take their parameters as
options (``match_like``, ``utf8_slice_codeunits``, ``utf8_lpad``...) need those arguments
to be constants; we say so in the error instead of falling back to row-by-row code."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BindError, ExecutionError, NotSupportedError
from ..expr import Expr, Lit, call, cast, lit
from ..types import is_string
from .lengths import char_length_kernel
from .registry import SCALAR, Function, constant, kernel, register
from .slices import char_index_kernel, characters_kernel, substring_kernel
from .substring import contains_kernel
from .udf import udf


def to_string(e: Expr) -> Expr:
    """``e`` as VARCHAR (string functions take any argument, as DuckDB's do)."""
    if is_string(e.type):
        return e
    if pa.types.is_null(e.type):
        return Lit(None, pa.string())
    return cast(e, pa.string())


def substring(args: list[Expr]) -> Expr:
    """``substring(s, start[, length])``, 1-based; a negative start counts from the end."""
    s = to_string(args[0])
    if not all(isinstance(a, Lit) for a in args[1:]) or (  # positions from columns, or
            len(args) > 2 and int(constant(args[2], "substring length")) < 0):  # before
        return udf("substring", substring_kernel,
                   [s, *[cast(a, pa.int64()) for a in args[1:]]], pa.string())
    start = int(constant(args[1], "substring start"))
    length = int(constant(args[2], "substring length")) if len(args) > 2 else None
    begin = start - 1  # SQL is 1-based; 0 behaves like 1 with length - 1
    if start < 0:  # counts from the end
        stop = start + length if length is not None else None
        if stop is not None and stop >= 0:
            stop = None
        opts = pc.SliceOptions(start, stop) if stop is not None else pc.SliceOptions(start)
        return call("utf8_slice_codeunits", [s], opts, what="substring")
    if start <= 0:
        stop = begin + length if length is not None else None
        begin = 0
        if stop is not None and stop <= 0:
            return call("utf8_slice_codeunits", [s], pc.SliceOptions(0, 0))
    else:
        stop = begin + length if length is not None else None
    opts = pc.SliceOptions(begin, stop) if stop is not None else pc.SliceOptions(begin)
    return call("utf8_slice_codeunits", [s], opts, what="substring")


def concat(args: list[Expr], skip_nulls: bool) -> Expr:
    """``concat`` (NULLs skipped: read as '') or ``||`` (a NULL makes NULL). Skipping is
    done by coalescing: the kernel's own ``null_handling="skip"`` drops rows whose inputs
    are all NULL (pyarrow 26) instead of giving ''."""
    if any(pa.types.is_binary(a.type) for a in args) and \
            all(pa.types.is_binary(a.type) or pa.types.is_null(a.type) for a in args):
        empty = Lit(b"", pa.binary())  # BLOBs join as BLOBs
        blobs = [a if pa.types.is_binary(a.type) else Lit(None, pa.binary()) for a in args]
        if skip_nulls:
            blobs = [call("coalesce", [a, empty]) for a in blobs]
        return call("binary_join_element_wise", [*blobs, empty], pc.JoinOptions("emit_null"),
                    what="concat")
    strs = [to_string(a) for a in args]
    if skip_nulls:
        strs = [call("coalesce", [a, lit("")]) for a in strs]
    return call("binary_join_element_wise", [*strs, lit("")], pc.JoinOptions("emit_null"),
                what="concat")


def like(args: list[Expr], ignore_case: bool = False) -> Expr:
    """``s LIKE pattern`` (``ILIKE`` with ``ignore_case``)."""
    if isinstance(args[1], Lit) and args[1].value is None:
        return Lit(None, pa.bool_())  # x LIKE NULL (a prepared pattern is unknown until bound)
    if not isinstance(args[1], Lit):
        from .like_columns import like_column  # (it builds on this module's to_string)

        return like_column(to_string(args[0]), to_string(args[1]), ignore_case)
    pat = constant(args[1], "LIKE pattern")
    regex = None if ignore_case else contains_regex(str(pat))
    s = to_string(args[0])
    needle = _one_part(str(pat)) if regex is not None else None
    if needle is not None and (pa.types.is_string(s.type) or pa.types.is_large_string(s.type)):
        return udf("like_contains", contains_kernel, [s, Lit(needle, pa.string())],
                   pa.bool_(), "LIKE", scalars=True)
    if regex is not None:
        return call("match_substring_regex", [s], pc.MatchSubstringOptions(regex),
                    what="LIKE")
    return call("match_like", [s],
                pc.MatchSubstringOptions(pat, ignore_case=ignore_case), what="LIKE")


def _one_part(pattern: str) -> str | None:
    """The literal of a ``%literal%`` pattern (no ``_``, no escape, one part), else None."""
    inner = pattern[1:-1]
    if len(pattern) < 3 or pattern[0] != "%" or pattern[-1] != "%" or \
            any(ch in inner for ch in "%_\\"):
        return None
    return inner


def contains_regex(pattern: str) -> str | None:
    """An unanchored RE2 search for a LIKE pattern ``%a%b...%`` (literal parts in order,
    ``%`` at both ends, no ``_``), or None for other patterns.

    Arrow's ``match_like`` anchors such a pattern (``^.*a.*b.*$``), so RE2 reads every
    string to its end, and a single ``%a%`` goes to a substring kernel that is slower than
    RE2: the search stops at the first match and cost about 30% less CPU on TPC-H Q13's
    ``o_comment NOT LIKE '%special%requests%'``. Escapes are Arrow's (a backslash makes the
    next character literal)."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 == len(pattern):
                return None
            cur.append(pattern[i + 1])
            i += 2
            continue
        if ch == "_":
            return None
        if ch == "%":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    if len(parts) < 3 or parts[0] or parts[-1]:
        return None
    lits = [re.escape(x) for x in parts if x]
    return "(?s)" + ".*".join(lits) if lits else None


def _strpos(args: list[Expr]) -> Expr:
    pat = constant(args[1], "strpos needle")
    s = to_string(args[0])
    found = call("find_substring", [s], pc.MatchSubstringOptions(pat))  # a byte position
    idx = udf("char_index", char_index_kernel, [s, found], pa.int32())
    return call("add_checked", [idx, cast(lit(1), idx.type)])


def _left(args: list[Expr]) -> Expr:
    if not isinstance(args[1], Lit):
        return _ends(args, left=True)
    n = int(constant(args[1], "left length"))
    return call("utf8_slice_codeunits", [to_string(args[0])], pc.SliceOptions(0, n))


def _ends(args: list[Expr], left: bool) -> Expr:
    """``left``/``right(s, n)`` with ``n`` from a column, as a substring (n < 0: all but
    the last / first -n characters)."""
    s, n = to_string(args[0]), cast(args[1], pa.int64())
    chars = cast(call("utf8_length", [s]), pa.int64())
    ahead = call("greater_equal", [n, lit(0)])
    rest = call("max_element_wise", [call("add", [chars, n]), lit(0)])
    if left:
        start, length = lit(1), call("if_else", [ahead, n, rest])
    else:
        back = call("max_element_wise", [call("subtract", [chars, n]), lit(0)])
        start = call("if_else", [ahead, call("add", [back, lit(1)]),
                                 call("subtract", [lit(1), n])])
        length = call("if_else", [ahead, n, chars])
    return udf("substring", substring_kernel, [s, start, length], pa.string())


def _right(args: list[Expr]) -> Expr:
    if not isinstance(args[1], Lit):
        return _ends(args, left=False)
    n = int(constant(args[1], "right length"))
    if n == 0 or n <= -(1 << 62):  # (nothing is left of a string that short)
        return call("utf8_slice_codeunits", [to_string(args[0])], pc.SliceOptions(0, 0))
    return call("utf8_slice_codeunits", [to_string(args[0])], pc.SliceOptions(-n))


def pad(args: list[Expr], left: bool) -> Expr:
    """``lpad``/``rpad(s, width[, padding])``."""
    fn = "utf8_lpad" if left else "utf8_rpad"
    width = int(constant(args[1], f"{fn} width"))
    if width > MAX_PAD:
        raise ExecutionError(f"{fn[5:]}'s width {width} is too large (at most {MAX_PAD:,})")
    padding = str(constant(args[2], f"{fn} padding")) if len(args) > 2 else " "
    if len(padding) != 1:  # Arrow pads with one character: the padding repeated, cut
        return _padded(to_string(args[0]), width, padding, left)
    padded = call(fn, [to_string(args[0])], pc.PadOptions(width, padding))
    # a longer string is cut to the width, keeping its start (PostgreSQL, DuckDB): Arrow
    # leaves it whole
    return call("utf8_slice_codeunits", [padded], pc.SliceOptions(0, max(width, 0)))


def _padded(s: Expr, width: int, padding: str, left: bool) -> Expr:
    """``lpad``/``rpad`` with a padding of several characters (or none): the padding
    repeated as often as the shortest value needs, cut to each value's shortfall."""
    kept = udf("substring", substring_kernel, [s, lit(1), lit(max(width, 0))], pa.string())
    if not padding:  # nothing to pad with: cut only (DuckDB's)
        return kept
    chars = cast(call("utf8_length", [kept]), pa.int64())
    short = call("subtract", [lit(max(width, 0)), chars])
    fill = lit(padding * (max(width, 0) // len(padding) + 1))
    piece = udf("substring", substring_kernel, [fill, lit(1), short], pa.string())
    return concat([piece, kept] if left else [kept, piece], skip_nulls=False)


MAX_PAD = 1 << 30  # lpad/rpad's widest result, in characters: a gigabyte of text a value


_TRIMS = {"both": ("utf8_trim_whitespace", "utf8_trim"),
          "leading": ("utf8_ltrim_whitespace", "utf8_ltrim"),
          "trailing": ("utf8_rtrim_whitespace", "utf8_rtrim")}


def trim(args: list[Expr], side: str = "both") -> Expr:
    """``trim(s[, characters])`` from ``side``: both, leading or trailing."""
    ws, chars = _TRIMS[side]
    if len(args) == 1:
        return call(ws, [to_string(args[0])])
    return call(chars, [to_string(args[0])],
                pc.TrimOptions(str(constant(args[1], "trim characters"))))


def _length(args: list[Expr]) -> Expr:
    e = args[0]
    if pa.types.is_list(e.type) or pa.types.is_large_list(e.type):  # len(list)
        return cast(call("list_value_length", [e]), pa.int64())
    if pa.types.is_binary(e.type):
        return call("binary_length", [e])
    s = to_string(e)
    if pa.types.is_string(s.type) or pa.types.is_large_string(s.type):
        out = pa.int64() if pa.types.is_large_string(s.type) else pa.int32()
        return udf("char_length", char_length_kernel, [s], out, "length")
    return call("utf8_length", [s], what="length")


def _matcher(fn: str) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        pat = constant(args[1], f"{fn} argument")
        return call(fn, [to_string(args[0])], pc.MatchSubstringOptions(pat))
    return build


# a regular expression's options, DuckDB's letters: RE2's inline flags (None: no flag)
_REGEX_OPTIONS = {"c": ("i", False), "i": ("i", True), "s": ("s", True), "m": ("s", False),
                  "n": ("s", False), "p": ("s", False)}
_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def regex_with_options(pattern: str, options: str, fn: str) -> tuple[str, bool]:
    """``pattern`` with DuckDB's option letters applied (c/i case, s/m/n/p whether '.'
    matches a newline, l literal), and whether 'g' (replace every match) was among them."""
    flags: dict[str, bool] = {}
    literal = every = False
    for ch in options:
        if ch in _REGEX_OPTIONS:
            flag, on = _REGEX_OPTIONS[ch]
            flags[flag] = on
        elif ch == "l":
            literal = True
        elif ch == "g" and fn == "regexp_replace":
            every = True
        elif not ch.isspace():
            raise BindError(f"{fn} does not know the option {ch!r} (c, i, l, m, n, p, s"
                            + (", g)" if fn == "regexp_replace" else ")"))
    if literal:
        pattern = _RE2_SPECIAL.sub(r"\\\1", pattern)
    inline = "".join(f for f, on in flags.items() if on)
    return (f"(?{inline}){pattern}" if inline else pattern), every


def regexp_matches(args: list[Expr]) -> Expr:
    pattern, _ = regex_with_options(str(constant(args[1], "regexp pattern")),
                                    str(constant(args[2], "regexp options"))
                                    if len(args) > 2 else "", "regexp_matches")
    return call("match_substring_regex", [to_string(args[0])],
                pc.MatchSubstringOptions(pattern))


def _regexp_replace(args: list[Expr]) -> Expr:
    flags = str(constant(args[3], "regexp flags")) if len(args) > 3 else ""
    pattern, every = regex_with_options(str(constant(args[1], "regexp pattern")), flags,
                                        "regexp_replace")
    opts = pc.ReplaceSubstringOptions(pattern, str(constant(args[2], "regexp replacement")),
                                      max_replacements=None if every else 1)
    return call("replace_substring_regex", [to_string(args[0])], opts)


def _replace(args: list[Expr]) -> Expr:
    pattern = str(constant(args[1], "replace pattern"))
    opts = pc.ReplaceSubstringOptions(pattern, str(constant(args[2], "replacement")))
    if not pattern:  # nothing to replace (Arrow's kernel would grow the string forever)
        return to_string(args[0])
    return call("replace_substring", [to_string(args[0])], opts)


def _repeat(args: list[Expr]) -> Expr:
    return call("binary_repeat", [to_string(args[0]), cast(args[1], pa.int64())])


def _split(s: Expr, sep: Expr, what: str) -> Expr:
    pattern = constant(sep, f"{what} separator")
    if pattern == "":  # the characters, as DuckDB splits
        return udf("characters", characters_kernel, [to_string(s)], pa.list_(pa.string()))
    return call("split_pattern", [to_string(s)], pc.SplitPatternOptions(str(pattern)),
                what=what)


def _string_split(args: list[Expr]) -> Expr:
    """``string_split(s, sep)``: the list of the pieces between separators."""
    return _split(args[0], args[1], "string_split")


def _split_part(args: list[Expr]) -> Expr:
    """``split_part(s, sep, n)``: the n-th piece (1-based, negative from the end), '' when
    there is none, as DuckDB gives."""
    from .lists import list_extract

    s, n = to_string(args[0]), cast(args[2], pa.int64())
    piece = list_extract([_split(s, args[1], "split_part"), n])
    found = call("coalesce", [piece, lit("")])
    missing = call("or", [call("is_null", [s]), call("is_null", [n])])
    return call("if_else", [missing, Lit(None, pa.string()), found])


def named_groups(pattern: str) -> tuple[str, int]:
    """``pattern`` with every unnamed capturing group named ``g1``, ``g2``... (Arrow's
    ``extract_regex`` reads named groups only) and the whole match as ``g0``; and the number
    of groups. Escapes and character classes are skipped."""
    out, i, k, in_class = [], 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # a leading ] is literal
                out.append(ch)
                ch, i = "]", i + 1
        elif ch == "(" and pattern[i + 1:i + 2] != "?":
            k += 1
            ch = f"(?P<g{k}>"
        elif ch == "(" and pattern[i + 1:i + 4] == "?P<":
            k += 1
        out.append(ch)
        i += 1
    return f"(?P<g0>{''.join(out)})", k


def _regexp_extract(args: list[Expr]) -> Expr:
    """``regexp_extract(s, pattern[, group])``: the group of the first match ('' if none)."""
    pattern = str(constant(args[1], "regexp pattern"))
    group = int(constant(args[2], "regexp_extract group")) if len(args) > 2 else 0
    named, count = named_groups(pattern)
    if not 0 <= group <= count:
        raise BindError(f"regexp_extract group {group} does not exist: the pattern has "
                        f"{count} group(s)")
    s = to_string(args[0])
    m = call("extract_regex", [s], pc.ExtractRegexOptions(named), what="regexp_extract")
    got = call("struct_field", [m], pc.StructFieldOptions([group]))
    found = call("coalesce", [got, lit("")])
    return call("if_else", [call("is_null", [s]), Lit(None, pa.string()), found])


def _octets(args: list[Expr]) -> Expr:
    """``strlen(s)``: the bytes of its UTF-8 encoding (DuckDB's; ``length`` counts
    characters)."""
    x = args[0]
    if not (pa.types.is_binary(x.type) or pa.types.is_large_binary(x.type)):
        x = call("cast", [to_string(x)], pc.CastOptions(pa.binary()))
    return cast(call("binary_length", [x], what="strlen"), pa.int64())


# the word delimiters sqlglot writes into every initcap call
_INITCAP_DELIMITERS = ' \t\n\r\x0c\x0b!"#$%&\'()*+,\\-./:;<=>?@\\[\\]^_`{|}~'


def _initcap(args: list[Expr]) -> Expr:
    if len(args) > 1 and constant(args[1], "initcap delimiters") != _INITCAP_DELIMITERS:
        raise NotSupportedError("initcap with delimiters of your own is not supported")
    return call("utf8_title", [to_string(args[0])], what="initcap")


def _full_match(args: list[Expr]) -> Expr:
    pattern = str(constant(args[1], "regexp_full_match pattern"))
    return call("match_substring_regex", [to_string(args[0])],
                pc.MatchSubstringOptions(f"^(?:{pattern})$"), what="regexp_full_match")


def _concat_ws(args: list[Expr]) -> Expr:
    """``concat_ws(sep, ...)``: NULL values skipped, NULL for a NULL separator. Each
    non-NULL value joined with the separator before it, the first separator cut off (the
    kernel's own NULL skipping drops rows, as ``concat`` notes)."""
    sep = str(constant(args[0], "concat_ws separator"))
    pieces = [call("coalesce", [concat([lit(sep), a], skip_nulls=False), lit("")])
              for a in args[1:] if not (isinstance(a, Lit) and a.value is None)]
    if not pieces:
        return lit("")
    joined = concat(pieces, skip_nulls=False)
    return call("utf8_slice_codeunits", [joined], pc.SliceOptions(len(sep)),
                what="concat_ws")


def _regexp_split(args: list[Expr]) -> Expr:
    pattern = str(constant(args[1], "regexp_split_to_array pattern"))
    if not pattern:
        raise NotSupportedError("regexp_split_to_array with an empty pattern is not supported")
    return call("split_pattern_regex", [to_string(args[0])],
                pc.SplitPatternOptions(pattern), what="regexp_split_to_array")


def _fn(name: str, build: Callable[[list[Expr]], Expr], lo: int = 1, hi: int | None = 1,
        aliases: tuple[str, ...] = (), doc: str = "") -> None:
    register(Function(name, SCALAR, build, lo, hi, aliases, doc=doc))


_fn("upper", kernel("utf8_upper", to_string), aliases=("ucase",), doc="upper case")
_fn("lower", kernel("utf8_lower", to_string), aliases=("lcase",), doc="lower case")
_fn("length", _length, aliases=("char_length", "character_length", "len"),
    doc="characters (bytes of a BLOB)")
_fn("strlen", _octets, aliases=("octet_length",), doc="bytes (UTF-8) of the value")
_fn("bit_length", lambda a: call("multiply", [_octets(a), lit(8)]), doc="bits of the value")
_fn("initcap", _initcap, 1, 2, doc="each word's first letter upper case, the rest lower")
_fn("regexp_full_match", _full_match, 2, 2, doc="whether the whole value matches (RE2)")
_fn("concat_ws", _concat_ws, 2, None,
    doc="concat_ws(sep, a, ...): the non-NULL values joined by sep")
_fn("regexp_split_to_array", _regexp_split, 2, 2, aliases=("string_split_regex",),
    doc="the pieces between matches of an RE2 pattern")
_fn("trim", trim, 1, 2, doc="strip spaces (or the given characters) from both ends")
_fn("ltrim", lambda a: trim(a, "leading"), 1, 2, doc="strip from the start")
_fn("rtrim", lambda a: trim(a, "trailing"), 1, 2, doc="strip from the end")
_fn("substring", substring, 2, 3, aliases=("substr",), doc="substring(s, start[, length])")
_fn("concat", lambda a: concat(a, skip_nulls=True), 1, None, doc="joined, NULLs skipped")
_fn("replace", _replace, 3, 3, doc="replace(s, from, to)")
_fn("starts_with", _matcher("starts_with"), 2, 2, aliases=("prefix", "startswith"))
_fn("ends_with", _matcher("ends_with"), 2, 2, aliases=("suffix",))
_fn("contains", _matcher("match_substring"), 2, 2, doc="has the substring")
_fn("strpos", _strpos, 2, 2, aliases=("instr", "position", "str_position", "strposition"),
    doc="1-based position of a substring, 0 if absent")
_fn("left", _left, 2, 2, doc="the first n characters")
_fn("right", _right, 2, 2, doc="the last n characters")
_fn("reverse", kernel("utf8_reverse", to_string))
_fn("lpad", lambda a: pad(a, left=True), 2, 3, doc="lpad(s, width[, padding])")
_fn("rpad", lambda a: pad(a, left=False), 2, 3, doc="rpad(s, width[, padding])")
_fn("regexp_matches", regexp_matches, 2, 3, aliases=("regexp_like",),
    doc="regexp_matches(s, re[, options]): RE2 search")
_fn("regexp_replace", _regexp_replace, 3, 4, doc="regexp_replace(s, re, to[, 'g'])")
_fn("repeat", _repeat, 2, 2)
_fn("like", like, 2, 2)
_fn("ilike", lambda a: like(a, ignore_case=True), 2, 2)
_fn("split_part", _split_part, 3, 3, doc="split_part(s, sep, n): the n-th piece")
_fn("string_split", _string_split, 2, 2, aliases=("split", "str_split", "string_to_array"),
    doc="string_split(s, sep): the list of pieces")
_fn("regexp_extract", _regexp_extract, 2, 3, doc="regexp_extract(s, re[, group])")
