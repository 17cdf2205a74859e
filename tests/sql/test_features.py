"""Differential tests of the wider feature set: each query runs on Kodiak and on DuckDB.

Tables (see ``conftest.sample_tables``): ``t``/``u`` (small, NULL-heavy), ``n`` (nullable
numbers and strings), ``dt`` (month ends, leap days), ``big``/``small`` (joins that hash either
side). Queries whose DuckDB spelling differs carry it as ``(kodiak_sql, duckdb_sql)``.
"""

from __future__ import annotations

import pytest

from .harness import check

JOINS = [
    # every join kind, incl. NATURAL / USING, semi / anti, on both build sides
    "select t.id, u.v from t inner join u on t.id = u.id and u.v > 100",
    "select t.id, u.v, u.grp from t left join u on t.id = u.id where u.v is null",
    "select t.id, u.v from t left join u on t.id = u.id and t.grp = u.grp",
    "select u.id, t.x from t right join u on t.grp = u.grp",
    "select t.id, u.id from t full outer join u on t.id = u.id and u.v < 250",
    "select coalesce(t.grp, u.grp), count(*) from t full join u on t.grp = u.grp group by 1",
    "select * from t natural join u",
    "select id, grp, x, v from t natural left join u",
    "select * from t join u using (id, grp)",
    "select grp, t.id, u.id from t left join u using (grp)",
    "select id from t full join u using (id)",
    "select t.id, u.id from t cross join u where t.id + u.v > 205",
    "select t.id, u.v from t, u where t.id = u.id or t.x = u.v",
    "select t.id, u.v from t join u on t.id = u.id and (u.v > 200 or t.x > 10)",
    "select a.id, b.id from t a join t b on a.x < b.x and a.grp = b.grp",
    "select a.id, b.id, c.v from t a join t b on a.id = b.id + 1 join u c on c.id = b.id",
    "select t.id from t semi join u on t.grp = u.grp",
    "select t.id from t anti join u on t.grp = u.grp",
    "select t.id from t anti join u on t.id = u.id and u.v > 150",
    "select t.id from t semi join u on t.id = u.id and u.v <> t.x",
    "select small.name, count(big.id) from small left join big on big.key = small.key "
    "group by small.name",
    "select small.name, sum(big.val) from small join big on big.key = small.key "
    "group by small.name",
    "select small.name from small semi join big on big.key = small.key",
    "select small.name from small anti join big on big.key = small.key",
    "select small.name from small where exists (select 1 from big where big.key = small.key "
    "and big.val > small.lim)",
    "select small.name from small where not exists (select 1 from big where big.key = "
    "small.key and big.val < small.lim)",
    "select count(*) from big where key in (select key from small)",
    "select count(*) from big where key not in (select key from small where key is not null)",
    "select count(*) from big where not exists (select 1 from small where small.key = big.key)",
    "select count(*), sum(val) from big anti join small on big.key = small.key",
    "select b.tag, count(*) from big b join small s on b.key = s.key and b.val < s.lim "
    "group by b.tag",
    "select s.name, b.id from small s left join big b on b.key = s.key and b.val > 990",
    "select s.name, b.id from big b right join small s on b.key = s.key and b.val > 990",
    "select count(*) from big b1 join big b2 on b1.id = b2.id and b1.key = b2.key",
    "select n1.k, n2.k from n n1 join n n2 on n1.a = n2.b where n1.k < 10",
    "select n.k, t.id from n left join t on n.a = t.x",
    "select count(*) from t, u, n where t.id = u.id and n.k = t.id",
    "select u.grp, count(t.id) from u left join t on t.id = u.id and t.flag group by u.grp",
]

