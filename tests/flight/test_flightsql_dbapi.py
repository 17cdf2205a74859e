"""flightsql-dbapi (PyPI ``flightsql-dbapi``, module ``flightsql``) against a real server.

Its DB-API (``flightsql.connect(FlightSQLClient(...))``), its raw ``FlightSQLClient`` calls
and its SQLAlchemy dialect run in a separate process (``flightsql_dbapi_driver.py``), as a
remote client would; the server runs here. (The two can share a process too: Kodiak's
protobuf classes live in a descriptor pool of their own; ``test_same_process`` checks that.)

What the client does on the wire: a query without parameters is GetFlightInfo
(``CommandStatementQuery``) + DoGet, DDL and DML included; with parameters it prepares the
statement, binds one row of **dense-union** columns (int64/double/utf8/binary/bool, one per
parameter) with DoPut, runs it with GetFlightInfo + DoGet and closes the handle;
``execute_update`` is DoPut ``CommandStatementUpdate``; the metadata calls are the GetX
commands. Known client limits (not the server's): ``rowcount`` is the number of rows fetched
(0 for DML), ``description`` holds 2-tuples (name, SQLAlchemy type), ``None`` cannot be a
parameter, commit/rollback do nothing (every statement commits on its own), errors are
pyarrow's (``ArrowInvalid`` ...), not the DB-API exception classes.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engine
from kodiak_flight.auth import Authenticator, hash_password

from .conftest import running

pytestmark = pytest.mark.skipif(importlib.util.find_spec("flightsql") is None,
                                reason="flightsql-dbapi is not installed (test extras)")

DRIVER = Path(__file__).with_name("flightsql_dbapi_driver.py")
PASSWORD = "dbapi-secret"


class RemoteError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class Driver:
    """flightsql-dbapi in a child process: ``run`` statements, ``eval`` expressions."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(DRIVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self._read() == "ready"

    def _read(self) -> Any:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the flightsql-dbapi driver process died")
        doc = json.loads(line)
        if "error" in doc:
            raise RemoteError(doc["error"], doc["message"])
        return doc["ok"]

    def _send(self, req: dict) -> Any:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def run(self, code: str) -> None:
        self._send({"exec": code})

    def eval(self, expr: str) -> Any:
        return self._send({"eval": expr})

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    d = Driver()
    yield d
    d.close()


@pytest.fixture(scope="module")
def dbapi(driver: Driver, server) -> Driver:
    """A connected client: ``client`` (FlightSQLClient), ``conn`` and ``cur`` (DB-API)."""
    driver.run(f"client = FlightSQLClient(host='127.0.0.1', port={server.port}, insecure=True)\n"
               "conn = connect(client)\n"
               "cur = conn.cursor()")
    return driver


def test_query(dbapi):
    assert dbapi.eval("cur.execute(\"SELECT 1 AS a, 'x' AS b, CAST(2.5 AS DOUBLE) AS c, "
                      "true AS d, 2.5 AS e\").fetchall()") == [[1, "x", 2.5, True, "2.5"]]
    assert dbapi.eval("cur.description") == [["a", "INTEGER"], ["b", "TEXT"], ["c", "FLOAT"],
                                             ["d", "BOOLEAN"], ["e", "DECIMAL"]]
    assert dbapi.eval("flightsql.apilevel, flightsql.paramstyle") == ["2.0", "qmark"]


def test_ddl_and_dml(dbapi, name):
    dbapi.run(f"cur.execute('CREATE TABLE {name} (id BIGINT PRIMARY KEY, s VARCHAR, "
              "f DOUBLE, b BOOLEAN)')")
    dbapi.run(f"cur.execute(\"INSERT INTO {name} VALUES (1, 'one', 1.5, true), "
              "(2, 'two', 2.5, false)\")")
    assert dbapi.eval(f"client.execute_update(\"INSERT INTO {name} VALUES "
                      "(3, 'three', 3.5, true), (4, 'four', 4.5, NULL)\")") == 2
    assert dbapi.eval(f"client.execute_update('UPDATE {name} SET f = f * 2 "
                      "WHERE id >= 3')") == 2
    assert dbapi.eval(f"client.execute_update('DELETE FROM {name} WHERE id = 2')") == 1
    dbapi.run(f"cur.execute('SELECT id, s, f, b FROM {name} ORDER BY id')")
    assert dbapi.eval("cur.fetchone()") == [1, "one", 1.5, True]
    assert dbapi.eval("cur.fetchmany(1)") == [[3, "three", 7.0, True]]
    assert dbapi.eval("cur.fetchall()") == [[4, "four", 9.0, None]]
    assert dbapi.eval("cur.fetchall()") == []
    dbapi.run(f"cur.execute('DROP TABLE {name}')")
    assert name not in dbapi.eval("conn.flightsql_get_table_names()")


