"""Two Node.js Flight SQL clients from npm against a real Kodiak server, their answers compared
with what ADBC reads from the same server.

The clients (versions pinned in tests/npm/package-lock.json):

* ``@lakehouse-rs/flight-sql-client``: Rust's arrow-flight client under napi-rs; runs every
  statement as a prepared statement; catalogs, schemas and tables (with their Arrow schemas).
* ``@firetiger-oss/flight-sql-client``: @grpc/grpc-js and apache-arrow; statements through
  CommandStatementQuery; Basic credentials on Handshake and on every call; tables.

``npm ci`` runs once per cache directory (``$KODIAK_NPM_CACHE``, else ``~/.cache/kodiak/npm``
keyed by the lock file's hash); without node or npm, or when ``npm ci`` fails (offline), every
test here is skipped saying why. See docs/clients.md, "Node.js".
"""

from __future__ import annotations

import datetime
import decimal
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pytest

from kodiak_flight.auth import Authenticator, hash_password

from .conftest import running

NPM_DIR = Path(__file__).resolve().parents[1] / "npm"
CLIENTS = ["lakehouse", "firetiger"]
USER, PASSWORD = "kodiak", "npm clients' password"
QUERIES = ["select", "literals", "aggregate"]


# -- installing the clients once -------------------------------------------------------------

def _cache_dir() -> Path:
    lock = (NPM_DIR / "package-lock.json").read_bytes() + (NPM_DIR / "package.json").read_bytes()
    key = hashlib.sha256(lock).hexdigest()[:16]
    base = os.environ.get("KODIAK_NPM_CACHE") or Path.home() / ".cache" / "kodiak" / "npm"
    return Path(base) / key


def _install(target: Path) -> str | None:
    """``npm ci`` into ``target`` (atomically: a half-done install is never used); None, or
    why it could not be done."""
    if (target / "node_modules" / ".kodiak-installed").is_file():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="npm-ci-", dir=target.parent))
    for name in ("package.json", "package-lock.json"):
        shutil.copy(NPM_DIR / name, work / name)
    try:
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts",
                               "--loglevel=error"],
                              cwd=work, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        shutil.rmtree(work, ignore_errors=True)
        return "npm ci took over 10 minutes (no network to the npm registry?)"
    if proc.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        first = [line for line in proc.stderr.splitlines() if line.startswith("npm error")][:4]
        return f"npm ci failed (offline?): {' / '.join(first) or proc.stderr[-300:]}"
    (work / "node_modules" / ".kodiak-installed").touch()
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        work.rename(target)
    except OSError:  # another session installed it meanwhile
        shutil.rmtree(work, ignore_errors=True)
    return None


