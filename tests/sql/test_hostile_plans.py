"""Hostile query shapes must answer or fail with an SQL error, never crash the process.

Generated set operations (2 to 40 branches mixing UNION, EXCEPT and INTERSECT, with and
without ALL, over one table and several) read tables whose rows sit in segments, in the
write buffer and in the insert tail; their answers are checked against a reference that
evaluates the parsed tree over each branch's rows. Deep plans (nested derived tables, IN
subqueries, many joins, statements past the nesting limits) follow. Everything runs in one
fresh interpreter (``isolated.run_isolated``), which after each statement also checks that
CPython's ``type`` object is intact (the damage behind the select4.test crash).
"""

from __future__ import annotations

from .isolated import TYPE_CHECK, run_isolated

SETUP = TYPE_CHECK + """
import random, tempfile
from collections import Counter
import pyarrow as pa
import engine
from kodiak_flight.sql import Session, SqlError
from kodiak_flight.sql.dialect import Grizzly, parse
from kodiak_flight.sql.executor.core import Executor
from sqlglot import exp

def guard(method):
    def run(self, out):
        assert type_intact(), "a plan about to run has damaged the type object"
        return method(self, out)
    return run
Executor.as_table = guard(Executor.as_table)  # check while the plan's declarations live
Executor.as_reader = guard(Executor.as_reader)

db = engine.Database.open(tempfile.mkdtemp())
s = Session(db)

def rows(sql):
    r = s.execute(sql)
    t = r.table if r.table is not None else r.reader.read_all()
    assert type_intact(), sql[:200]
    return t.column(0).to_pylist()

def vals(n, start=0):
    ks = list(range(start, start + n))
    return ks, [None if k % 17 == 0 else (k * 7919) % 23 for k in ks]

def sql_rows(ks, vs):
    return ",".join(f"({k},{'NULL' if v is None else v})" for k, v in zip(ks, vs))

# seg: only segments; buf: only the write buffer; tl: only the insert tail (single-row
# inserts of new keys); mix: all three. buf has a secondary index, as the tables of
# select4.test have
for name, pk in (("seg", ""), ("buf", ""), ("tl", " PRIMARY KEY"), ("mix", " PRIMARY KEY")):
    s.execute(f"CREATE TABLE {name} (k BIGINT{pk}, v INTEGER)")
s.execute("CREATE INDEX buf_v ON buf (v)")
for name in ("seg", "mix"):
    ks, vs = vals(5000)
    db.insert(name, pa.table({"k": pa.array(ks, pa.int64()), "v": pa.array(vs, pa.int32())}))
db.checkpoint()
for name in ("buf", "mix"):
    s.execute(f"INSERT INTO {name} VALUES " + sql_rows(*vals(300, 6000)))
for name, n in (("tl", 200), ("mix", 100)):
    for k, v in zip(*vals(n, 7000)):
        s.execute(f"INSERT INTO {name} VALUES " + sql_rows([k], [v]))
snap = db.snapshot()
placed = {n: snap.data("main." + n) for n in ("seg", "buf", "tl", "mix")}
assert placed["seg"].parts and not placed["seg"].buffer_rows
assert placed["buf"].buffer_rows and not placed["buf"].parts
assert placed["tl"].tail_end and not placed["tl"].parts
assert placed["mix"].parts and placed["mix"].tail_end
assert placed["mix"].buffer_rows > placed["mix"].tail_end
"""

SET_OPERATIONS = SETUP + """
def reference(node):
    if isinstance(node, exp.Subquery):
        return reference(node.this)
    if isinstance(node, exp.Select):
        return Counter(rows(node.sql(dialect=Grizzly)))
    a, b = reference(node.this), reference(node.expression)
    if isinstance(node, exp.Union):
        out = a + b
    elif isinstance(node, exp.Intersect):
        out = a & b
    else:
        out = a - b if not node.args.get("distinct") else Counter(x for x in a if x not in b)
    if node.args.get("distinct"):
        out = Counter(set(out))
    return out

def branch(rng, tables):
    t = rng.choice(tables)
    col = rng.choice(["v", "v", "v + 1", "k % 23"])
    where = rng.choice([
        f"k % {rng.randint(2, 9)} = {rng.randint(0, 1)}",
        f"v < {rng.randint(0, 23)}",
        f"v = {rng.randint(0, 22)} OR v IS NULL",
        f"k IN ({','.join(str(rng.randint(0, 7300)) for _ in range(6))})",
        f"k BETWEEN {rng.randint(0, 7000)} AND {rng.randint(0, 7300)}",
        "v IN (1, 2, 3, 5, 8, 13)",
    ])
    return f"SELECT {col} FROM {t} WHERE {where}"

OPS = ["UNION", "UNION ALL", "EXCEPT", "EXCEPT ALL", "INTERSECT", "INTERSECT ALL"]
rng = random.Random(3766)
n_queries = 0
for n in (2, 2, 3, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40):
    for tables in (["mix"], ["seg", "buf", "tl", "mix"]):
        sql = branch(rng, tables)
        for _ in range(n - 1):
            sql += f"\\n{rng.choice(OPS)}\\n{branch(rng, tables)}"
        want = reference(parse(sql)[0])
        got = Counter(rows(sql))
        assert got == want, (sql, sorted(got.items(), key=str), sorted(want.items(), key=str))
        n_queries += 1
print("ok", n_queries)
"""

