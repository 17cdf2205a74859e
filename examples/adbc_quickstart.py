"""Connect to Kodiak with the ADBC Flight SQL driver: DDL, parameterised inserts, queries.

    python examples/adbc_quickstart.py [--uri grpc://127.0.0.1:31337]
"""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flight_sql
from _server import kodiak_server, parse_args


def main() -> None:
    args = parse_args(__doc__)
    with kodiak_server(args.uri) as uri, \
            flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS quickstart")
        cur.execute("CREATE TABLE quickstart (id BIGINT PRIMARY KEY, city VARCHAR, km DOUBLE)")
        # Parameters travel as Arrow data; executemany sends all rows in one request.
        cur.executemany("INSERT INTO quickstart VALUES (?, ?, ?)",
                        [(1, "oslo", 12.5), (2, "rome", 3.0), (3, "oslo", 7.5)])
        cur.execute("SELECT city, sum(km) AS km FROM quickstart WHERE km > ? "
                    "GROUP BY city ORDER BY city", (1.0,))
        rows = cur.fetchall()
        print(rows)
        assert rows == [("oslo", 20.0), ("rome", 3.0)]
        cur.execute("SELECT * FROM quickstart ORDER BY id")
        table = cur.fetch_arrow_table()  # an Arrow table, no conversion
        print(table.schema)
        assert table.num_rows == 3


if __name__ == "__main__":
    main()
