"""The PL-Grizzly dialect: DuckDB's grammar, under our own name.

Subclassing keeps room for Kodiak-specific syntax without forking the parser, and gives one
place that turns sqlglot's parse failures into :class:`errors.ParseError` with a position.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ErrorLevel, TokenError
from sqlglot.errors import ParseError as _GlotParseError
from sqlglot.tokens import Token, TokenType

from .errors import ParseError
from .nesting import MAX_NESTING, check_nesting, guarded
from .pl import match, pipes
from .pl.syntax import function_command
from .secrets import using
from .triggers.syntax import trigger_command

# sqlglot warns on stderr whenever it keeps a statement it does not model as a generic
# Command (VACUUM, CALL ...); the statement registry decides what such a statement means.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def _pipe_set(self: Any, query: exp.Select) -> exp.Select:
    """``|> SET col = expr, ...``: replace columns in place (``SELECT * REPLACE``)."""
    items = []
    for eq in self._parse_csv(self._parse_assignment):
        if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
            self.raise_error("expected col = expression in |> SET")
            continue
        items.append(exp.alias_(eq.expression, eq.this.name, quoted=eq.this.this.quoted))
    return _settle(self, self._build_pipe_cte(query=query,
                                              expressions=[exp.Star(replace=items)]))


def _pipe_drop(self: Any, query: exp.Select) -> exp.Select:
    """``|> DROP col, ...``: remove columns (``SELECT * EXCLUDE``)."""
    cols = self._parse_csv(self._parse_column)
    return _settle(self, self._build_pipe_cte(query=query, expressions=[exp.Star(except_=cols)]))


def _pipe_rename(self: Any, query: exp.Select) -> exp.Select:
    """``|> RENAME a AS b, ...``: rename columns in place (``SELECT * RENAME``)."""
    items = []
    for item in self._parse_csv(lambda: self._parse_alias(self._parse_column())):
        if not isinstance(item, exp.Alias):
            self.raise_error("expected old AS new in |> RENAME")
            continue
        items.append(item)
    return _settle(self, self._build_pipe_cte(query=query, expressions=[exp.Star(rename=items)]))


def _pipe_call(self: Any, query: exp.Select) -> exp.Select:
    """``|> CALL f(args) [AS x]``: the query so far becomes a pipe CTE passed as ``f``'s
    first argument, ``SELECT * FROM f(<cte>, args) [AS x]`` (``pl/table_functions.py`` binds
    it)."""
    self._advance()  # CALL
    name = self._curr.text.lower() if self._curr else "it"
    call = self._parse_function()
    if not isinstance(call, exp.Anonymous):
        self.raise_error(f"|> CALL {name}: {name} is not a table function (|> CALL takes "
                         f"a user function declared RETURNS TABLE)")
        return query
    alias = None
    if self._match(TokenType.ALIAS):
        alias = self._parse_id_var(any_token=False)
        if alias is None:
            self.raise_error(f"expected a name after |> CALL {name}(...) AS")
    wrapped = self._build_pipe_cte(query=query, expressions=[exp.Star()])
    cte = wrapped.args["from_"].this
    call.set("expressions", [exp.column(cte.name), *call.expressions])
    table = exp.Table(this=call)
    if alias is not None:  # |> CALL f(args) AS x: the rows are x's from here on
        table.set("alias", exp.TableAlias(this=alias))
    wrapped.set("from_", exp.From(this=table))
    return wrapped


def _words_ahead(self: Any, *words: str) -> bool:
    """The next tokens are ``words`` (as plain words), consumed if so."""
    ahead = self._tokens[self._index:self._index + len(words)]
    if len(ahead) == len(words) and all(t.token_type in (TokenType.VAR, TokenType.COMMAND)
                                        and t.text.upper() == w
                                        for t, w in zip(ahead, words, strict=True)):
        self._advance(len(words))
        return True
    return False


def _word_statement(self: Any) -> exp.Expression | None:
    """``AWAIT <job id>`` and ``CANCEL JOB <job id>`` (``statements/jobs.py``) as a
    ``Command`` whose expression is the parsed id; the standard's ``START TRANSACTION`` as
    ``BEGIN``; None for any other statement."""
    for words in (("AWAIT",), ("CANCEL", "JOB")):
        if _words_ahead(self, *words):
            return exp.Command(this=" ".join(words), expression=self._parse_assignment())
    if _words_ahead(self, "START", "TRANSACTION"):
        self._retreat(self._index - 1)  # _parse_transaction reads TRANSACTION itself
        return self._parse_transaction()
    return None


def _settle(self: Any, query: exp.Select) -> exp.Select:
    """Wrap once more so the next operator sees the new columns (``|> WHERE`` appends to the
    current SELECT, whose WHERE would otherwise see the old ones)."""
    return self._build_pipe_cte(query=query, expressions=[exp.Star()])


def _first_item_joins(query: exp.Expr | None) -> exp.Expr | None:
    """FROM-first queries (``FROM a JOIN b``, ``FROM a, b SELECT ...``): sqlglot hangs the
    joins on the first FROM item; they move to the SELECT, where the binder reads joins."""
    select = query
    while isinstance(select, exp.SetOperation):
        select = select.this
    frm = select.args.get("from_") if isinstance(select, exp.Select) else None
    joins = frm.this.args.get("joins") if frm is not None else None
    if joins:
        frm.this.set("joins", None)
        select.set("joins", [*joins, *(select.args.get("joins") or [])])
    return query


_KEPT: dict[str, int] = {}  # sqlglot builder name -> most arguments it keeps (measured)


def _most_kept(name: str, builder: Any, dialect: Any) -> int:
    """How many column arguments sqlglot's builder for ``name`` keeps, at most: past that it
    drops the rest silently (``quantile_disc(x, 0.1, 50)``, ``ltrim(a, b, c)``)."""
    if name not in _KEPT:
        kept = 0
        for n in range(1, 9):
            args = [exp.column(f"__arg{i}") for i in range(n)]
            try:
                built = builder(args)
            except TypeError:
                built = builder(args, dialect=dialect)
            except Exception:  # (a builder refusing this count)
                continue
            if isinstance(built, exp.Expression) and any(x is args[-1] for x in built.walk()):
                kept = n
        _KEPT[name] = kept
    return _KEPT[name]


def _series(name: str) -> Any:
    """``range`` / ``generate_series`` as sqlglot builds them for 1 to 3 arguments; any other
    count stays a plain call of that name, so its error names the function and the count
    (sqlglot's builder would drop a fourth argument silently)."""
    build = DuckDB.Parser.FUNCTIONS[name.upper()]

    def builder(args: list[exp.Expression]) -> exp.Expression:
        if 1 <= len(args) <= 3:
            stop_only = len(args) == 1  # sqlglot puts in the start, 0
            node = build(args)
            node.meta["stop_only"] = stop_only
            return node
        return exp.Anonymous(this=name, expressions=args)
    return builder


def _date_trunc(args: list[exp.Expression]) -> exp.Expression:
    """``date_trunc(unit, x)`` as sqlglot builds it when the unit is a word, a text, NULL or
    a parameter; a unit from any other expression (a column) stays a plain call, so the
    binder sees the column (sqlglot would keep only its name, as though it were the unit)."""
    unit = args[0] if args else None
    if unit is None or isinstance(unit, (exp.Literal, exp.Null, exp.Placeholder, exp.Var)):
        return DuckDB.Parser.FUNCTIONS["DATE_TRUNC"](args)
    return exp.Anonymous(this="date_trunc", expressions=args)


def _replace_into(self: Any) -> exp.Insert:
    """SQLite's and MySQL's ``REPLACE INTO t ...``: ``INSERT OR REPLACE INTO t ...``."""
    if not self._match(TokenType.INTO, advance=False):
        self.raise_error("expected INTO after REPLACE")
    node = self._parse_insert()
    node.set("alternative", "REPLACE")
    return node


# an interval text with both a unit name and a time of day ('1 day 02:30:00')
_UNITS_AND_TIME = re.compile(r"(?=.*[A-Za-z])(?=.*\d:\d)")
# ... or ending in 'ago' (PostgreSQL's negation: '6 months ago'), which sqlglot drops
_AGO = re.compile(r"\sago\s*$", re.IGNORECASE)


class Grizzly(DuckDB):
    """PL-Grizzly: DuckDB syntax (``FROM t``, ``EXCLUDE``/``REPLACE``, ``GROUP BY ALL``...).

    Pipe syntax (``FROM t |> WHERE ... |> AGGREGATE ... GROUP BY ... |> ORDER BY ...``) comes
    from sqlglot, which rewrites each step into a CTE; we add the operators it lacks:
    ``|> SET col = expr``, ``|> DROP col`` and ``|> RENAME a AS b`` (``|> CALL`` is refused
    by name). ``AWAIT`` and ``CANCEL JOB`` are statements of background jobs.
    """

    # the name a call was typed with, kept on the node for error messages (sqlglot turns
    # strftime into TimeToStr, version into CurrentVersion...): ``binder.calls.typed_name``
    ORIGINAL_NAME_META_KEY = "typed_name"

    class Tokenizer(DuckDB.Tokenizer):
        HEX_STRINGS = [("x'", "'"), ("X'", "'")]  # x'303132': a BLOB literal (SQLite's)
        IDENTIFIERS = ['"', "`"]  # `my table`: MySQL's quoting, which DuckDB reads too

    class Generator(DuckDB.Generator):
        TRANSFORMS = {**DuckDB.Generator.TRANSFORMS,
                      exp.HexString: lambda self, e: f"x'{e.this}'"}  # round trips (views)

        def function_name(self, expression: exp.Func) -> str:
            """sqlglot's own name, never the typed one: argument order is sqlglot's."""
            return expression.sql_name()

    class Parser(DuckDB.Parser):
        FUNCTIONS = {**DuckDB.Parser.FUNCTIONS, "RANGE": _series("range"),
                     "GENERATE_SERIES": _series("generate_series"),
                     "DATE_TRUNC": _date_trunc, "DATETRUNC": _date_trunc,
                     # secret('name' [, field]): one or two arguments (secrets/reveal.py)
                     "SECRET": lambda args: exp.Anonymous(this="secret", expressions=args)}
        # PL-Grizzly's MATCH expression (pl/match.py)
        NO_PAREN_FUNCTION_PARSERS = {**DuckDB.Parser.NO_PAREN_FUNCTION_PARSERS,
                                     "MATCH": match.parse_match}

        def _parse_interval_span(self, this: exp.Expr, parse_function_unit: bool = True
                                 ) -> exp.Interval:
            """``INTERVAL '1 day 02:30:00'`` and ``INTERVAL '6 months ago'`` kept whole
            (sqlglot keeps the first number-unit pair and drops the rest); the binder reads
            the text."""
            if this is not None and this.is_string and (_UNITS_AND_TIME.search(this.name)
                                                        or _AGO.search(this.name)):
                return self.expression(exp.Interval(this=this))
            return super()._parse_interval_span(this, parse_function_unit)

        def _parse_type(self, parse_interval: bool = True,
                        fallback_to_identifier: bool = False) -> exp.Expr | None:
            """``TIMESTAMP '...'::VARCHAR`` casts the typed constant: sqlglot applies the
            ``::`` (and other column operators) to the text before the type."""
            if not (self._curr and self._next and self._next.token_type == TokenType.STRING
                    and self._curr.token_type in self.TYPE_TOKENS
                    and self._curr.token_type != TokenType.INTERVAL):
                return super()._parse_type(parse_interval, fallback_to_identifier)
            self.COLUMN_OPERATORS = {}
            try:
                typed = super()._parse_type(parse_interval, fallback_to_identifier)
            finally:
                del self.COLUMN_OPERATORS  # (the class's again)
            return self._parse_column_ops(typed)

        def _parse_bitwise(self) -> exp.Expr | None:
            """Operands joined by value pipes, ``expr |> f(y)`` (pl/pipes.py)."""
            return pipes.value_pipes(self, super()._parse_bitwise(), self._parse_bitwise)

        def validate_expression(self, expression: Any, args: Any = None) -> Any:
            """A call with the wrong arguments is refused naming the function as typed
            (sqlglot's own message names its class: ``TimeToStr`` for strftime)."""
            if self.error_level != ErrorLevel.IGNORE and (
                    isinstance(expression, exp.Func) and expression.error_messages(args)
                    or self._dropped(expression, args)):
                name = self._called_name() or expression.sql_name().lower()
                self.raise_error(f"wrong number of arguments to {name}()")
                return expression
            return super().validate_expression(expression, args)

        def _parse_distinct_arg_function(self, func: Any, distinct_index: int = 0) -> Any:
            """``quantile_disc([DISTINCT] x, q)`` and the like, their arguments checked as any
            call's (sqlglot builds these without, dropping a third argument)."""
            is_distinct = self._match(TokenType.DISTINCT)
            if not is_distinct:
                self._match(TokenType.ALL)
            args = [self._parse_lambda()]
            if self._match(TokenType.COMMA):
                args.extend(self._parse_function_args())
            if is_distinct and distinct_index < len(args):
                args[distinct_index] = self.expression(
                    exp.Distinct(expressions=[args[distinct_index]]))
            return self.validate_expression(func.from_arg_list(args), args)

        def _dropped(self, call: exp.Expression, args: Any) -> bool:
            """Whether sqlglot's builder left out arguments of the call being parsed."""
            if not isinstance(args, list) or not args or isinstance(call, exp.Anonymous) or \
                    any(x is args[-1] for x in call.walk()):
                return False
            name = (self._called_name() or "").upper()
            builder = self.FUNCTIONS.get(name)
            return builder is not None and len(args) > _most_kept(name, builder, self.dialect)

        def _called_name(self) -> str | None:
            """The name before the innermost open parenthesis (the call being parsed)."""
            depth, i = 0, self._index - 1
            while i > 0:
                tt = self._tokens[i].token_type
                if tt == TokenType.R_PAREN:
                    depth += 1
                elif tt == TokenType.L_PAREN:
                    if depth == 0:
                        return self._tokens[i - 1].text.lower()
                    depth -= 1
                i -= 1
            return None

        STATEMENT_PARSERS = {**DuckDB.Parser.STATEMENT_PARSERS,
                             TokenType.REPLACE: lambda self: _replace_into(self)}
        PIPE_SYNTAX_TRANSFORM_PARSERS = {
            **DuckDB.Parser.PIPE_SYNTAX_TRANSFORM_PARSERS,
            "SET": lambda self, query: (self._advance(), _pipe_set(self, query))[1],
            "DROP": lambda self, query: (self._advance(), _pipe_drop(self, query))[1],
            "RENAME": lambda self, query: (self._advance(), _pipe_rename(self, query))[1],
            "CALL": _pipe_call,
        }

        def _parse_statement(self) -> exp.Expr | None:
            return _word_statement(self) or super()._parse_statement()

        def _parse_select_query(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
            return _first_item_joins(super()._parse_select_query(*args, **kwargs))

        def _parse_function_args(self, alias: bool = False) -> list[exp.Expr]:
            """Arguments, then ``USING SECRET name`` as ``secret := 'name'``
            (``secrets/using.py``)."""
            args = super()._parse_function_args(alias)
            secret = using.call_secret(self)
            return args if secret is None else [*args, secret]

        def _parse_copy(self) -> exp.Copy | exp.Command:
            """COPY, with a trailing ``USING SECRET name`` as its (SECRET name) option."""
            whole = self._tokens
            part, name = using.split_copy_secret(whole)
            if name is None:
                return super()._parse_copy()
            self._tokens, self._tokens_size = part, len(part)
            self._advance(0)
            try:
                copy = super()._parse_copy()
            finally:
                self._tokens, self._tokens_size = whole, len(whole)
                self._advance(0)
            if isinstance(copy, exp.Copy):
                copy.append("params", using.copy_secret(name))
                self._advance(3)
            else:  # not COPY's own grammar: read it as a command, whole
                copy = self._parse_as_command(whole[0])
            return copy

        def _parse_function_call(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
            """A call, keeping its source text in ``meta["call"]``: the result column it
            makes is named by what the user typed (``binder/naming.py``), which sqlglot's
            tree no longer says (the alias called, the arguments' order)."""
            start = self._curr
            call = super()._parse_function_call(*args, **kwargs)
            end = self._prev
            if isinstance(call, exp.Func) and start is not None and end is not None and \
                    self.sql and end.token_type == TokenType.R_PAREN:
                call.meta["call"] = self.sql[start.start:end.end + 1]
            return call


_LOCAL = threading.local()  # per thread: the last text it tokenized, and its tokens
_REMEMBERED = 8192  # characters: a longer text's tokens are not kept (a bulk INSERT's)
_TOKENIZERS: list[Any] = []  # idle tokenizers (gRPC's worker threads come and go)


def tokenize(sql: str) -> list[Token]:
    """``sql``'s tokens (raises ``TokenError``). Tokenizers are reused (making one costs a
    fifth of tokenizing a short lookup), and a thread keeps the tokens of its last text,
    which one statement asks for more than once (``shapes``, then ``parse``)."""
    last = getattr(_LOCAL, "last", None)
    if last is not None and last[0] == sql:
        return list(last[1])
    try:
        tokenizer = _TOKENIZERS.pop()
    except IndexError:
        tokenizer = Grizzly().tokenizer()
    try:
        tokens = tokenizer.tokenize(sql)
    finally:
        _TOKENIZERS.append(tokenizer)
    _LOCAL.last = (sql, tokens) if len(sql) <= _REMEMBERED else None
    return list(tokens)


def number_placeholders(sql: str) -> str:
    """Rewrite each ``?`` placeholder as ``$N`` (N by position) so all are numbered."""
    try:
        tokens = tokenize(sql)
    except TokenError:
        return sql
    out, last, n = [], 0, 0
    for t in tokens:
        if t.token_type == TokenType.PLACEHOLDER and t.text == "?":
            n += 1
            out.append(sql[last:t.start])
            out.append(f"${n}")
            last = t.end + 1
    if not n:
        return sql
    out.append(sql[last:])
    return "".join(out)


_EXPLAIN = re.compile(r"^\s*explain\s+(analy[sz]e\s+)?", re.IGNORECASE)
# SQLite's and PostgreSQL's REINDEX name (sqlglot reads it as a column with an alias)
_REINDEX = re.compile(r"^\s*reindex(?:\s+(?P<name>[\w.\"]+))?\s*;?\s*$", re.IGNORECASE)


def parse(sql: str, max_nesting: int = MAX_NESTING) -> list[exp.Expression]:
    """Parse one or more statements; raise :class:`ParseError` naming line, column and token,
    or :class:`TooComplex` for text nested deeper than ``max_nesting`` parentheses."""
    check_nesting(sql, max_nesting)
    m = _EXPLAIN.match(sql)
    if m:
        inner = sql[m.end():]
        parse(inner, max_nesting)  # syntax errors surface with their own position
        verb = "EXPLAIN ANALYZE" if m.group(1) else "EXPLAIN"  # statements/explain.py
        return [exp.Command(this=verb, expression=exp.Literal.string(inner))]
    command = function_command(sql) or trigger_command(sql)  # functions.py, trigger.py
    if command is not None:
        return [command]
    m = _REINDEX.match(sql)
    if m:  # statements/reindex.py
        return [exp.Command(this="REINDEX", expression=exp.Literal.string(m["name"] or ""))]
    sql = number_placeholders(sql)
    try:
        with guarded():
            stmts = sqlglot.parse(sql, read=Grizzly, error_level=ErrorLevel.RAISE)
    except _GlotParseError as e:
        info = e.errors[0] if e.errors else {}
        line, col = info.get("line"), info.get("col")
        token = (info.get("highlight") or "").strip() or None
        desc = info.get("description") or str(e)
        desc = re.sub(r"<Token token_type: TokenType\.SENTINEL[^>]*>", "end of input", desc)
        desc = re.sub(r"<Token token_type: TokenType\.(\w+), text: ([^,]*),[^>]*>",
                      lambda m: repr(m.group(2)), desc)
        where = f" at line {line}, column {col}" if line is not None else ""
        near = f" near {token!r}" if token else ""
        raise ParseError(f"syntax error{where}{near}: {desc}", line, col, token) from None
    except TokenError as e:
        raise ParseError(f"syntax error: {e}") from None
    # a comment after the last ";" parses as a Semicolon node: not a statement
    out = [s for s in stmts if s is not None and not isinstance(s, exp.Semicolon)]
    if not out:
        raise ParseError("empty statement")
    return out
