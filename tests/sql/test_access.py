"""Access control: roles, grants and their checks, for embedded sessions with a user.

A session with no user holds every right (it is the administrator here); ``ann`` is granted
what each case needs, ``bob`` nothing. Every denial names the user, the right and the object,
and is written to the audit log."""

from __future__ import annotations

import random
import string
from typing import Any

import pyarrow as pa
import pytest

from kodiak_flight.sql import AccessDenied, BindError, PermissionDenied, Session, SqlError
from kodiak_flight.sql.access import rights_for
from kodiak_flight.sql.files import FileAccess
from kodiak_flight.sql.ingest import IngestTarget


@pytest.fixture
def admin(db: Any) -> Session:
    s = Session(db)
    s.execute("create table t (id int primary key, v varchar)")
    s.execute("insert into t values (1, 'a'), (2, 'b')")
    s.execute("create schema other")
    s.execute("create table other.u (id int primary key)")
    yield s
    s.close()


def user(db: Any, name: str, **kw: Any) -> Session:
    return Session(db, user=name, **kw)


def rows(s: Session, sql: str) -> list[dict]:
    return s.execute(sql).reader.read_all().to_pylist()


def denied(s: Session, sql: str, right: str, what: str) -> None:
    with pytest.raises(PermissionDenied) as e:
        s.execute(sql)
    assert str(e.value) == f"permission denied: user {s.user} may not {right} {what}"


# statement, right as the denial names it, object, grant that allows it
MATRIX = [
    ("select * from t", "SELECT", "table main.t", "grant select on table t to {u}"),
    ("insert into t values (9, 'z')", "INSERT", "table main.t", "grant insert on t to {u}"),
    ("update t set v = 'x' where id = 1", "UPDATE", "table main.t",
     "grant update, select on table main.t to {u}"),
    ("update t set v = 'x'", "UPDATE", "table main.t", "grant update on table main.t to {u}"),
    ("delete from t where id = 2", "DELETE", "table main.t", "grant delete, select on t to {u}"),
    ("delete from t", "DELETE", "table main.t", "grant delete on t to {u}"),
    ("select * from other.u", "SELECT", "table other.u", "grant select on schema other to {u}"),
    ("insert into other.u values (5)", "INSERT", "table other.u",
     "grant all on schema other to {u}"),
    ("create table other.n (a int)", "CREATE", "schema other",
     "grant create on schema other to {u}"),
    ("create view main.vv as select 1 as one", "CREATE", "schema main",
     "grant create on schema main to {u}"),
    ("create schema fresh", "CREATE", "the database", "grant create on database to {u}"),
    ("select count(*) from t", "SELECT", "table main.t", "grant all on database to {u}"),
    ("drop table other.u", "CREATE", "schema other", "grant create on schema other to {u}"),
    ("create index ix on t (v)", "CREATE", "schema main", "grant create on schema main to {u}"),
]


@pytest.mark.parametrize(("sql", "right", "what", "grant"), MATRIX)
def test_matrix(db: Any, admin: Session, sql: str, right: str, what: str, grant: str) -> None:
    ann, bob = user(db, "ann"), user(db, "bob")
    admin.execute(grant.format(u="ann"))
    denied(bob, sql, right, what)
    ann.execute(sql)  # allowed


def test_sessions_without_a_user_and_the_kodiak_user_hold_everything(db: Any,
                                                                   admin: Session) -> None:
    assert rows(admin, "select count(*) as n from t") == [{"n": 2}]
    kodiak = user(db, "kodiak")
    assert rows(kodiak, "select count(*) as n from t") == [{"n": 2}]
    kodiak.execute("create role r")
    s = Session(db, user="boss")
    s.superuser = "boss"  # the server's own user, whatever its name
    s.execute("delete from t where id = 1")


def test_admin_role_holds_everything_and_grants(db: Any, admin: Session) -> None:
    admin.execute("grant admin to ann")
    ann, bob = user(db, "ann"), user(db, "bob")
    ann.execute("create role readers")
    ann.execute("grant select on t to readers")
    ann.execute("grant readers to bob")
    assert len(rows(bob, "select * from t")) == 2
    with pytest.raises(PermissionDenied, match="may not CREATE ROLE x"):
        bob.execute("create role x")
    with pytest.raises(PermissionDenied, match="may not GRANT SELECT on table main.t"):
        bob.execute("grant select on t to carl")


