"""The committed list of known failures: one line per failing record,
``FILE:LINE  CATEGORY`` (FILE relative to the corpus directory), ``#`` comments.

A crash or an internal error (Python exception text reaching the user) is a bug to fix,
never a known failure: :func:`load` refuses such lines.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .classify import is_internal
from .runner import FileReport

DATA = Path(__file__).parent / "data"
KNOWN = Path(__file__).parent / "known_failures.txt"


def key(path: str | Path, line: int, root: Path = DATA) -> str:
    p = Path(path)
    try:
        p = p.resolve().relative_to(root.resolve())
    except ValueError:
        pass
    return f"{p.as_posix()}:{line}"


def load(path: Path = KNOWN) -> dict[str, str]:
    """{"file:line": category} from the list."""
    known: dict[str, str] = {}
    if not path.exists():
        return known
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where, _, category = line.partition(" ")
        category = category.strip()
        if not category or ":" not in where:
            raise ValueError(f"{path}:{n}: expected 'FILE:LINE CATEGORY', got {raw!r}")
        if is_internal(category) or category == "crash":
            raise ValueError(f"{path}:{n}: {category!r} is a bug, never a known failure")
        known[where] = category
    return known


def render(reports: list[FileReport], root: Path = DATA) -> str:
    """The list's text for the failures of ``reports`` (internal errors left out)."""
    lines = ["# sqllogictest records Kodiak fails today: FILE:LINE CATEGORY.",
             "# Regenerate: python -m tests.sql.sqllogictest tests/sql/sqllogictest/data "
             "--write-known tests/sql/sqllogictest/known_failures.txt",
             "# Counts per category:"]
    counts = Counter(o.category for r in reports for o in r.failures
                     if not is_internal(o.category))
    lines += [f"#   {n:5d}  {cat}" for cat, n in counts.most_common()]
    for r in reports:
        for o in r.failures:
            if not is_internal(o.category):
                lines.append(f"{key(r.path, o.line, root)} {o.category}")
    return "\n".join(lines) + "\n"
