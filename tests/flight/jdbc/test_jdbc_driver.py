"""Apache Arrow's Flight SQL JDBC driver (what DBeaver, DataGrip, Tableau load) against a real
Kodiak server: one JVM runs every probe of ``Probe.java``; each probe is one test here.

Skipped, saying why, without ``java`` or the driver's jars: the jars are found in
``$KODIAK_JDBC_LIB``, else ``../shared/tools/jdbc/lib`` next to the repository (see
docs/clients.md). tests/flight/test_jdbc_contract.py checks the same Flight SQL calls and
fields in Python, so CI without Java still covers them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import running
from .driver import jdbc_lib, missing

HERE = Path(__file__).resolve().parent
PROBES = [
    "executeUpdate_create_table", "execute_create_view", "executeUpdate_insert_counts_rows",
    "executeUpdate_begin_commit", "prepareStatement_ddl_runs_once",
    "prepareStatement_insert_with_parameters", "ResultSetMetaData_decimal_precision_scale",
    "PreparedStatement_getMetaData_before_execute", "getDefaultTransactionIsolation",
    "supportsTransactionIsolationLevel", "supportsOuterJoins", "supportsFullOuterJoins",
    "supportsUnion", "supportsGroupBy", "supportsSubqueriesInExists", "getMaxColumnNameLength",
    "getMaxTableNameLength", "getMaxStatementLength", "getMaxConnections",
    "DatabaseMetaData_every_getter", "supportsConvert", "getSQLKeywords_and_functions",
    "getDatabaseProductName", "getTables_lists_views", "getColumns_of_a_view",
    "getColumns_decimal_size", "getPrimaryKeys", "drop_view_and_table_run_once",
]


@pytest.fixture(scope="module")
def probe_output(db: Any) -> Iterator[dict[str, str]]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    with running(db) as server:
        proc = subprocess.run(
            ["java", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp",
             f"{jdbc_lib()}/*", str(HERE / "Probe.java"), str(server.port)],
            capture_output=True, text=True, timeout=300)
    results: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        verdict, _, rest = line.partition(" ")
        if verdict in ("PASS", "FAIL"):
            name, _, detail = rest.partition(": ")
            results[name] = verdict if verdict == "PASS" else detail
    if not results:
        pytest.fail(f"the JDBC probe printed nothing (exit {proc.returncode}):\n"
                    f"{proc.stderr[-3000:]}")
    yield results


@pytest.mark.parametrize("name", PROBES)
def test_jdbc(probe_output: dict[str, str], name: str) -> None:
    assert name in probe_output, f"probe {name} did not run"
    assert probe_output[name] == "PASS", probe_output[name]


def test_every_probe_is_listed(probe_output: dict[str, str]) -> None:
    assert sorted(probe_output) == sorted(PROBES)