def test_roles_nest_and_revoke_takes_effect_at_once(db: Any, admin: Session) -> None:
    admin.execute("create role a")
    admin.execute("create role b")
    admin.execute("grant select on t to a")
    admin.execute("grant a to b")
    admin.execute("grant b to ann")
    ann = user(db, "ann")
    p = ann.prepare("select v from t where id = ?")
    assert p.execute(pa.table({"p": [1]})).reader.read_all().to_pylist() == [{"v": "a"}]
    with pytest.raises(BindError, match="cycle"):
        admin.execute("grant b to a")
    admin.execute("revoke a from b")
    with pytest.raises(PermissionDenied):  # the prepared plan is bound again, and refused
        p.execute(pa.table({"p": [1]})).reader.read_all()


def test_revoke_all_and_single_rights(db: Any, admin: Session) -> None:
    ann = user(db, "ann")
    admin.execute("grant select, insert on t to ann")
    admin.execute("revoke insert on t from ann")
    rows(ann, "select * from t")
    denied(ann, "insert into t values (3, 'c')", "INSERT", "table main.t")
    admin.execute("grant all privileges on table t to ann")
    ann.execute("insert into t values (3, 'c')")
    admin.execute("revoke all on t from ann")
    denied(ann, "select * from t", "SELECT", "table main.t")


def test_grant_option(db: Any, admin: Session) -> None:
    admin.execute("grant select on t to ann with grant option")
    ann, bob = user(db, "ann"), user(db, "bob")
    ann.execute("grant select on t to bob")
    assert len(rows(bob, "select * from t")) == 2
    with pytest.raises(PermissionDenied, match="may not GRANT INSERT"):
        ann.execute("grant insert on t to bob")
    with pytest.raises(PermissionDenied, match="may not GRANT SELECT"):
        bob.execute("grant select on t to carl")
    admin.execute("revoke grant option for select on t from ann")
    assert len(rows(ann, "select * from t")) == 2  # the right stays, the option goes
    with pytest.raises(PermissionDenied, match="may not GRANT SELECT"):
        ann.execute("grant select on t to carl")


def test_views_read_with_their_owners_rights(db: Any, admin: Session) -> None:
    admin.execute("grant create on schema main to ann")
    admin.execute("grant select on t to ann")
    ann, bob = user(db, "ann"), user(db, "bob")
    ann.execute("create view firsts as select v from t where id = 1")
    denied(bob, "select * from firsts", "SELECT", "table main.firsts")
    admin.execute("grant select on firsts to bob")
    assert rows(bob, "select * from firsts") == [{"v": "a"}]  # t read as ann (definer)
    denied(bob, "select * from t", "SELECT", "table main.t")
    admin.execute("revoke select on t from ann")
    with pytest.raises(PermissionDenied, match="user ann may not SELECT table main.t"):
        bob.execute("select * from firsts")
    assert rows(bob, "select column_name from information_schema.columns "
                     "where table_name = 'firsts'") == []  # listed without columns
    assert [r.name for r in bob.resolver().relations() if r.kind == "view"] == ["firsts"]
    # a user cannot make a view over what it may not read
    denied(bob, "create view sneaky as select * from t", "CREATE", "schema main")
    admin.execute("grant create on schema main to bob")
    denied(bob, "create view sneaky as select * from t", "SELECT", "table main.t")


@pytest.mark.parametrize("sql", [
    "select * from (select * from t) s",
    "select * from other.u where id in (select id from t)",
    "select (select max(v) from t) as m",
    "with c as (select * from t) select * from c",
    "select * from other.u join t using (id)",
    "explain select * from t",
    "describe t",
    "insert into other.u select id from t",
    "update other.u set id = 1 where id in (select id from t)",
    "create table other.c as select * from t",
])
def test_no_path_around_select(db: Any, admin: Session, sql: str) -> None:
    admin.execute("grant all on schema other to bob")
    bob = user(db, "bob")
    denied(bob, sql, "SELECT", "table main.t")


