"""Hostile requests against a real ``kodiak serve``: everything answered, nothing broken.

``python -m bench.hostile --requests 10000 [--seed N]`` (or ``python -m bench hostile``: 10,000
requests, 1,000 with ``--quick``) starts a server in a child process over a fresh database,
with a query timeout (cartesian products end), a query memory limit and a result size limit,
and sends it generated requests one after another: random token soups, deeply nested
expressions and subqueries, huge literals, cartesian products, pathological regular
expressions, malformed protobuf in descriptors, tickets and action bodies, unknown handles,
lists, structs and intervals sorted, grouped and compared, and ingests of batches built by
hand (text that is not UTF-8, offsets running backwards).

A request passes when it is answered (a result or an error) within the client's deadline,
with no Python traceback in the error text. At the end the server must still be running and
answering, and the tables must hold what they held before (a checksum per table).
``tests/flight/test_hostile_requests.py`` runs 1,000 seeded requests in ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

ROOT = Path(__file__).resolve().parent.parent

TABLES = {  # name -> (DDL, rows)
    "h_small": ("create table h_small (k bigint primary key, v integer, s varchar)", 50),
    "h_mid": ("create table h_mid (k bigint primary key, v integer, s varchar)", 2000),
}
CHECKSUM = "select count(*), sum(k), sum(v), sum(length(s)) from {t}"
SERVER_FLAGS = ("--query-timeout", "0.5", "--query-memory-limit", "64MiB",
                "--max-result-bytes", "8MiB", "--max-statement-bytes", "1MiB")
CALL_TIMEOUT = 30.0  # seconds a request may take before it counts as unanswered


# -- requests ------------------------------------------------------------------------------

WORDS = ["select", "from", "where", "group", "by", "order", "having", "limit", "union",
         "all", "join", "on", "left", "cross", "with", "as", "case", "when", "then", "else",
         "end", "and", "or", "not", "in", "exists", "between", "like", "is", "null",
         "insert", "into", "values", "update", "set", "delete", "create", "drop", "table",
         "view", "index", "begin", "commit", "rollback", "cast", "over", "partition",
         "count(*)", "sum(v)", "h_small", "h_mid", "k", "v", "s", "*", ",", "(", ")", ";",
         "=", "<", ">", "+", "-", "/", "%", "||", "'x'", "1", "0", "-1", "1e308", "NULL",
         "'", "\"", "--", "/*", "*/", "$1", "?", "::", "[", "]", "{", "}", "\\", "\x00",
         "é", "😀"]


def token_soup(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40)))


def mutated(rng: random.Random) -> str:
    """A valid query with a few characters changed, dropped or doubled."""
    sql = list(rng.choice(VALID)(rng))
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(sql))
        op = rng.randrange(3)
        if op == 0:
            sql[i] = rng.choice(string.printable)
        elif op == 1:
            del sql[i]
        else:
            sql.insert(i, sql[i])
    return "".join(sql)


def deep_nesting(rng: random.Random) -> str:
    depth = rng.choice([10, 50, 200, 1000, 5000])
    kind = rng.randrange(4)
    if kind == 0:
        return "select " + "(" * depth + "1" + ")" * depth
    if kind == 1:
        sql = "select k from h_small"
        for i in range(min(depth, 300)):
            sql = f"select k from ({sql}) as d{i}"
        return sql
    if kind == 2:
        return "select " + " + ".join(["v"] * depth) + " from h_small"
    return "select " + "case when k > 0 then " * min(depth, 500) + "1" + \
        " end" * min(depth, 500) + " from h_small"


def huge_literal(rng: random.Random) -> str:
    n = rng.choice([10_000, 100_000, 900_000, 2_000_000])
    kind = rng.randrange(4)
    if kind == 0:
        return f"select '{'x' * n}' as s"
    if kind == 1:
        return f"select {'9' * min(n, 5000)} as n"
    if kind == 2:
        # parsing costs about 0.15 ms an element: 20,000 take 3 s, not interruptible
        return "select k from h_mid where k in (" + ",".join(
            str(rng.randrange(10**9)) for _ in range(rng.choice([100, 1000, 5000, 20_000]))) \
            + ")"
    return f"select length(repeat('ab', {rng.choice([10**6, 10**7, 10**10])}))"


def cartesian(rng: random.Random) -> str:
    n = rng.randint(2, 5)
    tables = ", ".join(f"h_mid as c{i}" for i in range(n))
    tail = rng.choice(["", " limit 1", " order by c0.s desc limit 3",
                       " where c0.v + c1.v = -5", ""])
    what = rng.choice(["count(*)", "*", "c0.k, c1.s"])
    return f"select {what} from {tables}{tail}"


def regex(rng: random.Random) -> str:
    pattern = rng.choice(["(a+)+$", "(a|aa)+b", "(.*a){20}", "((a*)*)*c", "(x+x+)+y",
                          "[", "(?<=a)b", "\\", "a{100000}", "(a", "*", "(?P<n>a)(?P=n)"])
    subject = rng.choice(["'" + "a" * rng.choice([30, 1000, 20_000]) + "!'", "s"])
    fn = rng.choice(["regexp_matches({x}, '{p}')", "regexp_like({x}, '{p}')",
                     "regexp_replace({x}, '{p}', 'z')", "regexp_extract({x}, '{p}')",
                     "{x} like '{p}%'"])
    return "select " + fn.format(x=subject, p=pattern) + " from h_small"


def keyless_values(rng: random.Random) -> str:
    """Sorting, grouping and comparing values that have no order or cannot be keys (lists,
    structs, intervals): an ORDER BY ... LIMIT on a list once ended the server."""
    value = rng.choice(["[k, v]", "{'a': k, 'b': s}", "[s]", "interval 1 day",
                        "[[k], [v]]", "{'l': [k]}"])
    return rng.choice([
        "select {x} as x from h_small order by x limit 3",
        "select {x} as x from h_mid order by x",
        "select {x} as x, count(*) from h_small group by x",
        "select distinct {x} from h_small",
        "select min({x}), max({x}) from h_mid",
        "select count(distinct {x}) from h_small",
        "select {x} as x from h_small union select {x} from h_small",
        "select {x} as x from h_small intersect select {x} from h_small",
        "select row_number() over (partition by {x} order by k) from h_small",
        "select k, rank() over (order by {x}) from h_small",
        "select * from h_small a join h_small b on {x} = {x} limit 3",
    ]).format(x=value)


def valid_query(rng: random.Random) -> str:
    return rng.choice([
        "select count(*) from h_mid where v < {n}",
        "select s, sum(v) from h_mid group by s order by 2 desc limit {n}",
        "select a.k, b.s from h_small a join h_mid b on a.k = b.k where a.v > {n}",
        "select k from h_mid where s like '%{n}%' order by k limit 10",
        "select k, row_number() over (order by v) from h_small limit {n}",
    ]).format(n=rng.randint(0, 100))


def harmless_write(rng: random.Random) -> str:
    """Writes that fail or touch nothing: the data must stay unchanged."""
    return rng.choice([
        "insert into h_small values (1, 1, 'dup')",  # duplicate key
        "update h_mid set v = v + 1 where k < 0",
        "delete from h_small where k = -42",
        "insert into h_nope values (1)",
        "drop table h_nope",
        "create table h_small (x int)",
        "begin; delete from h_mid; rollback",
    ])


VALID: list[Callable[[random.Random], str]] = [valid_query, cartesian, regex]


@dataclass
class Request:
    kind: str
    run: Callable[[flight.FlightClient, flight.FlightCallOptions], Any]


def sql_request(kind: str, sql: str) -> Request:
    from kodiak_flight.flightsql import pack
    from kodiak_flight.proto import FlightSql_pb2 as pb

    def run(c: flight.FlightClient, opts: flight.FlightCallOptions) -> Any:
        info = c.get_flight_info(flight.FlightDescriptor.for_command(
            pack(pb.CommandStatementQuery(query=sql))), opts)
        for e in info.endpoints:
            c.do_get(e.ticket, opts).read_all()
    return Request(kind, run)


def malformed(rng: random.Random) -> Request:
    from kodiak_flight.flightsql import pack
    from kodiak_flight.proto import FlightSql_pb2 as pb

    good = pack(pb.CommandStatementQuery(query="select 1"))
    junk = rng.choice([
        os.urandom(rng.randint(0, 200)),
        good[:rng.randint(0, len(good) - 1)],
        good + os.urandom(rng.randint(1, 20)),
        bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.1 else b for b in good),
        pack(pb.TicketStatementQuery(statement_handle=os.urandom(16))),
        pack(pb.CommandPreparedStatementQuery(prepared_statement_handle=os.urandom(30))),
        b"\n\x05type.\x12\x00",
    ])
    where = rng.randrange(5)

    def run(c: flight.FlightClient, opts: flight.FlightCallOptions) -> Any:
        if where == 0:
            c.get_flight_info(flight.FlightDescriptor.for_command(junk), opts)
        elif where == 1:
            c.do_get(flight.Ticket(junk), opts).read_all()
        elif where == 2:
            c.get_schema(flight.FlightDescriptor.for_command(junk), opts)
        elif where == 3:
            list(c.do_action(flight.Action(rng.choice(
                ["CreatePreparedStatement", "ClosePreparedStatement", "BeginTransaction",
                 "EndTransaction", "CancelFlightInfo", "kodiak.nope", "BeginSavepoint"]),
                junk), opts))
        else:
            c.get_flight_info(flight.FlightDescriptor.for_path("x", junk.hex()[:40]), opts)
    return Request("malformed", run)


def bad_data(rng: random.Random) -> Request:
    """An ingest whose batches a client built itself: text that is not UTF-8, string offsets
    running backwards, into a new table or appended to one that must stay unchanged."""
    import numpy as np

    from kodiak_flight.flightsql import pack
    from kodiak_flight.proto import FlightSql_pb2 as pb

    n = rng.choice([4, 5000])
    data = bytearray(b"k" * (2 * n))
    offsets = np.arange(n + 1, dtype=np.int32)
    if rng.random() < 0.5:
        data[rng.randrange(n)] = rng.choice([0xff, 0xc3, 0x80, 0xed])
    else:
        offsets[1 + rng.randrange(n - 1)] += 3
    text = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.tobytes()),
                                                  pa.py_buffer(bytes(data))])
    batch = pa.record_batch([pa.array(range(10**6, 10**6 + n), pa.int64()),
                             pa.array([1] * n, pa.int32()), text], names=["k", "v", "s"])
    opts = pb.CommandStatementIngest.TableDefinitionOptions
    append = rng.random() < 0.5
    cmd = pb.CommandStatementIngest(
        table="h_small" if append else f"h_new_{rng.randrange(10**6)}",
        table_definition_options=opts(
            if_not_exist=opts.TABLE_NOT_EXIST_OPTION_CREATE,
            if_exists=opts.TABLE_EXISTS_OPTION_APPEND if append
            else opts.TABLE_EXISTS_OPTION_FAIL))

    def run(c: flight.FlightClient, call: flight.FlightCallOptions) -> Any:
        writer, reader = c.do_put(flight.FlightDescriptor.for_command(pack(cmd)),
                                  batch.schema, call)
        writer.write_batch(batch)
        writer.done_writing()
        reader.read()
        writer.close()
    return Request("bad_data", run)


GENERATORS: list[tuple[float, str, Callable[[random.Random], str] | None]] = [
    (0.25, "token_soup", token_soup),
    (0.15, "mutated", mutated),
    (0.10, "deep_nesting", deep_nesting),
    (0.05, "huge_literal", huge_literal),
    (0.02, "cartesian", cartesian),
    (0.08, "regex", regex),
    (0.10, "valid", valid_query),
    (0.05, "write", harmless_write),
    (0.20, "malformed", None),
    (0.04, "keyless_values", keyless_values),
    (0.03, "bad_data", None),
]


def generate(rng: random.Random) -> Request:
    _, kind, gen = rng.choices(GENERATORS, weights=[g[0] for g in GENERATORS])[0]
    if gen is None:
        return malformed(rng) if kind == "malformed" else bad_data(rng)
    return sql_request(kind, gen(rng))


# -- the run -------------------------------------------------------------------------------

@dataclass
class Report:
    requests: int = 0
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome)
    problems: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)  # server bugs the client was told of
    seconds_by_kind: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        by_outcome = Counter()
        for (_, outcome), n in self.outcomes.items():
            by_outcome[outcome] += n
        lines = [f"{self.requests} requests in {self.seconds:.1f} s: " +
                 ", ".join(f"{k} {v}" for k, v in by_outcome.most_common())]
        lines.append("seconds by kind: " + ", ".join(
            f"{k} {v:.1f}" for k, v in self.seconds_by_kind.most_common()))
        lines += [f"PROBLEM: {p}" for p in self.problems[:20]]
        lines += [f"internal error: {p}" for p in self.internal[:20]]
        return "\n".join(lines)


@contextlib.contextmanager
def server(data_dir: Path, log: Path, flags: tuple[str, ...] = ("--log-level", "warning"),
           env_extra: dict[str, str] | None = None
           ) -> Iterator[tuple[str, subprocess.Popen]]:
    """A ``kodiak serve`` child process; its stderr goes to ``log`` (and, after the first
    line, its URI, its stdout: read it with ``proc.stdout`` once it has stopped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(env_extra or {})
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "serve", "--port",
                                 "0", "--data-dir", str(data_dir), *flags,
                                 *SERVER_FLAGS], stdout=subprocess.PIPE, stderr=err,
                                text=True, env=env, cwd=ROOT)
        try:
            uri = proc.stdout.readline().strip()
            if not uri.startswith("grpc"):
                raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
            yield uri, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def load(c: flight.FlightClient) -> dict[str, list]:
    for name, (ddl, n) in TABLES.items():
        sql_request("setup", ddl).run(c, flight.FlightCallOptions())
        rows = ",".join(f"({i}, {i * 7 % 13}, 'row {i % 97}')" for i in range(n))
        sql_request("setup", f"insert into {name} values {rows}").run(
            c, flight.FlightCallOptions())
    return checksums(c)