def test_parameters(dbapi, name):
    """Parameters arrive as dense unions; the server binds their values' own types."""
    dbapi.run(f"cur.execute('CREATE TABLE {name} (id BIGINT PRIMARY KEY, s VARCHAR, "
              "f DOUBLE, b BOOLEAN, raw BLOB)')")
    dbapi.run(f"cur.execute('INSERT INTO {name} VALUES (?, ?, ?, ?, ?)', "
              "(1, 'one', 1.5, True, b'\\x00\\x01'))")
    dbapi.run(f"cur.executemany('INSERT INTO {name} VALUES (?, ?, ?, ?, ?)', "
              "[(2, 'two', 2.0, False, b'x'), (3, 'three', 3, True, b'')])")
    assert dbapi.eval(f"cur.execute('SELECT id, s FROM {name} WHERE id > ? AND s <> ? "
                      "ORDER BY id', (1, 'zzz')).fetchall()") == [[2, "two"], [3, "three"]]
    assert dbapi.eval(f"cur.execute('SELECT id FROM {name} WHERE f >= ? AND b = ? "
                      "ORDER BY id', [1.5, True]).fetchall()") == [[1], [3]]
    assert dbapi.eval(f"cur.execute('SELECT raw FROM {name} WHERE id = ?', (1,))"
                      ".fetchall()") == [[{"bytes": "0001"}]]
    assert dbapi.eval("cur.execute('SELECT ? + 1 AS n, ? AS s', (41, 'hi')).fetchall()") \
        == [[42, "hi"]]
    dbapi.run(f"cur.execute('UPDATE {name} SET s = ? WHERE id = ?', ('TWO', 2))")
    dbapi.run(f"cur.execute('DELETE FROM {name} WHERE id = ?', (3,))")
    assert dbapi.eval(f"cur.execute('SELECT id, s, f FROM {name} ORDER BY id').fetchall()") \
        == [[1, "one", 1.5], [2, "TWO", 2.0]]


def test_parameter_errors(dbapi, name):
    # One placeholder, two values: the server refuses the DoPut ("takes 1 parameter, but 2
    # were bound"), but the client never looks at the DoPut's status (pyarrow only logs it
    # when the writer is destroyed) and runs the statement unbound, which fails in turn.
    with pytest.raises(RemoteError) as err:
        dbapi.eval("cur.execute('SELECT ? AS x', (1, 2))")
    assert err.value.kind == "ArrowInvalid" and "parameter" in err.value.message
    with pytest.raises(RemoteError) as err:  # the client itself has no NULL parameter
        dbapi.eval("cur.execute('SELECT ? AS x', (None,))")
    assert err.value.kind == "Error" and "NoneType" in err.value.message


def test_prepared_statement(dbapi, name):
    dbapi.run(f"cur.execute(\"CREATE TABLE {name} (k BIGINT, v VARCHAR)\")\n"
              f"cur.execute(\"INSERT INTO {name} VALUES (1, 'a'), (2, 'b'), (3, 'c')\")")
    dbapi.run(f"ps = client.prepare('SELECT v FROM {name} WHERE k >= ? ORDER BY k')")
    assert dbapi.eval("read(ps.execute(pa.record_batch([pa.array([2])], names=['p'])))"
                      ".to_pylist()") == [{"v": "b"}, {"v": "c"}]
    assert dbapi.eval("read(ps.execute(pa.record_batch([pa.array([3])], names=['p'])))"
                      ".to_pylist()") == [{"v": "c"}]
    dbapi.run("ps.close()")
    assert dbapi.eval("ps.closed") is True


