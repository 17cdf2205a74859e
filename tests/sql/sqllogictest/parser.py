"""sqllogictest files as records.

The format (SQLite's, https://sqlite.org/sqllogictest/doc/trunk/about.wiki): records are
separated by blank lines; ``#`` starts a comment line. A record is optionally preceded by
``skipif ENGINE`` / ``onlyif ENGINE`` lines and is one of

* ``statement ok`` / ``statement error`` then the SQL;
* ``query TYPES [nosort|rowsort|valuesort] [LABEL]`` then the SQL, ``----`` and the expected
  values, one per line (or ``N values hashing to MD5``);
* ``hash-threshold N`` (results with more than N values are given as their hash);
* ``halt`` (stop reading the file; conditions apply to it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ENGINE = "kodiak"  # the name ``skipif`` / ``onlyif`` lines test for
SORT_MODES = ("nosort", "rowsort", "valuesort")
HASHED = re.compile(r"^(\d+) values hashing to ([0-9a-f]{32})$")


class FormatError(ValueError):
    """A record the parser cannot read; names the file and line."""


@dataclass
class Record:
    line: int  # 1-based line of the record's first (command) line
    conditions: list[tuple[str, str]] = field(default_factory=list)  # (skipif|onlyif, engine)

    def applies(self, engine: str = ENGINE) -> bool:
        """Whether the record runs on ``engine`` under its skipif/onlyif lines."""
        for kind, name in self.conditions:
            if kind == "skipif" and name == engine:
                return False
            if kind == "onlyif" and name != engine:
                return False
        return True


@dataclass
class Statement(Record):
    sql: str = ""
    expect_ok: bool = True


@dataclass
class Query(Record):
    sql: str = ""
    types: str = ""
    sort: str = "nosort"
    label: str | None = None
    expected: list[str] = field(default_factory=list)

    @property
    def expected_hash(self) -> tuple[int, str] | None:
        """(value count, md5) when the expected result is given as a hash."""
        if len(self.expected) == 1:
            m = HASHED.match(self.expected[0])
            if m:
                return int(m.group(1)), m.group(2)
        return None


@dataclass
class HashThreshold(Record):
    threshold: int = 0


@dataclass
class Halt(Record):
    pass


def parse_file(path: str | Path) -> list[Record]:
    text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    return parse(text, str(path))


def parse(text: str, name: str = "<text>") -> list[Record]:
    """The records of a sqllogictest text, in order."""
    lines = [ln.rstrip("\r\n").rstrip("\r") for ln in text.split("\n")]
    records: list[Record] = []
    i = 0
    while i < len(lines):
        block, start = [], i
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        i += 1
        if block:
            rec = _record(block, start + 1, name)
            if rec is not None:
                records.append(rec)
    return records


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0].strip()


def _record(block: list[str], first: int, name: str) -> Record | None:
    conditions: list[tuple[str, str]] = []
    k = 0
    while k < len(block):
        line = block[k]
        words = _strip_comment(line).split()
        if not words:  # a comment line
            k += 1
            continue
        if words[0] in ("skipif", "onlyif") and len(words) >= 2:
            conditions.append((words[0], words[1]))
            k += 1
            continue
        break
    if k == len(block):
        return None
    line_no = first + k
    words = _strip_comment(block[k]).split()
    body = block[k + 1:]
    head = words[0]
    if head == "statement" and len(words) >= 2 and words[1] in ("ok", "error"):
        return Statement(line_no, conditions, "\n".join(body), words[1] == "ok")
    if head == "query" and len(words) >= 2:
        return _query(words, body, line_no, conditions, name)
    if head == "hash-threshold" and len(words) == 2 and words[1].isdigit():
        return HashThreshold(line_no, conditions, int(words[1]))
    if head == "halt":
        return Halt(line_no, conditions)
    raise FormatError(f"{name}:{line_no}: unknown record {block[k]!r}")


def _query(words: list[str], body: list[str], line_no: int,
           conditions: list[tuple[str, str]], name: str) -> Query:
    sort = words[2] if len(words) >= 3 else "nosort"
    if sort not in SORT_MODES:
        raise FormatError(f"{name}:{line_no}: unknown sort mode {sort!r}")
    label = words[3] if len(words) >= 4 else None
    if "----" in body:
        cut = body.index("----")
        sql, expected = body[:cut], body[cut + 1:]
    else:
        sql, expected = body, []
    return Query(line_no, conditions, "\n".join(sql), words[1], sort, label, expected)