def checksums(c: flight.FlightClient) -> dict[str, list]:
    from kodiak_flight.flightsql import pack
    from kodiak_flight.proto import FlightSql_pb2 as pb

    out = {}
    for name in TABLES:
        info = c.get_flight_info(flight.FlightDescriptor.for_command(
            pack(pb.CommandStatementQuery(query=CHECKSUM.format(t=name)))))
        t = c.do_get(info.endpoints[0].ticket).read_all()
        out[name] = [col[0].as_py() for col in t.columns]
    return out


def outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "answered"
    if isinstance(exc, flight.FlightTimedOutError):
        return "timed out"
    if isinstance(exc, flight.FlightInternalError):
        return "internal error"
    if isinstance(exc, flight.FlightUnavailableError) and "resource exhausted" in str(exc):
        return "limit"
    if isinstance(exc, flight.FlightError | pa.ArrowException):
        return "refused" if "resource exhausted" not in str(exc) else "limit"
    return f"client error {type(exc).__name__}"


def run(requests: int, seed: int = 0, progress: Callable[[str], None] | None = None
        ) -> Report:
    report = Report()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        with server(Path(tmp) / "db", Path(tmp) / "server.log") as (uri, proc):
            c = flight.connect(uri)
            before = load(c)
            opts = flight.FlightCallOptions(timeout=CALL_TIMEOUT)
            started = time.perf_counter()
            for i in range(requests):
                req = generate(rng)
                err: BaseException | None = None
                t0 = time.perf_counter()
                try:
                    req.run(c, opts)
                except Exception as e:  # every error is an answer; which one is checked
                    err = e
                report.seconds_by_kind[req.kind] += time.perf_counter() - t0
                kind = outcome(err)
                report.outcomes[(req.kind, kind)] += 1
                if err is not None and "Traceback" in str(err):
                    report.problems.append(f"#{i} {req.kind}: a traceback reached the client: "
                                           f"{str(err)[:300]}")
                if kind == "internal error":
                    report.internal.append(f"#{i} {req.kind}: {str(err)[:300]}")
                if kind == "timed out" and "time limit" not in str(err):
                    report.problems.append(f"#{i} {req.kind}: not answered within "
                                           f"{CALL_TIMEOUT:g} s")
                if proc.poll() is not None:
                    report.problems.append(f"#{i} {req.kind}: the server died "
                                           f"(exit status {proc.returncode})")
                    break
                if progress is not None and (i + 1) % 1000 == 0:
                    progress(f"{i + 1} requests, {time.perf_counter() - started:.0f} s")
            report.requests = i + 1 if requests else 0
            report.seconds = time.perf_counter() - started
            if proc.poll() is None:
                after = checksums(flight.connect(uri))
                if after != before:
                    report.problems.append(f"the data changed: {before} -> {after}")
            c.close()
    return report