AGGREGATES = [
    "select g, count(*), count(a), count(distinct a), sum(a), avg(f), min(s), max(s) "
    "from n group by g",
    "select g, stddev_samp(f), stddev_pop(f), var_samp(a), var_pop(a) from n group by g",
    "select g, median(a), quantile_cont(f, 0.75), quantile_disc(a, 0.1) from n group by g",
    "select median(m), quantile_disc(s, 0.5), min(m), max(m), sum(m), avg(m) from n",
    "select bool_and(p), bool_or(p), bool_and(a > -30), bool_or(a > 100) from n",
    "select g, bool_and(p), bool_or(p) from n group by g",
    "select g, string_agg(s, ',' order by k) from n group by g",
    "select string_agg(s, '; ' order by s desc nulls last) from n",
    "select g, string_agg(distinct s, '|' order by s) from n group by g",
    "select g, list(k order by a desc nulls last, k) from n group by g",
    "select g, count(*) filter (where a > 0), sum(f) filter (where p) from n group by g",
    "select count(*) filter (where s like '%a%'), avg(a) filter (where b <> 0) from n",
    "select g, sum(distinct b), avg(distinct b), count(distinct b) from n group by g",
    "select g, product(b) from n where b <> 0 group by g",
    "select grp, count(*) from t group by all order by grp nulls last",
    "select grp, flag, count(*), sum(x) from t group by all",
    "select g, b, count(*) from n group by g, b having count(*) > 1",
    "select g, count(*) c from n group by g having max(a) > 10 and min(a) < 0",
    "select count(*) from n having count(*) > 5",
    "select sum(a) + sum(b), sum(a + b), count(*) * 2 from n",
    "select g, avg(a) - avg(b), max(f) / nullif(min(abs(f)), 0) from n group by g",
    "select count(distinct g), count(distinct s), count(distinct (a > 0)) from n",
    "select g, min(k), max(k), any_value(g) from n group by g",
    "select distinct g from n",
    "select distinct g, p from n",
    "select distinct on_a from (select a > 0 as on_a from n)",
    "select a % 3 r, count(*) from n where a is not null group by r",
    "select length(s) l, count(*) from n group by l",
    "select sum(val), count(*), avg(val), min(val), max(val) from big",
    "select tag, sum(val), count(distinct key) from big group by tag",
    "select key, count(*) from big group by key having count(*) > 60",
    "select extract(year from d) y, count(*) from dt group by y",
    "select count(*), count(x), sum(x) from t where false",
    "select grp, count(*) from t where false group by grp",
    "select max(v) - min(v), avg(v) from u",
    "select g, stddev(f) is null from n group by g",
]

SORTING = [
    "select k, a from n order by a nulls first, k",
    "select k, a from n order by a desc nulls first, k",
    "select k, a from n order by a asc nulls last, k",
    "select k, s from n order by s, k",
    "select k, s from n order by s desc nulls last, k",
    "select k, f from n order by f desc, k limit 5",
    "select k, f from n order by f nulls first, k limit 5 offset 3",
    "select k, m from n order by m, k",
    "select k from n order by abs(a) desc nulls last, k",
    "select g, count(*) c from n group by g order by c desc, g nulls first",
    "select k, a, b from n order by a + b, k",
    "select k from n order by k desc limit 0",
    "select k from n order by k offset 35",
    "select k, p from n order by p nulls first, k",
    "select id, d from dt order by d desc nulls last",
    "select id, ts from dt order by ts",
    "select distinct g from n order by g nulls last",
    "select k, a from n where a is not null order by 2 desc, 1 limit 7",
]

SETOPS = [
    "select a from n union select b from n",
    "select a from n union all select b from n",
    "select a from n intersect select b from n",
    "select a from n except select b from n",
    "select g, p from n union select grp, flag from t",
    "select grp from t union select grp from u union select g from n",
    "select grp from t except select grp from u intersect select g from n",
    "(select k from n where k < 5) union all (select k from n where k > 35) order by k",
    "select k from n where k < 10 except select k from n where k % 2 = 0 order by k",
    "select a, b from n intersect select b, a from n",
    "select null union select 1",
    "select 1 as x union all select 2 union all select 1 order by x",
    "select s from n union select name from t order by s nulls first limit 4",
]