@pytest.fixture(scope="session")
def npm_dir() -> Path:
    """A directory holding the pinned clients' node_modules and the test scripts."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"no {tool} on PATH (the npm client tests need Node.js 20 and npm)")
    target = _cache_dir()
    reason = _install(target)
    if reason:
        pytest.skip(reason)
    for script in NPM_DIR.glob("*.mjs"):  # ES modules find node_modules beside them
        shutil.copy(script, target / script.name)
    return target


def run_client(npm_dir: Path, client: str, port: int, table: str,
               credentials: tuple[str, str] | None = None) -> dict[str, Any]:
    """One client script's report: step name -> {ok, result} or {ok: false, error}."""
    args = ["node", str(npm_dir / f"{client}.mjs"), str(port), *(credentials or ())]
    env = {**os.environ, "KODIAK_NPM_TABLE": table}
    try:
        proc = subprocess.run(args, cwd=npm_dir, env=env, capture_output=True, text=True,
                              timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{client} did not finish within 90 s (waiting for a reply?)")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        # node exits 13 when the script's await never settles: a reply that never came
        hint = " (it was left waiting for a reply)" if proc.returncode == 13 else ""
        pytest.fail(f"{client} exited {proc.returncode}{hint}:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


# -- what ADBC reads, in the scripts' JSON conventions ---------------------------------------

JS_TYPES = {pa.int32(): "Int32", pa.int64(): "Int64", pa.float64(): "Float64",
            pa.string(): "Utf8", pa.date32(): "Date32<DAY>", pa.bool_(): "Bool",
            pa.null(): "Null", pa.timestamp("us"): "Timestamp<MICROSECOND>"}


def js_type(t: pa.DataType) -> str:
    """How apache-arrow (JS) prints ``t``."""
    if pa.types.is_decimal(t):
        return f"Decimal[{t.precision}e+{t.scale}]"
    return JS_TYPES[t]


def plain(t: pa.DataType, value: Any) -> Any:
    """A value as lib.mjs writes it: 64-bit integers and decimals as text, dates and
    timestamps (UTC, milliseconds) in ISO 8601."""
    if value is None:
        return None
    if pa.types.is_int64(t) or isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def as_json(table: pa.Table) -> dict[str, Any]:
    columns = [[f.name, js_type(f.type)] for f in table.schema]
    rows = [[plain(f.type, v) for f, v in zip(table.schema, row.values(), strict=True)]
            for row in table.to_pylist()]
    return {"columns": columns, "rows": rows}


def adbc_answer(uri: str, sql: str, credentials: dict[str, str] | None = None) -> dict[str, Any]:
    with flight_sql.connect(uri, db_kwargs=credentials or {}, autocommit=True) as conn, \
            conn.cursor() as cur:
        cur.execute(sql)
        return as_json(cur.fetch_arrow_table())


@functools.cache
def statements(npm_dir: Path, table: str) -> dict[str, str]:
    """The SQL of lib.mjs's statements() (read from node, so the two never drift apart)."""
    code = (f"import('{(npm_dir / 'lib.mjs').as_uri()}').then(m => "
            f"console.log(JSON.stringify(m.statements({json.dumps(table)}))))")
    out = subprocess.run(["node", "-e", code], capture_output=True, text=True, timeout=30,
                         check=True)
    return json.loads(out.stdout)


# -- the runs: each client once on an open server and once on one with a password ------------

@pytest.fixture(scope="module")
def open_server(db: Any) -> Iterator[Any]:
    with running(db) as srv:
        yield srv


@pytest.fixture(scope="module")
def auth_server(db: Any) -> Iterator[Any]:
    auth = Authenticator(USER, hash_password(PASSWORD, n=2**10))
    with running(db, auth=auth) as srv:
        yield srv


@pytest.fixture(scope="module")
def reports(npm_dir: Path, open_server: Any) -> dict[str, dict[str, Any]]:
    return {c: run_client(npm_dir, c, open_server.port, f"npm_{c}") for c in CLIENTS}


@pytest.fixture(scope="module")
def auth_reports(npm_dir: Path, auth_server: Any) -> dict[str, dict[str, Any]]:
    return {c: run_client(npm_dir, c, auth_server.port, f"npm_auth_{c}", (USER, PASSWORD))
            for c in CLIENTS}


def ok(report: dict[str, Any], step: str) -> Any:
    assert step in report, f"step {step} did not run"
    assert report[step]["ok"], f"{step} failed: {report[step].get('error')}"
    return report[step]["result"]


@pytest.mark.parametrize("client", CLIENTS)
def test_ddl_and_insert(reports: dict[str, Any], client: str) -> None:
    report = reports[client]
    assert ok(report, "connect") is True
    # DDL and INSERT have no result set: an empty table, and each ran once (the SELECTs below
    # would see doubled rows, or CREATE would fail with "already exists").
    assert ok(report, "create") == {"columns": [], "rows": []}
    assert ok(report, "insert") == {"columns": [], "rows": []}


@pytest.mark.parametrize("step", QUERIES)
@pytest.mark.parametrize("client", CLIENTS)
def test_query_matches_adbc(reports: dict[str, Any], npm_dir: Path, open_server: Any,
                            client: str, step: str) -> None:
    sql = statements(npm_dir, f"npm_{client}")[step]
    expected = adbc_answer(f"grpc://127.0.0.1:{open_server.port}", sql)
    assert ok(reports[client], step) == expected


def test_types_survive(reports: dict[str, Any]) -> None:
    """The values themselves, not only agreement with ADBC: 64-bit integers past 2^53,
    decimals with their scale, dates before 1970, timestamps to the millisecond, NULLs."""
    rows = ok(reports["firetiger"], "select")["rows"]
    assert rows[0] == [1, "10", 1.5, "12.34", "a", "2024-01-02", "2024-01-02T03:04:05.678", True]
    assert rows[1] == [2] + [None] * 7
    assert rows[2] == [3, "-9007199254740993", -0.25, "-99999.99", "ünï", "1969-12-31",
                       "1969-12-31T23:59:59.000", False]


@pytest.mark.parametrize("client", CLIENTS)
def test_missing_table_is_an_error(reports: dict[str, Any], client: str) -> None:
    step = reports[client]["missing"]
    assert not step["ok"]
    if client == "firetiger":  # lakehouse replaces the server's message with its own
        assert "no_such_table_npm" in step["error"]
        assert "Traceback" not in step["error"]


def test_lakehouse_metadata(reports: dict[str, Any], open_server: Any) -> None:
    report = reports["lakehouse"]
    assert ok(report, "catalogs")["rows"] == [["kodiak"]]
    schemas = [row[1] for row in ok(report, "schemas")["rows"]]
    assert "main" in schemas and "information_schema" in schemas
    tables = ok(report, "tables")
    assert tables["rows"] == [["kodiak", "main", "npm_lakehouse", "TABLE"]]
    adbc = adbc_answer(f"grpc://127.0.0.1:{open_server.port}", "SELECT * FROM npm_lakehouse")
    assert tables["schemas"] == [adbc["columns"]]


def test_firetiger_tables(reports: dict[str, Any]) -> None:
    assert ok(reports["firetiger"], "tables") == [
        {"catalog": "kodiak", "schema": "main", "tableName": "npm_firetiger",
         "tableType": "TABLE"}]


# Failures of the pinned client versions themselves (they break the same way against any
# Flight SQL server): kept here so a new version that fixes one is noticed, and the docs updated.
CLIENT_BUGS = {
    "firetiger": {
        # sends a FlightDescriptor where DoAction takes an Action: fails before reaching us
        "prepared": "Expected argument of type arrow.flight.protocol.Action",
        # commands sent without the google.protobuf.Any wrapper the specification requires;
        # their bytes can be several commands (an empty message is every metadata command
        # without arguments), so Kodiak cannot read them (kodiak_flight/barecommands.py)
        "schema": "could be any of CommandStatementQuery",
        "catalogs": "could be any of",
        "schemas": "could be any of",
        "table_types": "could be any of",
        "primary_keys": "could be any of",
    },
}


@pytest.mark.parametrize(("client", "step"), [(c, s) for c, bugs in CLIENT_BUGS.items()
                                              for s in bugs])
def test_known_client_bug(reports: dict[str, Any], client: str, step: str) -> None:
    result = reports[client][step]
    assert not result["ok"], f"{client} {step} works now: update CLIENT_BUGS and docs/clients.md"
    assert CLIENT_BUGS[client][step] in result["error"]


@pytest.mark.parametrize("client", CLIENTS)
def test_basic_auth(auth_reports: dict[str, Any], npm_dir: Path, auth_server: Any,
                    client: str) -> None:
    """With a password: Handshake answers with a reply (a client waits for one; the run's
    timeout catches a hang), then statements run as on the open server."""
    report = auth_reports[client]
    assert ok(report, "connect") is True
    assert ok(report, "create") == {"columns": [], "rows": []}
    sql = statements(npm_dir, f"npm_auth_{client}")["select"]
    creds = {"username": USER, "password": PASSWORD}
    assert ok(report, "select") == adbc_answer(f"grpc://127.0.0.1:{auth_server.port}", sql,
                                               creds)


def test_firetiger_wrong_password(npm_dir: Path, auth_server: Any) -> None:
    report = run_client(npm_dir, "firetiger", auth_server.port, "npm_wrong", (USER, "nope"))
    assert not report["connect"]["ok"]
    assert report["select"] == {"ok": False, "error": "Authentication failed"}


def test_firetiger_without_password(npm_dir: Path, auth_server: Any) -> None:
    report = run_client(npm_dir, "firetiger", auth_server.port, "npm_nopw")
    assert not report["select"]["ok"]
