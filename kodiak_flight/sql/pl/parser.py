"""Scripts and blocks: split a script into statements and control-flow constructs.

The text is tokenized by our dialect's tokenizer (so strings, comments and quoted names are
never mistaken for keywords); each SQL statement or expression between the constructs'
keywords is handed to the dialect's parser as it is today (``ast.Code``). A script is
recognised by :func:`is_script`: a statement starting with a PL keyword, a ``BEGIN`` that
opens a block rather than a transaction, or a ``{name}`` interpolation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..dialect import Grizzly
from ..errors import ParseError
from . import ast
from .variables import has_interpolation

_PL_START = {"LET", "IF", "WHILE", "FOR", "RETURN", "BREAK", "CONTINUE", "RAISE", "TRY"}
_HINT = re.compile(r"\b(let|if|while|for|return|break|continue|raise|try|begin)\b|\{",
                   re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a keyword may name a variable too
_TRANSACTION_WORDS = {"TRANSACTION", "WORK"}
_END_OF = {"IF", "WHILE", "FOR", "TRY", "LOOP"}  # END IF ...: not a BEGIN's END
_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE}


def is_script(sql: str) -> bool:
    """Whether ``sql`` needs the interpreter (else it is plain SQL for the session)."""
    if not _HINT.search(sql):
        return False
    try:
        tokens = Grizzly().tokenize(sql)
    except TokenError:
        return False
    i = 0
    while i < len(tokens):
        if _word(tokens[i]) in _PL_START or _opens_block(tokens, i):
            return True
        end = function_end(tokens, i)
        if end is not None:  # a CREATE FUNCTION's body is the function's, not the script's
            if end < len(tokens):
                return True  # more statements follow it: a script
            break
        while i < len(tokens) and tokens[i].token_type != TokenType.SEMICOLON:
            i += 1
        i += 1
    return has_interpolation(sql)


def function_end(tokens: list[Token], i: int) -> int | None:
    """Where the ``CREATE [OR REPLACE] FUNCTION`` statement starting at token ``i`` ends
    (the index after it and its ``;``), or None if none starts there. A ``BEGIN ... END``
    body holds semicolons of its own: its end is the ``END`` that closes its ``BEGIN``
    (``END IF``, ``END WHILE``... close constructs that are not counted; ``CASE ... END``
    is)."""
    words = [_word(t) for t in tokens[i:i + 4]]
    if words[:2] != ["CREATE", "FUNCTION"] and words[:4] != ["CREATE", "OR", "REPLACE",
                                                            "FUNCTION"] and not \
            (words[:1] == ["CREATE"] and "TRIGGER" in words[1:3]):  # [TEMP] TRIGGER too
        return None
    depth, j = 0, i
    while j < len(tokens):
        t = tokens[j]
        if t.token_type == TokenType.SEMICOLON and depth == 0:
            return j + 1
        if t.token_type in (TokenType.BEGIN, TokenType.CASE):
            depth += 1
        elif t.token_type == TokenType.END and \
                _word(tokens[j + 1] if j + 1 < len(tokens) else t) not in _END_OF:
            depth -= 1
            if depth == 0:
                nxt = j + 1
                return nxt + 1 if nxt < len(tokens) and \
                    tokens[nxt].token_type == TokenType.SEMICOLON else nxt
        j += 1
    return j


def parse_script(sql: str, name: str = "script") -> ast.Script:
    """The script's AST; a syntax error names its line and column in ``sql``."""
    try:
        tokens = Grizzly().tokenize(sql)
    except TokenError as e:
        raise ParseError(f"syntax error: {e}") from None
    p = _Parser(sql, tokens)
    body = p.body(lambda: p.at_end())
    return ast.Script(body, name)


def _word(t: Token) -> str:
    return t.text.upper() if t.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) \
        else ""


def _opens_block(tokens: list[Token], i: int) -> bool:
    """``BEGIN`` followed by a statement (a block), not ``BEGIN [TRANSACTION | WORK];``."""
    if tokens[i].token_type != TokenType.BEGIN:
        return False
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    return nxt is not None and nxt.token_type != TokenType.SEMICOLON and \
        _word(nxt) not in _TRANSACTION_WORDS