CTES_AND_SUBQUERIES = [
    "with x as (select g, sum(a) s from n group by g) select * from x where s > 0",
    "with x as (select k, a from n), y as (select k, a * 2 a2 from x) "
    "select x.k, y.a2 from x join y using (k) where x.a > 0",
    "with x as (select * from n where a > 0) select count(*), (select count(*) from x) from x",
    "with x as (select g, count(*) c from n group by g) "
    "select a.g, b.g from x a join x b on a.c = b.c and a.g < b.g",
    "with recursive r(i) as (select 1 union all select i + 1 from r where i < 20) "
    "select sum(i), count(*) from r",
    "with recursive r(i, f) as (select 1, 1::bigint union all "
    "select i + 1, f * (i + 1) from r where i < 15) select * from r",
    "with recursive r(x) as (select 1 union select (x * 7) % 11 from r) select * from r",
    "with recursive chain(id, depth) as (select id, 0 from t where id = 1 union all "
    "select t.id, chain.depth + 1 from t join chain on t.id = chain.id + 2) select * from chain",
    "with recursive tree(k, path) as (select k, s from n where k = 0 union all "
    "select n.k, tree.path || '/' || coalesce(n.s, '?') from n join tree on n.k = tree.k + 7) "
    "select * from tree",
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3), "
    "q as (select n * 10 m from r) select * from q",
    "select k, (select max(v) from u where u.id = n.b) from n",
    "select k, (select count(*) from u where u.id = n.b) from n",
    "select k, (select count(v) from u where u.id = n.b) from n",
    "select id, (select count(*) * 10 + 1 from u where u.grp = t.grp) from t",
    "select id, (select coalesce(sum(v), -1) from u where u.id = t.id) from t",
    "select k from n where a > (select avg(a) from n)",
    "select k from n where a = (select max(a) from n) or b = (select min(b) from n)",
    "select k from n where exists (select 1 from t where t.id = n.b)",
    "select k from n where not exists (select 1 from t where t.x = n.a)",
    "select k from n where a in (select x from t)",
    "select k from n where a not in (select x from t)",
    "select k from n where a not in (select x from t where x is not null)",
    "select k, a in (select x from t) from n",
    "select k, exists (select 1 from t where x > 45) from n where k < 3",
    "select * from (select g, count(*) c from n group by g) x join "
    "(select g, sum(a) s from n group by g) y using (g)",
    "select k from n where k in (select id from t where grp in (select grp from u))",
    "select t.id from t where t.x > (select avg(v) / 10 from u where u.grp = t.grp)",
    "select k, a from n, (select max(x) all_max from t) m where a > all_max",
    "select (select 1), (select null), (select max(k) from n)",
    "select k from n where b = (select b from n where k = 2)",
]

