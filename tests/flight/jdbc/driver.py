"""Where Arrow's Flight SQL JDBC driver is, and whether it can run here: shared by the JDBC
test and ``bench/jdbc_lookup.py``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def jdbc_lib() -> Path:
    """$KODIAK_JDBC_LIB, else ../shared/tools/jdbc/lib from the repository (or from the
    directory holding a git worktree of it)."""
    if os.environ.get("KODIAK_JDBC_LIB"):
        return Path(os.environ["KODIAK_JDBC_LIB"])
    candidates = [base / "shared/tools/jdbc/lib" for base in (ROOT.parent, ROOT.parent.parent)]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def missing() -> str | None:
    """Why the driver cannot run here (no JDK, no jars), or None."""
    if shutil.which("java") is None:
        return "no java on PATH (the JDBC probe needs a Java 17 JDK)"
    lib = jdbc_lib()
    if not (lib / "flight-sql-jdbc-core.jar").is_file():
        return f"Flight SQL JDBC driver jars not found in {lib} (set KODIAK_JDBC_LIB)"
    return None