# -- attempts to read a secret -------------------------------------------------------------

SECRET = "h_secret"  # made by the admin; the probing user holds USAGE on it, not REVEAL


def secret_setup(marker: str, key_id: str) -> list[str]:
    """What the admin runs before the probes: a secret, and a view and a user function
    over secret() that the probing user may use (as their owner may)."""
    return [
        "create table h_small (k bigint primary key, v integer, s varchar)",
        "insert into h_small values (1, 1, 'a'), (2, 2, 'b')",
        f"create secret {SECRET} (type s3, key_id '{key_id}', secret '{marker}', "
        "scope 's3://hostile')",
        f"create view h_secret_view as select secret('{SECRET}') as v",
        f"create function h_secret_fn() returns varchar as secret('{SECRET}')",
        "grant select on table h_small to {user}",
        "grant select on table h_secret_view to {user}",
        "grant execute on function main.h_secret_fn to {user}",
        "grant create on schema main to {user}",
        f"grant usage on secret {SECRET} to {{user}}",
    ]


def secret_probes(typed: str) -> list[str]:
    """Every path that might show a secret's value: secret() in queries of all shapes,
    EXPLAIN, the system views, COPY TO of a query calling it, a view and a user function
    over it, and malformed secret statements (``typed`` is a value the caller typed in
    them: it must come back in no error and reach no log)."""
    s = SECRET
    return [
        f"select secret('{s}')",
        f"select secret('{s}', 'KEY_ID')",
        f"select length(secret('{s}')) as n",
        f"select secret('{s}') = 'guess' as hit",
        f"select * from (select secret('{s}') as x) t",
        f"with c as (select secret('{s}') as x) select * from c",
        f"select k from h_small where s < secret('{s}')",
        f"select k, secret('{s}') from h_small",
        f"explain select secret('{s}')",
        f"explain analyze select secret('{s}')",
        f"copy (select secret('{s}') as v) to 'h_out.csv' (format csv)",
        "select * from h_secret_view",
        "select h_secret_fn() as v",
        "call h_secret_fn()",
        f"create view h_mine as select secret('{s}') as v",
        "create function h_mine_fn() returns varchar as secret('h_secret')",
        "select * from kodiak_secrets",
        "show secrets",
        "select * from information_schema.kodiak_objects",
        "select * from kodiak_queries",
        "select * from kodiak_audit",
        f"select * from read_csv('h.csv' using secret {s})",
        f"create secret h_new (type s3, secret '{typed}'",
        f"create secret h_new (type s3, secret '{typed}', bogus 1)",
        f"create secret h_new (type nosuchtype, secret '{typed}')",
        f"create secret h_new (type s3 secret '{typed}')",
        f"create secret {s} (type s3, secret '{typed}')",
        f"alter secret {s} rotate (secret '{typed}' extra)",
        f"alter secret {s} rotate (secret '{typed}')",
        f"alter secret nope rotate (secret '{typed}')",
        f"create or replace secret {s} (type s3, secret '{typed}')",
        f"create secret \"h'x\" (type s3, secret '{typed}', secret '{typed}')",
        f"select secret('{s}', '{typed}')",
        "select secret('nosuch')",
    ]