WINDOWS = [
    "select k, g, row_number() over (partition by g order by k) from n",
    "select k, rank() over (order by a), dense_rank() over (order by a desc nulls first) from n",
    "select k, percent_rank() over (partition by g order by a), cume_dist() over (order by b) "
    "from n",
    "select k, ntile(4) over (order by k), ntile(3) over (partition by g order by a, k) from n",
    "select k, first_value(a) over (partition by g order by k), "
    "last_value(a) over (partition by g order by k) from n",
    "select k, first_value(a) over w, last_value(a) over w, nth_value(a, 3) over w from n "
    "window w as (partition by g order by k rows between unbounded preceding and unbounded "
    "following)",
    "select k, first_value(a ignore nulls) over (order by k rows between 2 preceding and "
    "2 following), last_value(a ignore nulls) over (order by k rows between 3 preceding and "
    "current row) from n",
    "select k, lag(a) over (order by k), lead(a, 2) over (order by k), "
    "lag(s, 1, 'none') over (partition by g order by k) from n",
    "select k, sum(a) over (order by k rows between 2 preceding and 2 following) from n",
    "select k, sum(a) over (order by k rows between 3 preceding and 1 preceding), "
    "count(a) over (order by k rows between 1 following and 3 following) from n",
    "select k, avg(f) over (partition by g order by k rows between 1 preceding and "
    "1 following) from n",
    "select k, min(a) over (order by k rows between 2 preceding and 2 following), "
    "max(s) over (order by k rows between 4 preceding and current row) from n",
    "select k, min(f) over (partition by g order by k), max(f) over (partition by g order by "
    "k rows between current row and unbounded following) from n",
    "select k, sum(a) over (order by a range between 5 preceding and 5 following) from n",
    "select k, count(*) over (order by f range between 3 preceding and current row) from n",
    "select k, sum(b) over (order by a desc range between 2 preceding and 1 following) from n",
    "select k, count(*) over (order by a groups between 1 preceding and 1 following) from n",
    "select k, sum(a) over (order by b groups between current row and 1 following) from n",
    "select id, sum(v) over (order by d range between interval 31 day preceding and "
    "current row) from dt",
    "select id, count(*) over (order by ts range between interval 400 day preceding and "
    "interval 10 day following) from dt",
    "select k, sum(m) over (partition by g), avg(m) over (order by k rows between 1 "
    "preceding and current row) from n",
    "select k, stddev(f) over (partition by g), var_pop(a) over (order by k rows between 3 "
    "preceding and current row) from n",
    "select k, bool_and(p) over (partition by g order by k), bool_or(p) over (order by k rows "
    "between 2 preceding and current row) from n",
    "select k, string_agg(s, '-') over (partition by g order by k) from n",
    "select k, count(distinct b) over (partition by g), median(a) over (partition by g) from n",
    "select k, sum(a) over (), count(*) over (), max(k) over () from n",
    "select k, sum(a) over (partition by g order by k range between unbounded preceding and "
    "unbounded following) from n",
    "select k, a, sum(a) over (order by a) from n",
    "select k, row_number() over (order by a desc nulls last, k) from n",
    "select g, sum(a), rank() over (order by sum(a) desc nulls last) from n group by g",
    "select g, count(*), sum(count(*)) over () from n group by g",
    "select k, a - lag(a) over (order by k) from n",
    "select id, sum(val) over (partition by tag order by id rows between 10 preceding and "
    "current row) from big where id < 200",
    "select tag, id, rank() over (partition by tag order by val desc, id) from big where "
    "id < 100",
    "select k, count(*) over (partition by g), count(*) over (partition by g order by k) from n",
    "select k, lead(k) over (partition by g order by k), lag(k, 2, -1) over (order by k) from n",
    "select k, sum(a) over (order by k rows between unbounded preceding and 1 following) from n",
    "select k, max(a) over (order by k rows between 5 preceding and unbounded following) from n",
]

WINDOW_EDGES = [
    "select k, row_number() over (order by k), ntile(2) over (order by k), percent_rank() "
    "over (order by k), sum(a) over (order by k rows between 1 preceding and 1 following), "
    "min(a) over (order by k rows between 1 preceding and 1 following), first_value(a) over "
    "(order by k), string_agg(s, ',') over (order by k rows between 1 preceding and current "
    "row), median(a) over (order by k rows between 1 preceding and current row) from n "
    "where k < 0",
    "select k, sum(a) over (order by k rows between 1 preceding and 1 following), min(s) over "
    "(order by k rows between 2 preceding and 1 following), nth_value(s, 2) over (order by k "
    "rows between 2 preceding and 2 following) from n where k = 5",
    "select k, sum(a) over (order by k rows between 5 following and 10 following), min(a) "
    "over (order by k rows between 5 preceding and 3 preceding) from n",
    "select k, count(*) over (order by a range between unbounded preceding and 2 preceding), "
    "sum(a) over (order by a range between 1 following and unbounded following) from n",
    "select k, count(*) over (order by a nulls first range between 3 preceding and 3 "
    "following) from n",
    "select k, count(*) over (order by a desc nulls first range between 3 preceding and 3 "
    "following), sum(a) over (order by m range between 100 preceding and 50.5 following) "
    "from n",
    "select k, avg(a) over (partition by g order by k groups between 2 preceding and 1 "
    "preceding), count(*) over (order by b groups between unbounded preceding and 1 "
    "following) from n",
    "select k, quantile_disc(a, 0.25) over (partition by g order by k rows between 3 "
    "preceding and current row), product(b) over (order by k rows between 1 preceding and "
    "current row) from n",
    "select k, list(a) over (partition by g order by k rows between 1 preceding and current "
    "row) from n",
    "select k, median(f) over (order by k rows between 2 preceding and 2 following), "
    "string_agg(s, ',') over (order by k rows between 1 preceding and 1 following) from n",
]

