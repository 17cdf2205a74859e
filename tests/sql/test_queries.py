"""Differential tests: each query runs on Kodiak and on DuckDB (oracle) over the same data."""

from __future__ import annotations

import pytest

from .harness import check

QUERIES = [
    # projection, arithmetic, comparison, three-valued logic
    "select * from t",
    "select id, x + 1, x - y, x * 2, y / 2, x / 4, -x, x % 3 from t",
    "select id, price * 2, price + 1, price - x, price * price from t",
    "select id, x // 3 from t where x is not null",
    "select id from t where x > 10 and y < 50",
    "select id from t where x > 10 or y < 1",
    "select id from t where not (x > 10)",
    "select id, x > 10 and flag, x > 10 or flag, not flag from t",
    "select id from t where flag",
    "select id from t where x between 0 and 20",
    "select id from t where x not between 0 and 20",
    "select id from t where x in (10, 40, 99)",
    "select id from t where x not in (10, 40)",
    "select id from t where grp is null",
    "select id from t where grp is not null and price is not null",
    "select id, x is distinct from 10, x is not distinct from null from t",
    "select id from t where price > 2.5",
    "select id from t where price = 1.1",
    "select id from t where d >= '1971-01-01'",
    "select id from t where d < date '1970-03-01'",
    # CASE / CAST / COALESCE / NULLIF
    "select id, case when x > 10 then 'big' when x > 0 then 'small' else 'neg' end from t",
    "select id, case grp when 'a' then 1 when 'b' then 2 end from t",
    "select id, cast(x as double), cast(y as integer), cast(id as varchar) from t",
    "select id, cast(price as double), cast(x as decimal(10,2)) from t",
    "select id, try_cast(name as integer), try_cast('12' as integer) from t",
    "select cast('2020-02-03' as date), cast('42' as bigint), 1.5::varchar",
    "select id, coalesce(x, -1), coalesce(grp, name, 'none'), nullif(x, 10) from t",
    # strings
    "select id, upper(name), lower(name), length(name), trim(name), ltrim(' a'), rtrim(name) "
    "from t",
    "select id, substring(name, 2, 3), substring(name from 1 for 2), left(name, 2), "
    "right(name, 2) from t",
    "select id, name || '-' || grp, concat(name, grp, 'x'), replace(name, 'a', 'A') from t",
    "select id from t where name like '%ta%'",
    "select id from t where name not like 'a%'",
    "select id from t where name ilike 'BE%'",
    "select id, starts_with(name, 'e'), ends_with(name, 'a'), contains(name, 'lt'), "
    "strpos(name, 'a') from t",
    "select id, lpad(grp, 3, '*'), rpad(grp, 3, '*'), reverse(name), repeat(grp, 2) from t",
    "select id, regexp_matches(name, '^[a-e]'), regexp_replace(name, 'a', 'o') from t",
    # math
    "select id, abs(x), ceil(y), floor(y), round(y), round(y, 1), sqrt(abs(y)), "
    "power(y, 2), sign(x) from t",
    "select id, ln(abs(y) + 1), log10(abs(y) + 1), exp(1), greatest(x, 15), least(x, 15) "
    "from t",
    # dates
    "select id, extract(year from d), extract(month from d), extract(day from d), "
    "extract(dow from d), extract(doy from d), extract(quarter from d) from t",
    "select id, d + interval '10' day, d - interval 1 day, d + 3, date_trunc('month', d) "
    "from t",
    "select date '1998-12-01' - interval '90' day, date '2020-01-31' + interval '1' month, "
    "date '2020-03-01' - date '2020-01-01'",
    "select id, year(d), month(d), date_part('day', d) from t",
    # aggregates
    "select count(*), count(x), count(distinct grp), sum(x), avg(x), min(x), max(x) from t",
    "select grp, count(*), sum(y), avg(price), min(name), max(d) from t group by grp",
    "select grp, stddev(y), stddev_pop(y), variance(y), var_pop(y) from t group by grp",
    "select grp, median(y), quantile_cont(y, 0.25), quantile_disc(y, 0.5) from t group by grp",
    "select median(x), quantile_cont(y, 0.9), median(price) from t",
    "select grp, bool_and(flag), bool_or(flag) from t group by grp",
    "select grp, any_value(grp), min(x) from t group by grp",
    "select id, flag is true, flag is not false from t",
    "select id from t semi join u using (id)",
    "select id from t anti join u on t.id = u.id",
    "select grp, count(*) c from t group by grp having count(*) > 1",
    "select grp, sum(x) from t group by all",
    "select grp, x > 10 as big, count(*) from t group by 1, 2",
    "select count(*), sum(x) from t where id > 100",
    "select grp, sum(x) filterless, count(*) + 1 from t group by grp order by grp nulls first",
    "select sum(x) * 2 + count(*) from t",
    "select grp, max(x) - min(x) from t group by grp having max(x) - min(x) > 0",
    "select upper(grp) g, count(*) from t group by upper(grp)",
    # ORDER BY / LIMIT / DISTINCT
    "select id, x from t order by x nulls first, id",
    "select id, x from t order by x desc nulls last, id",
    "select id, x from t order by x desc, id",
    "select id, y from t order by y limit 3",
    "select id, y from t order by y limit 3 offset 2",
    "select id from t order by name desc",
    "select id, x from t order by x + id",
    "select distinct grp from t",
    "select distinct grp, flag from t order by grp, flag",
    "select id from t order by 1 desc limit 2",
    # joins
    "select t.id, u.v from t join u on t.id = u.id",
    "select t.id, u.v from t left join u on t.id = u.id",
    "select t.id, u.v from t right join u on t.id = u.id",
    "select t.id, u.id, u.v from t full join u on t.id = u.id",
    "select t.id, u.v from t join u using (id)",
    "select t.id, u.v from t, u where t.id = u.id and u.v > 150",
    "select count(*) from t cross join u",
    "select t.id, u.v from t join u on t.id = u.id and t.grp = u.grp",
    "select t.id, u.v from t join u on t.id < u.id",
    "select t.id, u.v from t left join u on t.id = u.id and u.v > 150",
    "select a.id, b.id from t a join t b on a.grp = b.grp where a.id < b.id",
    # subqueries
    "select id from t where id in (select id from u)",
    "select id from t where id not in (select id from u where id is not null)",
    "select id from t where id not in (select id from u)",
    "select id from t where exists (select * from u where u.id = t.id)",
    "select id from t where not exists (select * from u where u.id = t.id)",
    "select id from t where exists (select * from u where u.id = t.id and u.grp <> t.grp)",
    "select id, (select max(v) from u) from t",
    "select id from t where x > (select avg(x) from t)",
    "select id, x from t where x > (select avg(v) / 10 from u where u.grp = t.grp)",
    "select id from t where exists (select 1 from u where v > 500)",
    "select s.g, s.c from (select grp g, count(*) c from t group by grp) s where s.c > 1",
    "select id, id in (select id from u) from t",
    # CTEs and set operations
    "with a as (select id, x from t where x > 0) select * from a where id > 2",
    "with a as (select grp, sum(x) s from t group by grp), b as (select * from a where s > 10) "
    "select * from b",
    "select id from t union select id from u",
    "select id from t union all select id from u",
    "select grp from t intersect select grp from u",
    "select grp from t except select grp from u",
    # multiset INTERSECT ALL / EXCEPT ALL (NULLs compare equal), DISTINCT ON
    "select grp from t intersect all select grp from u",
    "select grp from t except all select grp from u",
    "select grp from u except all select grp from t",
    "select grp, flag from t intersect all select grp, flag from t where x > 0",
    "select distinct on (grp) grp, id, x from t order by grp nulls first, x desc nulls last",
    "select distinct on (grp, flag) grp, flag, id from t order by grp, flag, id desc",
    "select distinct on (1) grp as g, id from t order by 1, id",
    "select distinct on (g) grp as g, name from t order by g, name nulls last",
    # ROLLUP / CUBE / GROUPING SETS (a UNION ALL of plain GROUP BYs)
    "select grp, flag, sum(x), count(*) from t group by rollup (grp, flag)",
    "select grp, flag, sum(x) from t group by cube (grp, flag)",
    "select grp, flag, count(*), grouping(grp), grouping(grp, flag) from t "
    "group by grouping sets ((grp, flag), (grp), ())",
    "select grp, flag, max(y) from t group by grp, rollup (flag)",
    "select grp from t group by rollup (grp)",
    "select grp, sum(x) as s from t group by rollup (grp) having sum(x) > 0 "
    "order by s desc nulls last, grp nulls first limit 3",
    "select x % 2 as m, count(*) from t where id > 1 group by cube (x % 2)",
    # ... read once from a CTE of partials (sum/count/min/max/avg/bool_*), or per set
    "select grp, flag, avg(y), min(y), max(x), count(x), count(*) from t "
    "group by cube (grp, flag)",
    "select grp, bool_and(flag), bool_or(flag), sum(y) * 2 as s2 from t group by rollup (grp)",
    "with w as (select * from t where id < 8) select grp, sum(x) from w group by rollup (grp) "
    "having count(*) > 1",
    "select grp || '!' as g, count(distinct flag), grouping(grp) from t group by rollup (grp)",
    "select grp, sum(x) from t where false group by rollup (grp)",
    "select id, grp from t union all select id, grp from u order by id nulls last, grp limit 5",
    # DuckDB conveniences
    "from t",
    "from t select id, x where x > 5",
    "select * exclude (name, d) from t",
    "select * replace (x * 10 as x) from t",
    "select t.* from t join u using (id)",
    # window functions
    "select id, row_number() over (order by id) from t",
    "select id, row_number() over (partition by grp order by id) from t",
    "select id, rank() over (order by grp), dense_rank() over (order by grp) from t",
    "select id, rank() over (partition by flag order by x desc nulls last) from t",
    "select id, lag(x) over (order by id), lead(x, 2, -1) over (order by id) from t",
    "select id, sum(x) over (partition by grp), count(*) over (partition by grp) from t",
    "select id, sum(x) over (order by id), avg(y) over (partition by grp order by id) from t",
    "select id, sum(x) over (order by grp rows between unbounded preceding and current row) "
    "from t order by grp, id",
    "select id, min(x) over (partition by grp), max(name) over (partition by grp) from t",
    "select grp, sum(x), rank() over (order by sum(x) desc) from t group by grp",
    # constants
    "select 1, 'a', null, true, 2.5, 1e3",
    "select 1 + 2 * 3, 7 / 2, 7 // 2, 7 % 3",
    "select case when null then 1 else 2 end, null and false, null or true",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_differential(sample, sql):
    session, duck = sample
    duck_sql = sql.replace("filterless", "")
    check(session, duck, sql.replace("filterless", ""), duck_sql=duck_sql)


def test_union_all_of_a_primary_key_and_a_plain_column(session):
    """Acero's union refused inputs differing only in nullability: a primary key's column
    is NOT NULL, the other table's is not (both read straight from the engine)."""
    import pyarrow as pa

    session.execute("create table ua (k bigint, v integer)")
    session.execute("create table ub (k bigint primary key, v integer)")
    for name in ("ua", "ub"):
        session.db.insert(name, pa.table({"k": pa.array(range(6000), pa.int64()),
                                          "v": pa.array(range(6000), pa.int32())}))
    for sql, want in (("select count(*) from (select k from ua union all select k from ub)",
                       12000),
                      ("select count(*) from (select k from ub where k % 5 = 1 union all "
                       "select k from ua where k % 5 = 2)", 2400),
                      ("select count(*) from (select k from ub union select k from ua)",
                       6000)):
        assert session.execute(sql).reader.read_all().column(0).to_pylist() == [want], sql
