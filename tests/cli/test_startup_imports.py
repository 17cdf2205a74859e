"""A client command imports only what it needs (start-up time: see docs/cli.md): no pyarrow
for --version and --help; over a server, no SQL layer, engine, sqlglot, Acero or compute for a
table, and no pandas (pyarrow.dataset and pyarrow's conversion of Python values load it) for
csv, json or ndjson output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Runs the real entry point, then prints the modules loaded (stdout is the command's own).
PROBE = """
import json, sys
from kodiak_flight.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""

HEAVY = ("pyarrow.compute", "pyarrow.acero", "pyarrow.dataset", "pyarrow.parquet", "pandas",
         "polars", "sqlglot", "engine", "kodiak_flight.sql.session", "kodiak_flight.server")


def loaded(*args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                         text=True, timeout=120)
    line = out.stderr.rsplit("MODULES ", 1)
    assert len(line) == 2, out.stderr
    return set(json.loads(line[1]))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["sql", "--help"]])
def test_version_and_help_load_no_pyarrow(args):
    mods = loaded(*args)
    assert "pyarrow" not in mods and "typer" in mods
    assert not [m for m in HEAVY if m in mods]


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "ndjson"])
def test_sql_over_a_server_loads_no_sql_layer_engine_or_pandas(uri, fmt):
    sql = "select 1 as a, 'x' as b, [1, 2] as l, {'k': 1.5} as s, date '2020-01-02' as d"
    mods = loaded("sql", "--uri", uri, "--format", fmt, "-c", sql)
    assert "adbc_driver_flightsql" in mods or "adbc_driver_manager" in mods
    # writing a file format loads the formats registry, whose JSON writer uses pyarrow.compute
    allowed = {"pyarrow.compute"} if fmt != "table" else set()
    heavy = [m for m in HEAVY if m in mods and m not in allowed]
    assert heavy == []


def test_sql_on_a_data_directory_loads_the_sql_layer(tmp_path):
    mods = loaded("sql", "--data-dir", str(tmp_path / "d"), "-c", "select 1")
    assert "kodiak_flight.sql.session" in mods and "engine" in mods
    assert "kodiak_flight.server" not in mods