MORE_CTES = [
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 10 and n not "
    "in (select a from n where a is not null)) select * from r",
    "with recursive r(n, s) as (select 1, 'a' union all select n + 1, s || 'b' from r where "
    "n < 5) select * from r",
    "with recursive a(x) as (select 1 union all select x + 1 from a where x < 3), "
    "b(y) as (select x * 2 from a) select * from b",
    "with recursive r(k, a) as (select k, a from n where k = 0 union all select n.k, n.a "
    "from n, r where n.k = r.k + 1 and r.k < 10) select count(*), sum(a) from r",
    "select grp, string_agg(name, ',' order by name nulls first) from t group by grp",
    "select list(x order by y nulls first) from t",
    "select string_agg(distinct grp, ',' order by grp desc) from t",
]

QUALIFY = [
    "select k, g, a from n qualify row_number() over (partition by g order by a desc nulls "
    "last, k) = 1",
    "select k, g, row_number() over (partition by g order by k) rn from n qualify rn <= 2",
    "select g, sum(a) s from n group by g qualify rank() over (order by sum(a) desc nulls "
    "last) <= 2",
    "select k, a from n where a > 0 qualify a > avg(a) over ()",
    "select k, a from n qualify count(*) over (partition by a) > 1",
]

EXPRESSIONS = [
    "select k, a + b, a - b, a * b, -a, a + 1.5, b * 2.25 from n",
    "select k, a / b, f / 3, m / 4, a / 2.0 from n where b <> 0",
    "select k, a // 3, a % 3, b % 2, -a // 4, a % -3 from n",
    "select k, f % 2.5, m % 7, m // 3, f // 2 from n",
    "select k, m + a, m * b, m - f, m * m, m / m from n where m <> 0",
    "select k, a = b, a <> b, a < b, a <= b, a > b, a >= b from n",
    "select k, a is distinct from b, a is not distinct from b from n",
    "select k, a between b and 10, a not between -5 and b from n",
    "select k, a in (1, 2, b), a not in (b, 3), a in (null, 5) from n",
    "select k, case when a > 0 then 'pos' when a < 0 then 'neg' when a = 0 then 'zero' end "
    "from n",
    "select k, case a % 3 when 0 then a when 1 then b else null end from n",
    "select k, case when p then f else m end from n",
    "select k, coalesce(a, b, -99), coalesce(s, g, 'none'), nullif(a, b), ifnull(f, 0) from n",
    "select k, if(a > b, a, b), greatest(a, b, 0), least(a, b, 0) from n",
    "select k, cast(a as double), cast(f as integer), cast(m as bigint), cast(a as varchar) "
    "from n",
    "select k, cast(a as decimal(10, 3)), cast(f as decimal(12, 2)), cast(m as double) from n",
    "select k, try_cast(s as integer), try_cast('x' || k as integer), try_cast(k || '' as int) "
    "from n",
    "select try_cast('2020-01-05' as date), try_cast('nope' as date), try_cast('1e3' as double)",
    "select k, cast(p as integer), cast(a > 0 as varchar), a::bigint + 1 from n",
    "select k, abs(a), sign(f), ceil(f), floor(f), round(f, 1), round(m, 1), trunc(f) from n",
    "select k, sqrt(abs(f)), exp(b), ln(abs(a) + 1), log10(abs(f) + 1), log2(k + 1), "
    "power(b, 2), pi() from n",
    "select k, sin(f), cos(f), tan(b), atan(f), asin(b / 10.0), acos(b / 10.0) from n",
    "select k, round(f), round(-2.5), round(2.5), round(m, 0) from n",
    "select k, upper(s), lower(s), length(s), reverse(s), trim(s), ltrim(s), rtrim(s) from n",
    "select k, s || '!' || g, concat(s, g, k), concat(null, 'a') from n",
    "select k, substring(s, 2), substring(s, 1, 3), substring(s, -3), left(s, 2), "
    "right(s, 3) from n",
    "select k, replace(s, 'a', '_'), strpos(s, 'an'), contains(s, 'e'), starts_with(s, 'a'), "
    "ends_with(s, 'e') from n",
    "select k, lpad(s, 8, '.'), rpad(s, 8, '*'), repeat(g, 3) from n",
    "select k from n where s like '_a%'",
    "select k from n where s ilike '%AN%'",
    "select k from n where s not like '%e%'",
    "select k from n where s like 'a%' or s like '%e'",
    "select k, regexp_matches(s, '^[a-f]'), regexp_replace(s, '[aeiou]', '*', 'g') from n",
    "select k, s glob 'a*' from n",
    "select k, s < g, s = 'fig', s > 'd' from n",
    "select k, a > 0 and p, a > 0 or p, not p, p and null, p or null from n",
    "select k from n where p is true",
    "select k from n where p is not false",
    "select k from n where p is null and a is not null",
    "select k from n where (a > 0) = p",
    "select k from n where not (a > 0 and b < 0)",
    "select k from n where a > 0 and (b > 0 or f > 0)",
    "select k from n where coalesce(a, 0) + coalesce(b, 0) > 5",
    "select k, 1 / 0, -1 / 0, 0.0 / 0 is null, f / 0 from n where k < 3",
    "select k, a / 0, m / 0 from n where k < 4",
    "select k, f % 0 from n where k < 3",
    "select 10 // 3, -10 // 3, 10 % -3, -10 % 3, 7.5 // 2, 7.5 % 2, 1e300 * 10",
    "select k, case when b <> 0 then a // b else 0 end, case when b = 0 then null "
    "else a % b end from n",
    "select k from n where b <> 0 and a // b > 1",
    "select k from n where b = 0 or a % b = 0",
    "select k, coalesce(case when b = 0 then 1 end, a // b) from n",
    "select null + 1, null * null, null || 'a', null = null, null is null, not null",
    "select 1 = 1 and null, 1 = 2 and null, 1 = 1 or null, 1 = 2 or null",
    "select null in (1, 2), 1 in (1, null), 3 in (1, null), 3 not in (1, null)",
    "select k, a > null, a = null or true, a = null and false from n where k < 5",
    "select 2147483647::bigint + 1, -9223372036854775807 - 1",
    "select 0.1 + 0.2, 1.10 * 3, 10.5 / 4, 2::decimal(4,1) * 3.25",
    "select 'a' || 1, 1 || 'a', 'x' || null",
    "select k, a::double / nullif(b, 0), f * 1e10, f / 1e-10 from n",
]