def test_denials_and_grants_are_audited(db: Any, admin: Session) -> None:
    bob = user(db, "bob")
    with pytest.raises(PermissionDenied):
        bob.execute("select * from t")
    admin.execute("grant select on t to bob")
    admin.execute("revoke select on t from bob")
    log = rows(admin, "select user_name, action, object, allowed, detail from kodiak_audit")
    assert {"user_name": "bob", "action": "select", "object": "table main.t",
            "allowed": False, "detail": "permission denied"} in log
    assert {"user_name": None, "action": "grant", "object": "table main.t", "allowed": True,
            "detail": "SELECT TO bob"} in log
    assert {"user_name": None, "action": "revoke", "object": "table main.t", "allowed": True,
            "detail": "SELECT FROM bob"} in log
    with pytest.raises(PermissionDenied, match="may not read kodiak_audit"):
        bob.execute("select * from kodiak_audit")


def test_show_grants(db: Any, admin: Session) -> None:
    admin.execute("create role r")
    admin.execute("grant r to ann")
    admin.execute("grant select on t to ann with grant option")
    admin.execute("grant usage on secret s3key to r")
    ann = user(db, "ann")
    mine = rows(ann, "show grants")
    assert {"grantee": "ann", "privilege": "MEMBER", "object_type": "role",
            "object_name": "r", "grantable": False} in mine
    assert {"grantee": "ann", "privilege": "SELECT", "object_type": "table",
            "object_name": "main.t", "grantable": True} in mine
    assert rows(ann, "show grants for r") == [
        {"grantee": "r", "privilege": "USAGE", "object_type": "secret", "object_name": "s3key",
         "grantable": False}]
    with pytest.raises(PermissionDenied):
        user(db, "bob").execute("show grants for ann")
    assert len(rows(admin, "show grants")) == 3


def test_checker_for_functions_and_secrets(db: Any, admin: Session) -> None:
    admin.execute("grant execute on function main.score to ann")
    admin.execute("grant reveal on secret s3key to ann")
    admin.execute("grant usage on schema other to ann")
    r = rights_for(db, db.snapshot(), "ann")
    assert r.allows("execute", "function", "main.score")
    assert not r.allows("execute", "function", "main.other")
    assert r.allows("reveal", "secret", "s3key") and not r.allows("usage", "secret", "s3key")
    assert r.allows("usage", "schema", "other")
    with pytest.raises(PermissionDenied, match="user ann may not USAGE secret other"):
        r.require("usage", "secret", "other")
    assert Session(db).context(db.snapshot(), None).rights.allows("reveal", "secret", "x")
    with pytest.raises(BindError, match="EXECUTE cannot be granted on a table"):
        admin.execute("grant execute on table t to ann")


def test_drop_role_forgets_memberships(db: Any, admin: Session) -> None:
    admin.execute("create role r")
    admin.execute("grant select on t to r")
    admin.execute("grant r to ann")
    admin.execute("drop role r")
    denied(user(db, "ann"), "select * from t", "SELECT", "table main.t")
    admin.execute("create role r")  # no grants come back with the name
    admin.execute("grant r to ann")
    denied(user(db, "ann"), "select * from t", "SELECT", "table main.t")
    with pytest.raises(BindError, match="built in"):
        admin.execute("drop role admin")
    admin.execute("drop role if exists nothing")


def test_metadata_lists_only_what_a_user_may_use(db: Any, admin: Session) -> None:
    admin.execute("grant select on other.u to ann")
    ann = user(db, "ann")
    assert [r.qualified for r in ann.resolver().relations() if r.kind != "system"] == \
        ["other.u"]
    assert "main" not in ann.resolver().schemas()
    assert rows(ann, "select table_schema, table_name from information_schema.tables "
                     "where table_type = 'BASE TABLE'") == [
        {"table_schema": "other", "table_name": "u"}]
    assert "main.t" in [r.qualified for r in admin.resolver().relations()]