def admin_probes(typed: str) -> list[str]:
    """The probes an admin (who may reveal) sends too: EXPLAIN, the listings and the
    malformed statements, none of which may show a value even to it."""
    return [p for p in secret_probes(typed)
            if p.startswith(("explain", "show", "select * from k", "select * from info"))
            or ("'" + typed + "'" in p and not p.startswith(("alter secret h_secret rotate "
                                                              "(secret", "create or replace")))]


def leaks(text: str, values: list[str]) -> list[str]:
    """Which of ``values`` (or their base64 or hex) ``text`` holds."""
    import base64

    out = []
    for v in values:
        forms = [v, base64.b64encode(v.encode()).decode(), v.encode().hex()]
        if any(f in text for f in forms):
            out.append(v)
    return out


def secret_run(marker: str, key_id: str, typed: str, *, flags: tuple[str, ...] = (
        "--log-format", "json", "--log-level", "debug")) -> list[str]:
    """Start a server with users, the master key and ``flags``; make the secret as the
    admin; send every probe as a user without the reveal right (and the EXPLAIN, listing
    and malformed probes as the admin); then check that no answer, error, log line or
    byte of the data directory holds ``marker``, ``key_id`` or ``typed`` (or their base64
    or hex), that each denied secret() was audited, and that the admin's own reveal was.
    Returns the problems found."""
    from kodiak_flight.users import add_user, users_path

    problems: list[str] = []
    values = [marker, key_id]
    with tempfile.TemporaryDirectory() as tmp:
        data, log = Path(tmp) / "db", Path(tmp) / "server.log"
        data.mkdir()
        add_user(users_path(data), "mallory", "mallory password", n=2**10)
        env = {"KODIAK_USER": "boss", "KODIAK_PASSWORD": "boss password",
               "KODIAK_MASTER_KEY": "hostile master key"}
        with server(data, log, flags, env) as (uri, proc):
            c = flight.connect(uri)
            boss = flight.FlightCallOptions(
                headers=[c.authenticate_basic_token("boss", "boss password")], timeout=60)
            mallory = flight.FlightCallOptions(
                headers=[c.authenticate_basic_token("mallory", "mallory password")],
                timeout=60)
            for sql in secret_setup(marker, key_id):
                _answer(c, boss, sql.format(user="mallory"))
            for who, opts, probes in (("mallory", mallory, secret_probes(typed)),
                                      ("boss", boss, admin_probes(typed))):
                for sql in probes:
                    answer = _answer(c, opts, sql)
                    found = leaks(answer, values + [typed])
                    if found:
                        problems.append(f"{who}: {sql[:80]!r} showed {found}: {answer[:200]}")
            if leaks(_answer(c, boss, f"select secret('{SECRET}') as v"), [marker]) != [marker]:
                problems.append("the admin could not reveal its own secret")
            audit = _answer(c, boss, "select user_name, allowed from kodiak_audit where "
                                     "action = 'secret.reveal'")
            if "mallory" not in audit or "False" not in audit or "boss" not in audit:
                problems.append(f"reveals are not all audited: {audit[:300]}")
            c.close()
        out = proc.stdout.read() if proc.stdout is not None else ""
        if os.environ.get("KODIAK_HOSTILE_KEEP_LOG"):
            Path(os.environ["KODIAK_HOSTILE_KEEP_LOG"]).write_text(log.read_text() + out)
        for name, text in (("the server's stderr", log.read_text(errors="replace")),
                           ("the server's stdout", out)):
            if leaks(text, values + [typed]):
                problems.append(f"{name} holds a value: {leaks(text, values + [typed])}")
        for f in data.rglob("*"):
            if f.is_file() and leaks(f.read_bytes().decode("latin-1"), values):
                problems.append(f"{f.relative_to(data)} holds a value in clear")
    return problems