DATES = [
    "select id, d + interval 1 month, d - interval 1 month, d + interval 13 month from dt",
    "select id, d + interval 1 year, d - interval 2 year, d + interval '1' quarter from dt",
    "select id, d + interval 10 day, d - interval 1 week, d + 45, d - 400 from dt",
    "select id, ts + interval 1 month, ts - interval 1 year, ts + interval 90 minute from dt",
    "select id, ts + interval 2 hour, ts - interval 30 second from dt",
    "select id, extract(year from d), extract(month from d), extract(day from d), "
    "extract(doy from d), extract(dow from d), extract(isodow from d), extract(week from d) "
    "from dt",
    "select id, extract(hour from ts), extract(minute from ts), extract(second from ts), "
    "extract(quarter from ts) from dt",
    "select id, date_trunc('month', d), date_trunc('year', d), date_trunc('quarter', d), "
    "date_trunc('week', d) from dt",
    "select id, date_trunc('day', ts), date_trunc('hour', ts) from dt",
    "select id, d - date '2000-01-01', year(d), month(d), day(d), date_part('year', ts) from dt",
    "select id from dt where d between date '2020-01-01' and date '2020-12-31'",
    "select id from dt where d >= '2020-02-29' and d < '2021-01-01'",
    "select id from dt where ts > timestamp '2020-06-01 00:00:00'",
    "select id from dt where d + interval 1 month > date '2021-01-01'",
    "select id, cast(ts as date), cast(d as timestamp), cast(d as varchar) from dt",
    "select min(d), max(d), min(ts), max(ts) from dt",
    "select date '2020-02-29' + interval 1 year, date '2020-01-31' + interval 1 month, "
    "date '2021-03-31' - interval 1 month",
]