def test_errors(dbapi):
    with pytest.raises(RemoteError) as err:
        dbapi.eval("cur.execute('SELEC 1')")
    assert err.value.kind == "ArrowInvalid" and "syntax error" in err.value.message
    with pytest.raises(RemoteError) as err:
        dbapi.eval("cur.execute('SELECT * FROM no_such_table')")
    assert "does not exist" in err.value.message
    for e in (err.value.message,):
        assert "Traceback" not in e
    assert dbapi.eval("cur.execute('SELECT 7 AS x').fetchall()") == [[7]]  # still usable


def test_metadata_calls(dbapi, name):
    dbapi.run(f"cur.execute('CREATE TABLE {name} (id BIGINT PRIMARY KEY, label VARCHAR "
              "NOT NULL, score DOUBLE)')")
    assert name in dbapi.eval("conn.flightsql_get_table_names()")
    assert name in dbapi.eval("conn.flightsql_get_table_names('main')")
    assert dbapi.eval("conn.flightsql_get_table_names('no_such_schema')") == []
    assert "main" in dbapi.eval("conn.flightsql_get_schema_names()")
    assert dbapi.eval(f"conn.flightsql_get_columns('{name}')") == [
        {"name": "id", "type": "BIGINT", "default": None, "comment": None, "nullable": False},
        {"name": "label", "type": "TEXT", "default": None, "comment": None, "nullable": False},
        {"name": "score", "type": "FLOAT", "default": None, "comment": None, "nullable": True},
    ]
    assert dbapi.eval(f"conn.flightsql_get_primary_keys('{name}')") == [
        {"catalog_name": "kodiak", "db_schema_name": "main", "table_name": name,
         "column_name": "id", "key_sequence": 1, "key_name": None}]
    assert dbapi.eval(f"conn.flightsql_get_foreign_keys('{name}')") == []
    info = dbapi.eval("conn.flightsql_get_sql_info([0, 3, 4, 5, 8, 504])")
    assert info == {"0": "Kodiak", "3": False, "4": True, "5": False, "8": 2, "504": '"'}
    assert len(dbapi.eval("conn.flightsql_get_sql_info([])")) >= 20  # everything


def test_raw_client_metadata(dbapi, name):
    dbapi.run(f"cur.execute('CREATE TABLE {name} (id BIGINT PRIMARY KEY, v VARCHAR)')")
    assert dbapi.eval("read(client.get_catalogs()).to_pylist()") == [{"catalog_name": "kodiak"}]
    assert dbapi.eval("read(client.get_table_types()).to_pylist()") == [
        {"table_type": t} for t in ("TABLE", "VIEW", "SYSTEM TABLE")]
    assert dbapi.eval("read(client.get_db_schemas(db_schema_filter_pattern='ma%'))"
                      ".to_pylist()") == [{"catalog_name": "kodiak", "db_schema_name": "main"}]
    rows = dbapi.eval(f"read(client.get_tables(catalog='kodiak', table_types=['TABLE'], "
                      f"table_name_filter_pattern='{name}')).to_pylist()")
    assert rows == [{"catalog_name": "kodiak", "db_schema_name": "main", "table_name": name,
                     "table_type": "TABLE"}]
    dbapi.run(f"t = read(client.get_tables(include_schema=True, "
              f"table_name_filter_pattern='{name}'))\n"
              "import pyarrow.ipc as ipc\n"
              "s = ipc.read_schema(pa.py_buffer(t.column('table_schema')[0].as_py()))")
    assert dbapi.eval("[(f.name, str(f.type), f.nullable) for f in s]") == [
        ["id", "int64", False], ["v", "string", True]]
    assert dbapi.eval(f"read(client.get_primary_keys(TableRef(table='{name}')))"
                      ".column('column_name').to_pylist()") == ["id"]
    for call in (f"client.get_exported_keys(TableRef(table='{name}'))",
                 f"client.get_imported_keys(TableRef(table='{name}'))",
                 f"client.get_cross_reference(TableRef(table='{name}'), "
                 f"TableRef(table='{name}'))"):
        assert dbapi.eval(f"read({call}).num_rows") == 0
    types = dbapi.eval("read(client.get_xdbc_type_info(None)).column('type_name').to_pylist()")
    assert {"BIGINT", "VARCHAR", "DOUBLE", "BOOLEAN"} <= set(types)
    assert dbapi.eval("read(client.get_xdbc_type_info(4)).column('type_name').to_pylist()") \
        == ["INTEGER"]


