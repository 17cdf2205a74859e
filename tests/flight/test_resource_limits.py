"""Resource limits: query memory, sessions, queries per user, result and statement size.

Each refusal names its setting; the server answers the next query, and a query stopped for
memory gives its memory back.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.server.limits import Limits

from .conftest import running
from .helpers import descriptor, query, read, update
from .served import memory_returns, pool_bytes, served_alone

MiB = 1 << 20
REFUSED = (flight.FlightError, pa.ArrowInvalid)  # too big: INVALID_ARGUMENT


@pytest.fixture(scope="module")
def big(db):
    """A 400,000-row table: its sorted copy or full group-by needs well over 4 MiB."""
    name = "limits_big"
    n = 400_000
    with running(db) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        query(c, f"create table {name} (k bigint, v varchar)")
        c.close()
    db.insert(name, pa.table({"k": pa.array(range(n), pa.int64()),
                              "v": pa.array([f"value number {i}" for i in range(n)])}))
    return name


def connect(srv):
    return flight.connect(f"grpc://127.0.0.1:{srv.port}")


def no_traceback(exc: BaseException) -> None:
    assert "Traceback" not in str(exc), str(exc)


def test_query_memory_limit(tmp_path):
    with served_alone(tmp_path / "data", "--query-memory-limit", "4MiB") as (uri, metrics):
        c = flight.connect(uri)
        query(c, "create table big as select range as k, 'value number ' || range as v "
                 "from range(400000)")
        before = pool_bytes(metrics)
        # a sort, an aggregation and a hash join: none spills, each fails cleanly
        for sql in ("select * from big order by v desc",
                    "select v, count(*) from big group by v",
                    "select count(*), max(b.v) from big a join big b on a.k = b.k"):
            with pytest.raises(REFUSED) as e:
                query(c, sql)
            assert "the query needed more than the memory limit of 4 MiB " \
                   "(serve.query_memory_limit)" in str(e.value)
            assert str(e.value).startswith("resource exhausted:")
            no_traceback(e.value)
            assert memory_returns(metrics, before), (sql, before, pool_bytes(metrics))
        # the server goes on: a small query, and one that streams within the limit
        assert query(c, "select count(*) from big").column(0).to_pylist() == [400_000]
        assert query(c, "select k from big where k < 10").num_rows == 10
        c.close()


def test_the_memory_watch_ends_with_the_query(db, big):
    with running(db, limits=Limits(query_memory_limit=4 * MiB)) as srv:
        c = connect(srv)
        with pytest.raises(REFUSED):
            query(c, f"select * from {big} order by v desc")
        assert query(c, f"select count(*) from {big}").column(0).to_pylist() == [400_000]
        assert srv.memory.in_use() == 0
        c.close()


def test_server_memory_limit(db, big):
    with running(db, limits=Limits(memory_limit=4 * MiB)) as srv:
        c = connect(srv)
        with pytest.raises(flight.FlightUnavailableError) as e:
            query(c, f"select * from {big} order by v desc")
        assert "memory limit of all running queries of 4 MiB (serve.memory_limit)" \
            in str(e.value)
        assert query(c, "select 1 as x").column(0).to_pylist() == [1]
        c.close()


def test_statement_size_refused_before_parsing(db):
    with running(db, limits=Limits(max_statement_bytes=1000)) as srv:
        c = connect(srv)
        text = "select " + "+".join(["1"] * 600)
        with pytest.raises(REFUSED) as e:
            query(c, text)
        assert "over the limit of 1000 bytes (serve.max_statement_bytes)" in str(e.value)
        no_traceback(e.value)
        assert query(c, "select 2 as x").column(0).to_pylist() == [2]
        c.close()


def test_result_size_stops_a_stream(db, big):
    with running(db, limits=Limits(max_result_bytes=1 * MiB)) as srv:
        c = connect(srv)
        with pytest.raises(REFUSED) as e:
            query(c, f"select * from {big}")
        assert "the result passed the limit of 1 MiB (serve.max_result_bytes)" in str(e.value)
        no_traceback(e.value)
        # a result computed as a table is refused the same way
        with pytest.raises(REFUSED, match="serve.max_result_bytes"):
            query(c, f"select * from {big} order by k desc")
        assert query(c, f"select * from {big} limit 5").num_rows == 5
        c.close()


def test_queries_per_user(db, big):
    with running(db, limits=Limits(max_queries_per_user=2)) as srv:
        c = connect(srv)
        cmd = pb.CommandStatementQuery(query=f"select * from {big}")
        pending = [c.get_flight_info(descriptor(cmd)) for _ in range(2)]
        with pytest.raises(flight.FlightUnavailableError) as e:
            c.get_flight_info(descriptor(cmd))
        assert "already has 2 queries running (serve.max_queries_per_user)" in str(e.value)
        read(c, pending[0])  # reading a result frees its slot
        assert query(c, "select 3 as x").column(0).to_pylist() == [3]
        c.close()


def test_max_sessions(db):
    with running(db, limits=Limits(max_sessions=2)) as srv:
        clients = [connect(srv) for _ in range(3)]
        for c in clients[:2]:
            query(c, "select 1 as x")
        with pytest.raises(flight.FlightUnavailableError) as e:
            query(clients[2], "select 1 as x")
        assert "maximum of 2 sessions open (serve.max_sessions)" in str(e.value)
        assert query(clients[0], "select 4 as x").column(0).to_pylist() == [4]
        for c in clients:
            c.close()


def test_sizes_and_settings(tmp_path):
    from kodiak_flight.config import Config, ConfigError
    from kodiak_flight.sql.memory import parse_size, show_size

    assert parse_size("512MiB") == 512 * MiB
    assert parse_size("2 GB") == 2_000_000_000
    assert parse_size(4096) == 4096
    assert show_size(8 * MiB) == "8 MiB"
    with pytest.raises(ValueError):
        parse_size("lots")
    cfg = Config.load(env={"KODIAK_QUERY_MEMORY_LIMIT": "64MiB", "KODIAK_MAX_SESSIONS": "7"},
                      cwd=tmp_path)
    assert cfg.get("serve.query_memory_limit") == 64 * MiB
    assert cfg.get("serve.max_sessions") == 7
    with pytest.raises(ConfigError, match="serve.memory_limit"):
        Config.load(env={"KODIAK_MEMORY_LIMIT": "lots"}, cwd=tmp_path).get("serve.memory_limit")
    with pytest.raises(ValueError, match="max_sessions must be positive"):
        Limits(max_sessions=0).check()


def test_a_session_lowers_its_memory_limit_but_never_raises_it(db, big):
    with running(db, limits=Limits(query_memory_limit=64 * MiB)) as srv:
        c = connect(srv)
        with pytest.raises(REFUSED, match=r"above this server's limit of 64 MiB "
                                          r"\(serve.query_memory_limit\)"):
            update(c, "SET memory_limit = '1GiB'")
        update(c, "SET memory_limit = '2MiB'")
        with pytest.raises(REFUSED, match=r"memory limit of 2 MiB \(memory_limit\)"):
            query(c, f"select * from {big} order by v desc")
        update(c, "RESET memory_limit")
        assert query(c, f"select * from {big} order by v desc").num_rows == 400_000
        c.close()


def test_script_limits_come_from_the_server(db):
    from kodiak_flight.sql.pl.jobs import jobs_for
    from kodiak_flight.sql.pl.limits import PlOptions

    pl = PlOptions(max_depth=4, max_loop_iterations=50, job_workers=3, job_timeout=9.0)
    with running(db, pl=pl) as srv:
        assert (jobs_for(db).workers, jobs_for(db).timeout) == (3, 9.0)
        c = connect(srv)
        with pytest.raises(REFUSED, match=r"pl_max_depth = 8 is above this server's limit "
                                          r"of 4 \(serve.pl_max_depth\)"):
            update(c, "SET pl_max_depth = 8")
        update(c, "SET pl_max_depth = 2")
        with pytest.raises(REFUSED, match=r"more than 50 turns"):
            query(c, "LET i = 0; WHILE true DO SET i = $i + 1; END WHILE; RETURN $i")
        c.close()


def test_script_and_job_settings_in_the_config(tmp_path):
    from kodiak_flight.config import Config

    cfg = Config.load(env={"KODIAK_JOB_WORKERS": "4", "KODIAK_PL_MAX_DEPTH": "10"},
                      cwd=tmp_path)
    assert cfg.get("serve.job_workers") == 4 and cfg.get("serve.pl_max_depth") == 10
    assert cfg.get("serve.job_timeout") is None and cfg.get("serve.pl_max_stack") == 64


def test_result_bytes_counts_what_is_sent_where_the_limit_could_tell():
    from kodiak_flight.server.results import SMALL_RESULT, result_bytes

    big = pa.table({"k": pa.array(range(100_000), pa.int64())})
    row = big.slice(5, 1)  # one row viewing a 800 kB buffer: its exact size, not the buffer
    assert result_bytes(row, None) == row.nbytes == 8
    small = big.take([5, 6])  # buffers of its own: counted from their sizes, padding included
    assert small.nbytes <= result_bytes(small, None) <= SMALL_RESULT
    # a limit under the buffers' size: the exact figure decides, as before
    assert result_bytes(small, small.nbytes) == small.nbytes
