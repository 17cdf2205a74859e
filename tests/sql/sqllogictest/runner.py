"""Run sqllogictest files against an embedded Kodiak (an engine database in a temporary
directory and a :class:`kodiak_flight.sql.Session`), one fresh database per file."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.interrupt import Interrupt

from . import classify
from .parser import Halt, HashThreshold, Query, Record, Statement, parse_file
from .values import flatten, format_rows, md5_of


@dataclass
class Outcome:
    """What became of one record."""

    line: int
    kind: str  # "statement" or "query"
    sql: str
    status: str  # "ok", "failed" or "skipped"
    reason: str = ""  # the error text or the mismatch, for a failure
    category: str = ""  # classify's name for the failure's cause
    seconds: float = 0.0


@dataclass
class FileReport:
    path: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    halted_at: int | None = None

    def count(self, kind: str, status: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind and o.status == status)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileReport:
        return cls(d["path"], [Outcome(**o) for o in d["outcomes"]], d["seconds"],
                   d.get("halted_at"))


def query_table(session: Session, sql: str, timeout: float | None) -> pa.Table:
    """Run ``sql`` and read its whole result (an empty table for a statement)."""
    interrupt = Interrupt(time.monotonic() + timeout, timeout) if timeout else None
    res = session.execute(sql, interrupt=interrupt)
    if res.reader is None:
        return pa.table({})
    return res.reader.read_all()


class Runner:
    """Runs the records of one file in order on one session."""

    def __init__(self, session: Session, timeout: float | None = 60.0,
                 explain: bool = True) -> None:
        self.session = session
        self.timeout = timeout
        self.explain = explain  # re-run failing queries with SQLite's division to name why
        self.labels: dict[str, tuple[str, int]] = {}  # label -> (hash, first line)

    def run(self, records: list[Record], report: FileReport,
            before: Callable[[Record], None] | None = None) -> None:
        for rec in records:
            if before:
                before(rec)
            if isinstance(rec, Halt):
                if rec.applies():
                    report.halted_at = rec.line
                    return
                continue
            if isinstance(rec, HashThreshold):  # each expected result shows its own form
                continue
            report.outcomes.append(self.record(rec))

    def record(self, rec: Record) -> Outcome:
        assert isinstance(rec, (Statement, Query))
        kind = "statement" if isinstance(rec, Statement) else "query"
        if not rec.applies():
            return Outcome(rec.line, kind, rec.sql, "skipped")
        start = time.perf_counter()
        out = self.statement(rec) if isinstance(rec, Statement) else self.query(rec)
        out.seconds = time.perf_counter() - start
        return out

    def statement(self, rec: Statement) -> Outcome:
        try:
            query_table(self.session, rec.sql, self.timeout)
        except Exception as e:  # noqa: BLE001 - every failure is an outcome to report
            reason, category = classify.error(e, rec.sql)
            if rec.expect_ok or classify.is_internal(category):  # the wrong error is a bug
                return self.failed(rec, "statement", reason, category)
            return Outcome(rec.line, "statement", rec.sql, "ok")
        if not rec.expect_ok:
            return self.failed(rec, "statement", "the statement succeeded but should fail",
                               "error expected")
        return Outcome(rec.line, "statement", rec.sql, "ok")

    def query(self, rec: Query) -> Outcome:
        try:
            table = query_table(self.session, rec.sql, self.timeout)
        except Exception as e:  # noqa: BLE001
            reason, category = classify.error(e, rec.sql)
            if self.explain and classify.explainable(category):
                category = classify.dialect(self.session, rec, self.compare,
                                            self.timeout) or category
            return self.failed(rec, "query", reason, category)
        problem = self.compare(rec, table)
        if problem is None:
            return Outcome(rec.line, "query", rec.sql, "ok")
        category = "wrong result"
        if self.explain:
            category = classify.dialect(self.session, rec, self.compare,
                                        self.timeout) or category
        return self.failed(rec, "query", problem, category)

    def compare(self, rec: Query, table: pa.Table) -> str | None:
        """None when ``table`` is the record's expected result, else what differs."""
        if table.num_columns != len(rec.types):
            return (f"the result has {table.num_columns} columns, the record's types "
                    f"{rec.types!r} say {len(rec.types)}")
        rows = format_rows(table, rec.types)
        values = flatten(rows, rec.sort)
        digest = md5_of(values)
        problem = _differs(rec, rows, values, digest)
        if problem is None and rec.label is not None:  # only right answers set a label
            seen = self.labels.setdefault(rec.label, (digest, rec.line))
            if seen[0] != digest:
                return (f"the result differs from the earlier query labelled {rec.label} "
                        f"(line {seen[1]})")
        return problem

    def failed(self, rec: Statement | Query, kind: str, reason: str,
               category: str) -> Outcome:
        return Outcome(rec.line, kind, rec.sql, "failed", reason, category)


def _differs(rec: Query, rows: list[list[str]], values: list[str], digest: str) -> str | None:
    want = rec.expected_hash
    if want is not None:
        if (len(values), digest) != want:
            return (f"expected {want[0]} values hashing to {want[1]}, got {len(values)} "
                    f"values hashing to {digest}{_sample(values)}")
        return None
    if values == rec.expected or _row_lines(rows, rec) == rec.expected:
        return None
    return f"expected {_show(rec.expected)}, got {_show(values)}"


def _row_lines(rows: list[list[str]], rec: Query) -> list[str] | None:
    """Rows one per line, values separated by spaces (how some other corpora write them)."""
    if len(rec.types) < 2 or len(rec.expected) != len(rows):
        return None
    lines = [" ".join(r) for r in (sorted(rows) if rec.sort == "rowsort" else rows)]
    return lines if rec.sort != "valuesort" else None


def _show(values: list[str], limit: int = 12) -> str:
    shown = ", ".join(values[:limit])
    more = f", ... ({len(values)} values)" if len(values) > limit else ""
    return f"[{shown}{more}]"


def _sample(values: list[str]) -> str:
    return f" (first values: {_show(values, 6)})" if values else " (no rows)"


def run_file(path: str | Path, timeout: float | None = 60.0, explain: bool = True,
             before: Callable[[Record], None] | None = None) -> FileReport:
    """Run one file on a fresh database; the report lists every record's outcome."""
    report = FileReport(str(path))
    start = time.perf_counter()
    records = parse_file(path)
    with tempfile.TemporaryDirectory(prefix="kodiak-slt-") as tmp:
        db = engine.Database.open(str(Path(tmp) / "db"))
        session = Session(db)
        try:
            Runner(session, timeout, explain).run(records, report, before)
        finally:
            session.close()
            close = getattr(db, "close", None)
            if close:
                close()
    report.seconds = time.perf_counter() - start
    return report