def _answer(c: flight.FlightClient, opts: flight.FlightCallOptions, sql: str) -> str:
    """What the client sees of ``sql``: its rows, or its error's text."""
    try:
        info = c.get_flight_info(flight.FlightDescriptor.for_command(_statement(sql)), opts)
        return "\n".join(str(c.do_get(e.ticket, opts).read_all().to_pylist())
                         for e in info.endpoints)
    except Exception as e:  # every error is an answer: its text is checked
        return f"ERROR {type(e).__name__}: {e}"


def _statement(sql: str) -> bytes:
    from kodiak_flight.flightsql import pack
    from kodiak_flight.proto import FlightSql_pb2 as pb

    return pack(pb.CommandStatementQuery(query=sql))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    report = run(args.requests, args.seed, progress=lambda m: print(m, file=sys.stderr))
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())


# -- as a benchmark of ``python -m bench`` ---------------------------------------------------

FULL: dict[str, Any] = {"requests": 10_000}
QUICK: dict[str, Any] = {"requests": 1_000}


def bench_hostile(cfg: dict) -> list[Any]:
    from .common import Row, log

    report = run(cfg["requests"], seed=0, progress=log)
    log(report.summary())
    ok = not report.problems and not report.internal
    return [Row("hostile", f"{report.requests} generated requests", report.seconds, "s",
                target="all answered, server up, data unchanged", status="PASS" if ok
                else "MISS", detail=report.summary()[:500])]


BENCHMARKS: dict[str, Callable[[dict], list[Any]]] = {"hostile": bench_hostile}
