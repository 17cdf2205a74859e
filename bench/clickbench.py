"""``clickbench``: ClickBench's 43 queries over a synthetic ``hits`` table, against DuckDB.

ClickBench is the benchmark outside measurements of analytics databases run most: one wide
table of web-analytics hits, 43 queries of counts, distinct counts, string grouping, LIKE
searches, regular expressions, top-N sorts and filtered dashboards. Its data is 100 M rows
of real hits; ``bench/hits.py`` generates the columns the queries read with the same types,
sort order and skew (see there). Queries are ClickBench's DuckDB texts. Measured as
``app_queries`` is: each query's p50, Kodiak's embedded session and DuckDB's in turn,
alternating; the ratio per query is the median of the rounds' paired ratios. Target: geomean
≤ 1.5×, no query over 3×.

Run: ``python -m bench clickbench [--quick]`` (group ``sql``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .app_queries import compare_tables
from .common import Row
from .hits import hits

FULL: dict[str, Any] = {"rows": 5_000_000, "rounds": 3, "repeats": 3}
QUICK: dict[str, Any] = {"rows": 1_000_000, "rounds": 3, "repeats": 3}

_SUMS = ", ".join(["SUM(ResolutionWidth)"] +
                  [f"SUM(ResolutionWidth + {i})" for i in range(1, 90)])
_DASH = ("CounterID = 62 AND EventDate >= '2013-07-01' AND EventDate <= '2013-07-31' AND "
         "IsRefresh = 0")

QUERIES = {
    "Q00": "SELECT COUNT(*) FROM hits",
    "Q01": "SELECT COUNT(*) FROM hits WHERE AdvEngineID <> 0",
    "Q02": "SELECT SUM(AdvEngineID), COUNT(*), AVG(ResolutionWidth) FROM hits",
    "Q03": "SELECT AVG(UserID) FROM hits",
    "Q04": "SELECT COUNT(DISTINCT UserID) FROM hits",
    "Q05": "SELECT COUNT(DISTINCT SearchPhrase) FROM hits",
    "Q06": "SELECT MIN(EventDate), MAX(EventDate) FROM hits",
    "Q07": "SELECT AdvEngineID, COUNT(*) FROM hits WHERE AdvEngineID <> 0 GROUP BY "
           "AdvEngineID ORDER BY COUNT(*) DESC",
    "Q08": "SELECT RegionID, COUNT(DISTINCT UserID) AS u FROM hits GROUP BY RegionID "
           "ORDER BY u DESC LIMIT 10",
    "Q09": "SELECT RegionID, SUM(AdvEngineID), COUNT(*) AS c, AVG(ResolutionWidth), "
           "COUNT(DISTINCT UserID) FROM hits GROUP BY RegionID ORDER BY c DESC LIMIT 10",
    "Q10": "SELECT MobilePhoneModel, COUNT(DISTINCT UserID) AS u FROM hits WHERE "
           "MobilePhoneModel <> '' GROUP BY MobilePhoneModel ORDER BY u DESC LIMIT 10",
    "Q11": "SELECT MobilePhone, MobilePhoneModel, COUNT(DISTINCT UserID) AS u FROM hits "
           "WHERE MobilePhoneModel <> '' GROUP BY MobilePhone, MobilePhoneModel ORDER BY u "
           "DESC LIMIT 10",
    "Q12": "SELECT SearchPhrase, COUNT(*) AS c FROM hits WHERE SearchPhrase <> '' GROUP BY "
           "SearchPhrase ORDER BY c DESC LIMIT 10",
    "Q13": "SELECT SearchPhrase, COUNT(DISTINCT UserID) AS u FROM hits WHERE SearchPhrase "
           "<> '' GROUP BY SearchPhrase ORDER BY u DESC LIMIT 10",
    "Q14": "SELECT SearchEngineID, SearchPhrase, COUNT(*) AS c FROM hits WHERE SearchPhrase "
           "<> '' GROUP BY SearchEngineID, SearchPhrase ORDER BY c DESC LIMIT 10",
    "Q15": "SELECT UserID, COUNT(*) FROM hits GROUP BY UserID ORDER BY COUNT(*) DESC "
           "LIMIT 10",
    "Q16": "SELECT UserID, SearchPhrase, COUNT(*) FROM hits GROUP BY UserID, SearchPhrase "
           "ORDER BY COUNT(*) DESC LIMIT 10",
    "Q17": "SELECT UserID, SearchPhrase, COUNT(*) FROM hits GROUP BY UserID, SearchPhrase "
           "LIMIT 10",
    "Q18": "SELECT UserID, extract(minute FROM EventTime) AS m, SearchPhrase, COUNT(*) FROM "
           "hits GROUP BY UserID, m, SearchPhrase ORDER BY COUNT(*) DESC LIMIT 10",
    "Q19": "SELECT UserID FROM hits WHERE UserID = 435090932899640449",
    "Q20": "SELECT COUNT(*) FROM hits WHERE URL LIKE '%google%'",
    "Q21": "SELECT SearchPhrase, MIN(URL), COUNT(*) AS c FROM hits WHERE URL LIKE "
           "'%google%' AND SearchPhrase <> '' GROUP BY SearchPhrase ORDER BY c DESC LIMIT 10",
    "Q22": "SELECT SearchPhrase, MIN(URL), MIN(Title), COUNT(*) AS c, COUNT(DISTINCT UserID) "
           "FROM hits WHERE Title LIKE '%Google%' AND URL NOT LIKE '%.google.%' AND "
           "SearchPhrase <> '' GROUP BY SearchPhrase ORDER BY c DESC LIMIT 10",
    "Q23": "SELECT * FROM hits WHERE URL LIKE '%google%' ORDER BY EventTime LIMIT 10",
    "Q24": "SELECT SearchPhrase FROM hits WHERE SearchPhrase <> '' ORDER BY EventTime "
           "LIMIT 10",
    "Q25": "SELECT SearchPhrase FROM hits WHERE SearchPhrase <> '' ORDER BY SearchPhrase "
           "LIMIT 10",
    "Q26": "SELECT SearchPhrase FROM hits WHERE SearchPhrase <> '' ORDER BY EventTime, "
           "SearchPhrase LIMIT 10",
    "Q27": "SELECT CounterID, AVG(length(URL)) AS l, COUNT(*) AS c FROM hits WHERE URL <> '' "
           "GROUP BY CounterID HAVING COUNT(*) > 100000 ORDER BY l DESC LIMIT 25",
    "Q28": "SELECT REGEXP_REPLACE(Referer, '^https?://(?:www\\.)?([^/]+)/.*$', '\\1') AS k, "
           "AVG(length(Referer)) AS l, COUNT(*) AS c, MIN(Referer) FROM hits WHERE Referer "
           "<> '' GROUP BY k HAVING COUNT(*) > 100000 ORDER BY l DESC LIMIT 25",
    "Q29": f"SELECT {_SUMS} FROM hits",
    "Q30": "SELECT SearchEngineID, ClientIP, COUNT(*) AS c, SUM(IsRefresh), "
           "AVG(ResolutionWidth) FROM hits WHERE SearchPhrase <> '' GROUP BY SearchEngineID, "
           "ClientIP ORDER BY c DESC LIMIT 10",
    "Q31": "SELECT WatchID, ClientIP, COUNT(*) AS c, SUM(IsRefresh), AVG(ResolutionWidth) "
           "FROM hits WHERE SearchPhrase <> '' GROUP BY WatchID, ClientIP ORDER BY c DESC "
           "LIMIT 10",
    "Q32": "SELECT WatchID, ClientIP, COUNT(*) AS c, SUM(IsRefresh), AVG(ResolutionWidth) "
           "FROM hits GROUP BY WatchID, ClientIP ORDER BY c DESC LIMIT 10",
    "Q33": "SELECT URL, COUNT(*) AS c FROM hits GROUP BY URL ORDER BY c DESC LIMIT 10",
    "Q34": "SELECT 1, URL, COUNT(*) AS c FROM hits GROUP BY 1, URL ORDER BY c DESC LIMIT 10",
    "Q35": "SELECT ClientIP, ClientIP - 1, ClientIP - 2, ClientIP - 3, COUNT(*) AS c FROM "
           "hits GROUP BY ClientIP, ClientIP - 1, ClientIP - 2, ClientIP - 3 ORDER BY c DESC "
           "LIMIT 10",
    "Q36": f"SELECT URL, COUNT(*) AS PageViews FROM hits WHERE {_DASH} AND DontCountHits = 0 "
           "AND URL <> '' GROUP BY URL ORDER BY PageViews DESC LIMIT 10",
    "Q37": f"SELECT Title, COUNT(*) AS PageViews FROM hits WHERE {_DASH} AND DontCountHits "
           "= 0 AND Title <> '' GROUP BY Title ORDER BY PageViews DESC LIMIT 10",
    "Q38": f"SELECT URL, COUNT(*) AS PageViews FROM hits WHERE {_DASH} AND IsLink <> 0 AND "
           "IsDownload = 0 GROUP BY URL ORDER BY PageViews DESC LIMIT 10 OFFSET 1000",
    "Q39": "SELECT TraficSourceID, SearchEngineID, AdvEngineID, CASE WHEN (SearchEngineID = "
           "0 AND AdvEngineID = 0) THEN Referer ELSE '' END AS Src, URL AS Dst, COUNT(*) AS "
           f"PageViews FROM hits WHERE {_DASH} GROUP BY TraficSourceID, SearchEngineID, "
           "AdvEngineID, Src, Dst ORDER BY PageViews DESC LIMIT 10 OFFSET 1000",
    "Q40": "SELECT URLHash, EventDate, COUNT(*) AS PageViews FROM hits WHERE "
           f"{_DASH} AND TraficSourceID IN (-1, 6) AND RefererHash = 3594120000172545465 "
           "GROUP BY URLHash, EventDate ORDER BY PageViews DESC LIMIT 10 OFFSET 100",
    "Q41": "SELECT WindowClientWidth, WindowClientHeight, COUNT(*) AS PageViews FROM hits "
           f"WHERE {_DASH} AND DontCountHits = 0 AND URLHash = 2868770270353813622 GROUP BY "
           "WindowClientWidth, WindowClientHeight ORDER BY PageViews DESC LIMIT 10 OFFSET "
           "10000",
    "Q42": "SELECT DATE_TRUNC('minute', EventTime) AS M, COUNT(*) AS PageViews FROM hits "
           "WHERE CounterID = 62 AND EventDate >= '2013-07-14' AND EventDate <= '2013-07-15' "
           "AND IsRefresh = 0 AND DontCountHits = 0 GROUP BY DATE_TRUNC('minute', EventTime) "
           "ORDER BY DATE_TRUNC('minute', EventTime) LIMIT 10 OFFSET 1000",
}


def bench_clickbench(cfg: dict) -> list[Row]:
    rows = cfg["rows"]
    return compare_tables("clickbench", f"ClickBench queries, synthetic hits {rows:,} rows",
                          QUERIES, {"hits": hits(rows)}, (), cfg,
                          quick=rows != FULL["rows"])


BENCHMARKS: dict[str, Callable[[dict], list[Row]]] = {"clickbench": bench_clickbench}