class _Parser:
    def __init__(self, sql: str, tokens: list[Token]) -> None:
        self.sql = sql
        self.tokens = tokens
        self.i = 0

    # -- tokens ---------------------------------------------------------------------------

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return _word(self.tokens[j]) if j < len(self.tokens) else ""

    def at(self, *words: str) -> bool:
        return all(self.peek(k) == w for k, w in enumerate(words))

    def line(self) -> int:
        return self.tokens[min(self.i, len(self.tokens) - 1)].line if self.tokens else 1

    def error(self, message: str) -> ParseError:
        if self.at_end():
            return ParseError(f"syntax error at end of script: {message}")
        t = self.tokens[self.i]
        return ParseError(f"syntax error at line {t.line}, column {t.col} near {t.text!r}: "
                          f"{message}", t.line, t.col, t.text)

    def expect(self, *words: str) -> None:
        for w in words:
            if self.peek() != w:
                raise self.error(f"expected {' '.join(words)}")
            self.i += 1

    def semicolon(self) -> None:
        """A statement's closing ``;`` (optional at the end of the script)."""
        if self.at_end():
            return
        if self.tokens[self.i].token_type != TokenType.SEMICOLON:
            raise self.error("expected ;")
        self.i += 1

    def name(self) -> str:
        t = self.tokens[self.i] if not self.at_end() else None
        if t is None or not (t.token_type == TokenType.IDENTIFIER or _NAME.match(t.text)):
            raise self.error("expected a name")
        t = self.tokens[self.i]
        self.i += 1
        return t.text

    def text_until(self, stop: Callable[[], bool], what: str) -> tuple[str, int]:
        """The source text from here to where ``stop`` holds at nesting depth 0 (outside
        parentheses and CASE ... END), and the line it starts on."""
        start, line, depth, cases = self.i, self.line(), 0, 0
        while not self.at_end():
            t = self.tokens[self.i]
            if depth == 0 and cases == 0 and stop():
                break
            if t.token_type in _OPEN:
                depth += 1
            elif t.token_type in _CLOSE:
                depth -= 1
            elif t.token_type == TokenType.CASE:
                cases += 1
            elif t.token_type == TokenType.END and cases:
                cases -= 1
            self.i += 1
        if self.i == start:
            raise self.error(f"expected {what}")
        last = self.tokens[self.i - 1]
        return self.sql[self.tokens[start].start:last.end + 1], line

    def code(self, text: str, line: int, expression: bool) -> ast.Code:
        """``text`` parsed by the dialect, its errors placed at the script's line."""
        try:
            return ast.Code(text, expression)
        except ParseError as e:
            if e.line is None:
                raise
            at = line + e.line - 1
            msg = re.sub(r"at line \d+", f"at line {at}", str(e), count=1)
            raise ParseError(msg, at, e.column, e.token) from None

    def semi(self) -> bool:
        return self.tokens[self.i].token_type == TokenType.SEMICOLON

    # -- statements -----------------------------------------------------------------------

    def body(self, stop: Callable[[], bool], closer: str = "END") -> list[ast.Node]:
        out: list[ast.Node] = []
        while not stop():
            if self.at_end():
                raise self.error(f"the block is not closed ({closer} missing)")
            if self.semi():  # an empty statement
                self.i += 1
                continue
            out.append(self.statement())
        return out

    def statement(self) -> ast.Node:
        line, word = self.line(), self.peek()
        handler = getattr(self, f"_{word.lower()}", None) if word in _PL_START | {"SET"} \
            else None
        if _opens_block(self.tokens, self.i):
            handler = self._begin
        if handler is not None:
            node = handler(line)
            if node is not None:
                return node
        end = function_end(self.tokens, self.i)
        if end is not None:  # CREATE FUNCTION: its body's semicolons are its own
            first, last = self.tokens[self.i], self.tokens[end - 1]
            stop = last.start if last.token_type == TokenType.SEMICOLON else last.end + 1
            self.i = end
            return ast.Sql(line, self.code(self.sql[first.start:stop], line,
                                           expression=False))
        text, line = self.text_until(self.semi, "a statement")
        self.semicolon()
        return ast.Sql(line, self.code(text, line, expression=False))

    def _begin(self, line: int) -> ast.Node:
        self.expect("BEGIN")
        body = self.body(lambda: self.at("END") and self.peek(1) in ("", ";"))
        self.expect("END")
        self.semicolon()
        return ast.Block(line, body)

    def _assignment(self) -> tuple[str, ast.Code]:
        if self.tokens[self.i].token_type == TokenType.PARAMETER:
            self.i += 1  # SET $x = ... reads as SET x = ...
        name = self.name()
        if self.at_end() or self.tokens[self.i].token_type not in (TokenType.EQ,
                                                                   TokenType.COLON_EQ):
            raise self.error("expected = after the variable's name")
        self.i += 1
        return name.lower(), self.value()

    def value(self) -> ast.Code:
        """An expression up to ``;``, or ``CALL f(...)`` (its one value)."""
        call = self.at("CALL")
        text, line = self.text_until(self.semi, "an expression")
        self.semicolon()
        return self.code(text, line, expression=not call)

    def _let(self, line: int) -> ast.Node:
        self.expect("LET")
        return ast.Let(line, *self._assignment())

    def _set(self, line: int) -> ast.Node | None:
        """``SET [VARIABLE] name = expr``; any other SET stays SQL (refused by name there)."""
        j = 2 if self.peek(1) == "VARIABLE" else 1
        k = self.i + j + (1 if self.i + j < len(self.tokens) and
                          self.tokens[self.i + j].token_type == TokenType.PARAMETER else 0)
        if k + 1 >= len(self.tokens) or \
                self.tokens[k + 1].token_type not in (TokenType.EQ, TokenType.COLON_EQ):
            return None
        self.i += j
        return ast.Assign(line, *self._assignment())

    def _if(self, line: int) -> ast.Node:
        self.expect("IF")
        branches = [self._branch()]
        otherwise = None
        while True:
            if self.at("ELSIF") or self.at("ELSEIF"):
                self.i += 1
                branches.append(self._branch())
            elif self.at("ELSE"):
                self.i += 1
                otherwise = self.body(lambda: self.at("END", "IF"), "END IF")
            else:
                break
        self.expect("END", "IF")
        self.semicolon()
        return ast.If(line, branches, otherwise)

    def _branch(self) -> tuple[ast.Code, list[ast.Node]]:
        text, line = self.text_until(lambda: self.at("THEN"), "a condition")
        self.expect("THEN")
        body = self.body(lambda: self.at("ELSIF") or self.at("ELSEIF") or self.at("ELSE")
                         or self.at("END", "IF"), "END IF")
        return self.code(text, line, expression=True), body

    def _while(self, line: int) -> ast.Node:
        self.expect("WHILE")
        text, cline = self.text_until(lambda: self.at("DO"), "a condition")
        self.expect("DO")
        body = self.body(lambda: self.at("END", "WHILE"), "END WHILE")
        self.expect("END", "WHILE")
        self.semicolon()
        return ast.While(line, self.code(text, cline, expression=True), body)

    def _for(self, line: int) -> ast.Node:
        self.expect("FOR")
        var = self.name().lower()
        self.expect("IN")
        if self.at_end() or self.tokens[self.i].token_type != TokenType.L_PAREN:
            raise self.error("expected ( query ) after IN")
        self.i += 1
        text, qline = self.text_until(
            lambda: self.tokens[self.i].token_type == TokenType.R_PAREN, "a query")
        self.i += 1
        self.expect("DO")
        body = self.body(lambda: self.at("END", "FOR"), "END FOR")
        self.expect("END", "FOR")
        self.semicolon()
        return ast.For(line, var, self.code(text, qline, expression=False), body)

    def _return(self, line: int) -> ast.Node:
        self.expect("RETURN")
        if self.at_end() or self.semi():
            self.semicolon()
            return ast.Return(line, None)
        return ast.Return(line, self.value())

    def _break(self, line: int) -> ast.Node:
        self.expect("BREAK")
        self.semicolon()
        return ast.Break(line)

    def _continue(self, line: int) -> ast.Node:
        self.expect("CONTINUE")
        self.semicolon()
        return ast.Continue(line)

    def _raise(self, line: int) -> ast.Node:
        self.expect("RAISE")
        if self.at_end() or self.semi():
            self.semicolon()
            return ast.Raise(line, None)
        type_name = self.name().lower()
        args: list[tuple[str, ast.Code]] = []
        if not self.at_end() and self.tokens[self.i].token_type == TokenType.L_PAREN:
            self.i += 1
            while self.tokens[self.i].token_type != TokenType.R_PAREN:
                field = self.name().lower()
                if self.tokens[self.i].token_type not in (TokenType.FARROW,
                                                          TokenType.COLON_EQ):
                    raise self.error("expected field => value")
                self.i += 1
                text, aline = self.text_until(
                    lambda: self.tokens[self.i].token_type in (TokenType.COMMA,
                                                               TokenType.R_PAREN), "a value")
                args.append((field, self.code(text, aline, expression=True)))
                if self.tokens[self.i].token_type == TokenType.COMMA:
                    self.i += 1
            self.i += 1
        self.semicolon()
        return ast.Raise(line, type_name, args)

    def _try(self, line: int) -> ast.Node:
        self.expect("TRY")
        body = self.body(lambda: self.at("CATCH") or self.at("END", "TRY"), "END TRY")
        catches = []
        while self.at("CATCH"):
            self.i += 1
            type_name = self.name().lower()
            alias = None
            if self.at("AS"):
                self.i += 1
                alias = self.name().lower()
            self.expect("THEN")
            catches.append(ast.Catch(type_name, alias, self.body(
                lambda: self.at("CATCH") or self.at("END", "TRY"), "END TRY")))
        if not catches:
            raise self.error("TRY needs at least one CATCH")
        self.expect("END", "TRY")
        self.semicolon()
        return ast.Try(line, body, catches)
