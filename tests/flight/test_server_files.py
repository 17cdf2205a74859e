"""Clients' SQL and the server's files: nothing by default, only under --file-root."""

from __future__ import annotations

import os

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from kodiak_flight.sql import AccessDenied, FileAccess, Session

from .conftest import running


def test_file_access_policy(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    fa = FileAccess.under(str(root))
    real = os.path.realpath(root)
    assert fa.path("a.csv") == os.path.join(real, "a.csv")
    assert fa.path("sub/../b.csv") == os.path.join(real, "b.csv")
    assert fa.path(str(root / "sub" / "c.csv")) == os.path.join(real, "sub", "c.csv")
    for bad in ("../x.csv", str(tmp_path / "outside" / "y.csv"), "link/z.csv",
                str(tmp_path / "rootx" / "w.csv"), "/etc/passwd"):
        with pytest.raises(AccessDenied, match="outside the server's file root"):
            fa.path(bad, writing=True)
    with pytest.raises(AccessDenied, match="--file-root"):
        FileAccess(()).path("a.csv")
    assert FileAccess().path("../anything.csv") == "../anything.csv"  # embedded: anywhere


def _query(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_a_server_without_a_file_root_touches_no_files(db, tmp_path):
    secret = tmp_path / "secret.csv"
    pacsv.write_csv(pa.table({"x": [42]}), secret)
    with running(db) as srv, flight_sql.connect(f"grpc://127.0.0.1:{srv.port}",
                                                autocommit=True) as conn:
        for sql in (f"SELECT * FROM read_csv('{secret}')", f"SELECT * FROM '{secret}'",
                    f"COPY (SELECT 1 AS x) TO '{tmp_path / 'out.csv'}' (FORMAT csv)"):
            with pytest.raises(adbc_driver_manager.Error, match="--file-root") as err:
                _query(conn, sql)
            assert "UNAUTHORIZED" in str(err.value), err.value  # gRPC PERMISSION_DENIED
        assert not (tmp_path / "out.csv").exists()
        assert _query(conn, "SELECT 1 AS ok") == [(1,)]  # the server keeps serving


def test_a_file_root_allows_files_under_it_only(db, tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    pacsv.write_csv(pa.table({"x": [1, 2, 3]}), root / "in.csv")
    pacsv.write_csv(pa.table({"x": [99]}), tmp_path / "outside.csv")
    with running(db, file_root=str(root)) as srv, flight_sql.connect(
            f"grpc://127.0.0.1:{srv.port}", autocommit=True) as conn:
        assert _query(conn, "SELECT sum(x) FROM read_csv('in.csv')") == [(6,)]
        assert _query(conn, f"SELECT count(*) FROM '{root / 'in.csv'}'") == [(3,)]
        _query(conn, "COPY (SELECT 7 AS y) TO 'out/../made.csv' (FORMAT csv)")
        assert pacsv.read_csv(root / "made.csv").to_pydict() == {"y": [7]}
        name = "copied_in"
        _query(conn, f"CREATE TABLE {name} (x BIGINT)")
        _query(conn, f"COPY {name} FROM 'in.csv' (FORMAT csv, HEADER true)")
        assert _query(conn, f"SELECT count(*) FROM {name}") == [(3,)]
        for sql in ("SELECT * FROM read_csv('../outside.csv')",
                    f"SELECT * FROM '{tmp_path / 'outside.csv'}'",
                    "COPY (SELECT 1 AS x) TO '../escaped.csv' (FORMAT csv)"):
            with pytest.raises(adbc_driver_manager.Error, match="outside the server's file root"):
                _query(conn, sql)
        assert not (tmp_path / "escaped.csv").exists()


def test_embedded_sessions_read_anywhere(tmp_path):
    import engine

    pacsv.write_csv(pa.table({"x": [5]}), tmp_path / "any.csv")
    db = engine.Database.open(str(tmp_path / "db"))
    try:
        out = Session(db).execute(f"SELECT x FROM read_csv('{tmp_path / 'any.csv'}')")
        assert out.reader.read_all().to_pydict() == {"x": [5]}
    finally:
        db.close()


def test_serve_refuses_a_missing_file_root(tmp_path):
    from tests.cli.conftest import kodiak

    r = kodiak("serve", "--port", "0", "--data-dir", tmp_path / "d",
               "--file-root", tmp_path / "nope")
    assert r.code == 2 and "is not a directory" in r.stderr