DEEP_PLANS = SETUP + """
def answer_or_sql_error(sql):
    try:
        return rows(sql)
    except SqlError:
        assert type_intact(), sql[:200]
        return None

# nested derived tables: every level filters a little more
sql = "SELECT k FROM mix"
for i in range(60):
    sql = f"SELECT k FROM ({sql}) AS d{i} WHERE k > {i}"
assert sorted(rows(sql)) == [k for k in range(60, 5000)] + list(range(6000, 6300)) + \\
    list(range(7000, 7100))

# nested IN subqueries over tables in every storage place
sql = "SELECT k FROM seg"
for i in range(40):
    sql = f"SELECT k FROM {('buf', 'tl', 'mix', 'seg')[i % 4]} WHERE k IN ({sql})"
assert rows(sql) == []  # buf, tl and seg share no keys
sql = "SELECT k FROM mix"
for i in range(40):
    sql = f"SELECT k FROM mix WHERE k IN ({sql}) AND k % 2 = 0"
assert len(rows(sql)) == 2500 + 150 + 50

# many joins of one key, every table in turn
names = ["mix", "seg"] * 12
sql = "SELECT count(*) FROM " + ", ".join(f"{t} AS j{i}" for i, t in enumerate(names)) + \\
    " WHERE " + " AND ".join(f"j{i}.k = j{i - 1}.k" for i in range(1, len(names)))
assert rows(sql) == [5000]

# set operations inside derived tables, joins and subqueries
sql = "SELECT count(*) FROM (" + " UNION ALL ".join(
    f"SELECT k FROM {t} WHERE k % 5 = {i % 5}" for i, t in
    enumerate(["seg", "buf", "tl", "mix"] * 5)) + ") AS u JOIN tl ON tl.k = u.k"
assert rows(sql) == [200 + 100]  # tl itself, and the rows mix has in its tail
sql = "SELECT k FROM mix WHERE k IN (SELECT k FROM tl EXCEPT SELECT k FROM buf " + \\
    "INTERSECT SELECT k FROM mix) AND v IN (SELECT v FROM seg UNION SELECT v FROM tl)"
assert len(rows(sql)) == 100 - sum(1 for k in range(7000, 7100) if k % 17 == 0)

# past the limits: a clean SQL error is as good as an answer, a crash is not
for sql in [
    " UNION ".join(f"SELECT k FROM mix WHERE k = {i}" for i in range(1500)),
    " EXCEPT ".join(["SELECT v FROM buf"] * 600),
    "SELECT " + "(" * 450 + "1" + ")" * 450,
    "SELECT k FROM mix WHERE " + " OR ".join(f"k = {i}" for i in range(5000)),
    "SELECT " + " + ".join(["v"] * 3000) + " FROM tl",
    "SELECT count(*) FROM " + ", ".join(f"tl AS c{i}" for i in range(70)) +
    " WHERE " + " AND ".join(f"c{i}.k = c{i - 1}.k" for i in range(1, 70)),
    "WITH " + ", ".join(f"w{i} AS (SELECT k FROM {'mix' if i == 0 else f'w{i - 1}'})"
                         for i in range(300)) + " SELECT count(*) FROM w299",
]:
    answer_or_sql_error(sql)
print("ok")
"""


def test_generated_set_operations():
    assert run_isolated(SET_OPERATIONS, timeout=300).startswith("ok")


def test_deep_plans():
    assert run_isolated(DEEP_PLANS, timeout=300).strip() == "ok"