CONVENIENCES = [
    "from n",
    "from n select k, a where a > 10",
    "select * exclude (s, g, p) from n",
    "select * replace (a * 2 as a, upper(s) as s) from n",
    "select * exclude (f) replace (k + 100 as k) from n",
    "select n.* exclude (m) from n join t on n.k = t.id",
    "select * rename (a as aa, b as bb) from n",
    "select k, a from n limit 3",
    "select * from (values (1, 'a'), (2, 'b'), (3, null)) v(x, y)",
    "select x + 1 from (values (1), (2), (null)) v(x)",
    "select 42, 'text', 1.5, true, null, date '2020-01-01'",
    "select count(*) from (select 1 union all select 2)",
]

PIPES = [
    ("from n |> where a > 0 |> aggregate sum(a) as s, count(*) as c group by g "
     "|> order by g nulls last",
     "select g, sum(a) as s, count(*) as c from n where a > 0 group by g order by g nulls last"),
    ("from n |> select k, a, b |> set a = a * 10 |> where a > 0 |> order by k",
     "select k, a * 10 as a, b from n where a * 10 > 0 order by k"),
    ("from n |> drop m, s, g, p |> rename a as x, b as y |> where x > y |> order by k",
     "select k, a as x, b as y, f from n where a > b order by k"),
    ("from n |> extend a + b as ab |> where ab is not null |> select k, ab |> order by ab, k "
     "|> limit 5",
     "select k, a + b as ab from n where a + b is not null order by ab, k limit 5"),
    ("from big |> aggregate count(*) as c, sum(val) as total group by tag |> where c > 200 "
     "|> order by tag",
     "select tag, count(*) as c, sum(val) as total from big group by tag having count(*) > 200 "
     "order by tag"),
    ("from t |> join u on t.id = u.id |> select t.id, u.v |> order by id",
     "select t.id, u.v from t join u on t.id = u.id order by id"),
    ("from n |> where k < 10 |> aggregate count(*) as c",
     "select count(*) as c from n where k < 10"),
    ("from n |> set s = coalesce(s, '-') |> select k, s |> order by k desc |> limit 4",
     "select k, coalesce(s, '-') as s from n order by k desc limit 4"),
    ("(select k, a from n) |> where a is null |> order by k",
     "select k, a from n where a is null order by k"),
    ("from t |> select grp |> distinct |> order by grp nulls last",
     "select distinct grp from t order by grp nulls last"),
    ("from n |> as x |> where x.k < 3 |> select x.k |> order by k",
     "select k from n where k < 3 order by k"),
]

QUERIES = [*JOINS, *AGGREGATES, *SORTING, *SETOPS, *CTES_AND_SUBQUERIES, *MORE_CTES,
           *WINDOWS, *WINDOW_EDGES, *QUALIFY, *EXPRESSIONS, *DATES, *CONVENIENCES]


@pytest.mark.parametrize("sql", QUERIES)
def test_feature(sample, sql):
    session, duck = sample
    check(session, duck, sql)


@pytest.mark.parametrize("sql,duck_sql", PIPES)
def test_pipe_syntax(sample, sql, duck_sql):
    session, duck = sample
    check(session, duck, sql, duck_sql=duck_sql)