def test_ingest_needs_create_or_insert(db: Any, admin: Session) -> None:
    data = pa.table({"id": pa.array([7], pa.int32()), "v": ["q"]})
    bob = user(db, "bob")
    with pytest.raises(PermissionDenied, match="may not INSERT table main.t"):
        bob.ingest(IngestTarget("t"), data.to_reader())
    with pytest.raises(PermissionDenied, match="may not CREATE schema main"):
        bob.ingest(IngestTarget("fresh"), data.to_reader())
    admin.execute("grant insert on t to bob")
    assert bob.ingest(IngestTarget("t"), data.to_reader()) == 1
    assert bob.ingest(IngestTarget("mine", temporary=True), data.to_reader()) == 1


def test_server_files_need_a_role(db: Any, admin: Session, tmp_path: Any) -> None:
    files = FileAccess.under(str(tmp_path))
    admin.execute("grant select on t to ann")
    ann = user(db, "ann", file_access=files)
    with pytest.raises(PermissionDenied, match="may not write server files"):
        ann.execute("copy t to 'out.csv'")
    admin.execute("grant write_server_files to ann")
    ann.execute("copy t to 'out.csv'")
    with pytest.raises(PermissionDenied, match="may not read server files"):
        ann.execute("select * from 'out.csv'")
    admin.execute("grant read_server_files to ann")
    assert len(rows(ann, "select * from 'out.csv'")) == 2
    with pytest.raises(AccessDenied, match="outside"):  # the root still bounds everyone
        Session(db, file_access=files).execute("select * from '/etc/passwd.csv'")


def test_an_admin_kills_anyones_query(db: Any, admin: Session) -> None:
    from .test_activity import running_id

    admin.execute("create table keep as select range as a from range(1000)")
    admin.execute("grant select on keep to ann")
    ann, bob = user(db, "ann"), user(db, "bob")
    reader = ann.execute("select k.a from keep k, keep k2").reader
    qid = running_id(ann, "select k.a from keep k, keep k2")
    with pytest.raises(AccessDenied):
        bob.execute(f"kill query {qid}")
    admin.execute("grant admin to bob")
    assert rows(bob, f"select query from kodiak_queries where query_id = {qid}") == [
        {"query": "select k.a from keep k, keep k2"}]  # an admin sees every text
    bob.execute(f"kill query {qid}")
    with pytest.raises(SqlError):
        reader.read_all()