def test_sqlalchemy_dialect(dbapi, server, name):
    """Its SQLAlchemy 1.4 dialect (``datafusion://``): reflection, Core queries with bound
    parameters (the prepared-statements feature), insert and delete.

    Without ``feature-sqlalchemy-prepared-statements=on`` the dialect renders parameters as
    literals and, with SQLAlchemy's statement cache, sends ``NULL`` for them: a client bug.
    """
    dbapi.run(f"cur.execute('CREATE TABLE {name} (id BIGINT PRIMARY KEY, v VARCHAR)')\n"
              f"cur.execute(\"INSERT INTO {name} VALUES (1, 'a'), (2, 'b'), (3, 'c')\")")
    dbapi.run(f"""
import sqlalchemy as sa
engine = sa.create_engine('datafusion://127.0.0.1:{server.port}?insecure=true'
                          '&feature-sqlalchemy-prepared-statements=on'
                          '&feature-sqlalchemy-primary-keys=on')
insp = sa.inspect(engine)
t = sa.Table('{name}', sa.MetaData(), autoload_with=engine)
""")
    assert name in dbapi.eval("insp.get_table_names()")
    assert dbapi.eval(f"insp.get_pk_constraint('{name}')")["constrained_columns"] == ["id"]
    assert dbapi.eval("[c.name for c in t.columns]") == ["id", "v"]
    dbapi.run("""
with engine.connect() as c:
    c.execute(t.insert().values(id=4, v='d'))
    c.execute(t.delete().where(t.c.id == 1))
    rows = c.execute(sa.select(t.c.id, t.c.v).where(t.c.id >= 2).order_by(t.c.id)).fetchall()
    text = c.execute(sa.text('SELECT v FROM %s WHERE id = :k' % t.name), {'k': 3}).fetchall()
""")
    assert dbapi.eval("[list(r) for r in rows]") == [[2, "b"], [3, "c"], [4, "d"]]
    assert dbapi.eval("[list(r) for r in text]") == [["c"]]


def test_authentication_and_tls(tmp_path):
    from kodiak_flight.tlscert import write_pair

    write_pair(tmp_path / "cert.pem", tmp_path / "key.pem", ["localhost", "127.0.0.1"], 1)
    import pyarrow.flight as flight

    pair = flight.CertKeyPair(cert=(tmp_path / "cert.pem").read_bytes(),
                              key=(tmp_path / "key.pem").read_bytes())
    db = engine.Database.open(str(tmp_path / "served"))
    auth = Authenticator("ann", hash_password(PASSWORD, n=2**10))
    d = Driver()
    try:
        with running(db, auth=auth, tls_certificates=[pair]) as srv:
            d.run(f"pem = open({str(tmp_path / 'cert.pem')!r}, 'rb').read()\n"
                  f"def make(**kw):\n"
                  f"    return FlightSQLClient(host='127.0.0.1', port={srv.port}, "
                  f"tls_root_certs=pem, **kw)")
            with pytest.raises(RemoteError) as err:  # no credentials: "Bearer None"
                d.eval("connect(make()).cursor().execute('SELECT 1').fetchall()")
            assert err.value.kind == "FlightUnauthenticatedError"
            with pytest.raises(RemoteError) as err:
                d.eval(f"make(user='ann', password={PASSWORD + 'x'!r})")
            assert err.value.kind == "FlightUnauthenticatedError"
            d.run(f"conn = connect(make(user='ann', password={PASSWORD!r}))\n"
                  "cur = conn.cursor()")
            assert d.eval("cur.execute('SELECT ? AS x', (5,)).fetchall()") == [[5]]
            assert d.eval("conn.flightsql_get_schema_names()") == ["information_schema", "main"]
    finally:
        d.close()
        db.close()


def test_same_process():
    """flightsql-dbapi and Kodiak's protobuf classes can be imported into one program."""
    import flightsql  # noqa: F401  (it registers the same message names in protobuf's pool)
    from flightsql import flightsql_pb2  # type: ignore[import-not-found]

    from kodiak_flight.flightsql import pack, pb

    theirs = flightsql_pb2.CommandStatementQuery(query="select 1")
    ours = pb.CommandStatementQuery.FromString(theirs.SerializeToString())
    assert ours.query == "select 1"
    assert b"arrow.flight.protocol.sql.CommandStatementQuery" in pack(ours)