class Directory:
    """A user directory in memory (the server passes its users file)."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {"kodiak": "x"}

    def names(self) -> list[str]:
        return list(self.users)

    def add(self, name: str, password: str) -> None:
        if name in self.users:
            raise BindError(f"user {name!r} already exists")
        self.users[name] = password

    def remove(self, name: str) -> None:
        del self.users[name]

    def set_password(self, name: str, password: str) -> None:
        self.users[name] = password


def test_users_in_sql(db: Any, admin: Session) -> None:
    d = Directory()
    boss = Session(db, user="kodiak", users=d)
    boss.execute("create user ann password 'it''s secret'")
    assert d.users["ann"] == "it's secret"
    ann = Session(db, user="ann", users=d)
    denied(ann, "select * from t", "SELECT", "table main.t")  # nothing until granted
    with pytest.raises(PermissionDenied, match="may not CREATE USER bob"):
        ann.execute("create user bob password 'x'")
    ann.execute("alter user ann with password 'new'")  # one's own password
    assert d.users["ann"] == "new"
    with pytest.raises(PermissionDenied):
        ann.execute("alter user kodiak password 'mine'")
    boss.execute("grant select on t to ann")
    with pytest.raises(BindError, match="no user or role named 'carl'"):
        boss.execute("grant select on t to carl")
    boss.execute("drop user ann")
    assert "ann" not in d.users
    assert rows(admin, "show grants for ann") == []  # its grants went with it
    with pytest.raises(SqlError, match="no user directory"):
        admin.execute("create user x password 'y'")
    texts = [r["query"] for r in rows(admin, "select query from kodiak_queries")]
    assert not any("secret" in t or "'new'" in t for t in texts)


def test_parse_errors_are_clear(admin: Session) -> None:
    for sql, msg in [("grant select on t", "expected TO"),
                     ("grant select on table t to", "syntax error"),
                     ("grant r to", "expected a user or role name"),
                     ("create role", "expected a role name"),
                     ("create role a b", "unexpected 'b'"),
                     ("grant select on table a.b.c to x", "too many parts"),
                     ("create user u password bare", "quoted string")]:
        with pytest.raises(SqlError, match=msg):
            admin.execute(sql)


HOSTILE = ["'; drop table t; --", 'a"b', "x y", "ROBERT'); DROP TABLE t;--", "ü名前",
           "admin ", "role", "select", "kodiak_system.audit", "../../etc", "a.b"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_role_names_are_only_names(db: Any, admin: Session, name: str) -> None:
    q = '"' + name.replace('"', '""') + '"'
    admin.execute(f"create role {q}")
    admin.execute(f"grant select on t to {q}")
    admin.execute(f"grant {q} to ann")
    assert len(rows(user(db, "ann"), "select * from t")) == 2
    assert rows(admin, f"show grants for {q}")[0]["grantee"] == name
    admin.execute(f"drop role {q}")
    assert len(rows(admin, "select * from t")) == 2  # t is still there


def test_fuzz_access_statements_never_crash(db: Any, admin: Session) -> None:
    rng = random.Random(16)
    words = ["GRANT", "REVOKE", "CREATE", "DROP", "ROLE", "USER", "SELECT", "ALL", "ON",
             "TABLE", "SCHEMA", "DATABASE", "TO", "FROM", "t", "main.t", "'x'", '"q""q"',
             ",", ";", "WITH", "GRANT", "OPTION", "PASSWORD", "--", "/*", "(", ")", "admin",
             "SHOW", "GRANTS", "FOR", "'", '"']
    bob = user(db, "bob")
    for _ in range(400):
        lead = rng.choice(["GRANT", "REVOKE", "CREATE ROLE", "DROP ROLE", "SHOW GRANTS"])
        sql = lead + " " + " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
        for s in (admin, bob):
            try:
                s.execute(sql)
            except SqlError as e:
                assert "Traceback" not in str(e) and "object has no attribute" not in str(e)
            except Exception as e:  # engine errors (already exists) are fine too
                assert type(e).__module__.startswith("engine"), (sql, e)
    assert len(rows(admin, "select * from t")) == 2
    assert not rights_for(db, db.snapshot(), "bob").is_admin


def test_random_names_round_trip(db: Any, admin: Session) -> None:
    rng = random.Random(7)
    for _ in range(30):
        name = "".join(rng.choice(string.printable[:-6]) for _ in range(rng.randint(1, 12)))
        q = '"' + name.replace('"', '""') + '"'
        admin.execute(f"create role {q}")
        assert rows(admin, f"show grants for {q}") == []
        admin.execute(f"drop role {q}")


# -- row-level security ------------------------------------------------------------------

@pytest.fixture
def rls(db: Any) -> Session:
    s = Session(db)
    s.execute("create table sales (id int primary key, region varchar, amount int)")
    s.execute("insert into sales values (1, 'ann', 10), (2, 'bob', 20), (3, 'ann', 30), "
              "(4, 'eu', 40)")
    s.execute("create table regions (name varchar, boss varchar)")
    s.execute("insert into regions values ('ann', 'x'), ('bob', 'y'), ('eu', 'z')")
    s.execute("grant select on sales to ann, bob, carl")
    s.execute("grant select on regions to bob")
    s.execute("create role europe")
    s.execute("grant europe to carl")
    s.execute("create policy own on sales for select using (region = current_user)")
    s.execute("create policy eu on sales to europe using (region = 'eu')")
    yield s
    s.close()


def test_policies_filter_rows_per_user(db: Any, rls: Session) -> None:
    def ids(u: str) -> list[int]:
        return [r["id"] for r in rows(user(db, u), "select id from sales order by id")]
    assert ids("ann") == [1, 3]
    assert ids("bob") == [2]
    assert ids("carl") == [4]  # the europe policy, OR-ed with own (no rows of its own)
    assert len(rows(rls, "select * from sales")) == 4  # admins are not filtered
    assert rows(user(db, "bob"), "select current_user as u") == [{"u": "bob"}]
    assert rows(rls, "select current_user as u") == [{"u": None}]


@pytest.mark.parametrize(("sql", "expected"), [
    ("select count(*) as n, sum(amount) as s, max(amount) as m, min(id) as i from sales",
     [{"n": 1, "s": 20, "m": 20, "i": 2}]),
    ("select (select max(amount) from sales) as m", [{"m": 20}]),
    ("select s.id, r.boss from regions r join sales s on s.region = r.name", [
        {"id": 2, "boss": "y"}]),
    ("select r.name from regions r where exists (select 1 from sales s where "
     "s.region = r.name)", [{"name": "bob"}]),
    ("select id from sales where id = 3", []),
    ("select id from sales where amount / (amount - 30) > -100 or id = 3", [{"id": 2}]),
    ("select * from (select * from sales union all select * from sales) x "
     "where x.amount > 25", []),
    ("with c as (select * from sales) select count(*) as n from c, c c2", [{"n": 1}]),
    ("select region, count(*) as n from sales group by region", [{"region": "bob", "n": 1}]),
])
def test_no_leak_through_queries(db: Any, rls: Session, sql: str, expected: list) -> None:
    assert rows(user(db, "bob"), sql) == expected


def test_no_leak_through_errors_explain_or_prepared(db: Any, rls: Session) -> None:
    bob = user(db, "bob")
    # 10 / (amount - 30) fails only on row 3, which bob may not see: no error
    assert rows(bob, "select 10 / (amount - 30) as q from sales") == [{"q": -1.0}]
    plan = "\n".join(r["plan"] for r in rows(bob, "explain select * from sales where id = 3"))
    assert "SecureFilter" in plan and "'ann'" not in plan
    p = bob.prepare("select amount from sales where id = ?")
    assert p.execute(pa.table({"p": [3]})).reader.read_all().num_rows == 0
    assert p.execute(pa.table({"p": [2]})).reader.read_all().to_pylist() == [{"amount": 20}]
    rls.execute("grant delete on sales to bob")
    assert bob.execute("delete from sales").rowcount == 0  # no DELETE policy of bob's
    assert len(rows(rls, "select * from sales")) == 4
    admin_view = "create view all_sales as select * from sales"
    rls.execute(admin_view)  # made by the admin: reads with every right
    rls.execute("grant select on all_sales to bob")
    assert len(rows(bob, "select * from all_sales")) == 4  # definer's rights, as PostgreSQL


def test_policies_follow_the_table(db: Any, rls: Session) -> None:
    rls.execute("alter table sales rename to sales2")
    assert [r["id"] for r in rows(user(db, "bob"), "select id from sales2")] == [2]
    rls.execute("drop table sales2")
    rls.execute("create table sales2 (id int, region varchar)")
    rls.execute("insert into sales2 values (9, 'ann')")
    denied(user(db, "bob"), "select * from sales2", "SELECT", "table main.sales2")
    rls.execute("grant select on sales2 to bob")
    assert len(rows(user(db, "bob"), "select * from sales2")) == 1  # no old policy


def test_policy_statements(db: Any, rls: Session) -> None:
    with pytest.raises(PermissionDenied, match="may not CREATE schema main"):
        user(db, "bob").execute("create policy p on sales using (true)")
    with pytest.raises(BindError, match="nothere"):
        rls.execute("create policy p on sales using (nothere = 1)")
    with pytest.raises(BindError, match="must be a condition"):
        rls.execute("create policy p on sales using (select 1)")
    for smuggled in ["(1 = 1) union select 1", "(true) or 1=1) from x --", "(true"]:
        with pytest.raises(SqlError):
            rls.execute(f"create policy p on sales using {smuggled}")
    assert len(rows(rls, "select * from sales")) == 4
    rls.execute("drop policy own on sales")
    rls.execute("drop policy if exists own on sales")
    assert rows(user(db, "bob"), "select id from sales") == []  # eu only: not bob's role
    rls.execute("drop policy eu on sales")
    assert len(rows(user(db, "bob"), "select id from sales")) == 4  # no policy: no filter
    log = rows(rls, "select action, detail from kodiak_audit where action like 'policy%'")
    assert {"action": "policy.drop", "detail": "own"} in log


# -- user attributes and policies on writes (PostgreSQL's semantics) -----------------------

@pytest.fixture
def regional(db: Any) -> Session:
    s = Session(db)
    s.execute("create table sales (id int primary key, region varchar, amount int)")
    s.execute("insert into sales values (1, 'eu', 10), (2, 'us', 20), (3, 'eu', 30), "
              "(4, 'us', 0)")
    s.execute("grant select, insert, update, delete on sales to ann, bob, carl")
    s.execute("alter user ann set attribute region = 'eu'")
    s.execute("alter user bob set attribute \"REGION\" to 'us'")  # keys ignore case
    s.execute("create policy r on sales for select "
              "using (region = current_user_attr('region'))")
    s.execute("create policy w on sales using (region = current_user_attr('region')) "
              "with check (region = current_user_attr('region') and amount < 100)")
    yield s
    s.close()


def ids(s: Session, table: str = "sales") -> list[int]:
    return [r["id"] for r in rows(s, f"select id from {table} order by id")]


def test_user_attributes_drive_policies(db: Any, regional: Session) -> None:
    ann, bob, carl = user(db, "ann"), user(db, "bob"), user(db, "carl")
    assert ids(ann) == [1, 3] and ids(bob) == [2, 4] and ids(carl) == []  # carl: NULL
    assert rows(ann, "select current_user_attr('region') as r, "
                     "current_user_attr('nothere') as n") == [{"r": "eu", "n": None}]
    assert rows(regional, "select current_user_attr('region') as r") == [{"r": None}]
    p = ann.prepare("select count(*) as n from sales where amount >= ?")
    assert p.execute(pa.table({"p": [0]})).reader.read_all().to_pylist() == [{"n": 2}]
    regional.execute("alter user ann set attribute region = 'us'")  # no stale plan or result
    assert p.execute(pa.table({"p": [0]})).reader.read_all().to_pylist() == [{"n": 2}]
    assert ids(ann) == [2, 4]
    regional.execute("alter user ann reset attribute region")
    assert ids(ann) == [] and p.execute(pa.table({"p": [0]})).reader.read_all() \
        .to_pylist() == [{"n": 0}]
    with pytest.raises(PermissionDenied, match="admins only"):
        bob.execute("alter user bob set attribute region = 'eu'")  # no widening one's own
    with pytest.raises(BindError, match="is a role"):
        regional.execute("alter user admin set attribute region = 'eu'")
    with pytest.raises(BindError, match="text literal"):
        ann.execute("select current_user_attr(region) from sales")
    log = rows(regional, "select detail from kodiak_audit where action = 'user.attribute'")
    assert {"detail": "SET region"} in log and not any("'us'" in r["detail"] for r in log)


def test_attributes_and_the_result_cache(db: Any, regional: Session) -> None:
    from kodiak_flight.sql.resultcache import ResultCache
    cache = ResultCache(1 << 20)
    ann = Session(db, user="ann", result_cache=cache)
    bob = Session(db, user="bob", result_cache=cache)
    sql = "select sum(amount) as s from sales"
    assert rows(ann, sql) == [{"s": 40}] and rows(bob, sql) == [{"s": 20}]
    assert rows(ann, sql) == [{"s": 40}]  # a hit of ann's own, never bob's
    regional.execute("alter user ann set attribute region = 'us'")
    assert rows(ann, sql) == [{"s": 20}]


def test_update_and_delete_touch_only_allowed_rows(db: Any, regional: Session) -> None:
    ann, bob = user(db, "ann"), user(db, "bob")
    # 10 / amount fails on row 4 (bob's): ann's WHERE never sees it
    assert ann.execute("update sales set amount = amount + 1 where 10 / amount > 0").rowcount == 2
    # 10 / (amount - 30) fails on row 3 (ann's): bob's DELETE never sees it
    assert bob.execute("delete from sales where 10 / (amount - 30) > -100").rowcount == 2
    assert ids(regional) == [1, 3]
    assert rows(regional, "select amount from sales order by id") == [{"amount": 11},
                                                                      {"amount": 31}]
    assert bob.execute("update sales set amount = 0").rowcount == 0
    assert bob.execute("delete from sales").rowcount == 0
    assert ann.execute("update sales set amount = 1 where id = 1 returning id").reader \
        .read_all().to_pylist() == [{"id": 1}]


def test_with_check_on_insert_and_update(db: Any, regional: Session) -> None:
    ann = user(db, "ann")
    ann.execute("insert into sales values (5, 'eu', 1)")
    for sql in ["insert into sales values (6, 'us', 1)",  # not ann's region
                "insert into sales values (6, 'eu', 1000)",  # the check's own condition
                "insert into sales values (6, 'eu', 1), (7, 'us', 1)",  # all or nothing
                "update sales set region = 'us' where id = 1",  # moving a row out of sight
                "update sales set amount = 500"]:
        with pytest.raises(PermissionDenied, match="violates row-level security policy"):
            ann.execute(sql)
    assert ids(regional) == [1, 2, 3, 4, 5]
    regional.execute("create table d (id int primary key, region varchar default 'eu', n int)")
    regional.execute("grant insert, select on d to ann")
    regional.execute("create policy p on d using (region = current_user_attr('region'))")
    ann.execute("insert into d (n, id) values (1, 1)")  # the default passes the check
    ann.execute("insert into d (id) select 2")
    with pytest.raises(PermissionDenied):
        ann.execute("insert into d (id, region) values (3, 'us')")
    regional.execute("alter user ann set attribute region = 'us'")
    with pytest.raises(PermissionDenied):  # the default ('eu') is no longer ann's
        ann.execute("insert into d (id) values (4)")
    assert ids(regional, "d") == [1, 2]
    for sql in ["insert into sales values (1, 'eu', 1) on conflict do nothing",
                "insert or replace into sales values (2, 'eu', 1)"]:
        with pytest.raises(SqlError, match="row-level security"):
            ann.execute(sql)
    regional.execute("drop policy w on sales")
    regional.execute("create policy ins on sales for insert to ann "
                     "with check (region = 'eu')")
    ann.execute("insert into sales values (8, 'eu', 5000)")
    assert user(db, "bob").execute("update sales set amount = 1").rowcount == 0  # no policy
    with pytest.raises(PermissionDenied):
        user(db, "bob").execute("insert into sales values (9, 'us', 1)")


def test_write_policy_forms(db: Any, regional: Session) -> None:
    for sql, msg in [("create policy p on sales for insert using (true)", "WITH CHECK, not"),
                     ("create policy p on sales for select with check (true)", "no WITH CHECK"),
                     ("create policy p on sales for truncate using (true)", "expected SELECT"),
                     ("create policy p on sales", "expected USING"),
                     ("create policy p on sales using (true) with check (true", "not closed"),
                     ("create policy p on sales using (true) extra", "unexpected 'extra'")]:
        with pytest.raises(SqlError, match=msg):
            regional.execute(sql)
    regional.execute("create table nokey (id int, region varchar)")
    regional.execute("create policy p on nokey for delete using (true)")
    regional.execute("grant delete on nokey to ann")
    with pytest.raises(SqlError, match="needs a primary key"):
        user(db, "ann").execute("delete from nokey")


def test_update_or_delete_reading_columns_needs_select(db: Any, admin: Session) -> None:
    admin.execute("grant update, delete on t to ann")
    ann = user(db, "ann")
    assert ann.execute("update t set v = 'z'").rowcount == 2  # reads no column: allowed
    for sql in ["update t set v = 'y' where id = 1", "update t set v = v || 'y'",
                "delete from t where v = 'z'", "delete from t returning *"]:
        denied(ann, sql, "SELECT", "table main.t")
    admin.execute("grant select on t to ann")
    assert ann.execute("delete from t where id = 1").rowcount == 1
