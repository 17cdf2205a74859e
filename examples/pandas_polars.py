"""Query Kodiak into pandas and Polars DataFrames, and write a pandas DataFrame back.

Both libraries take an ADBC connection; results arrive as Arrow and convert without a
row-by-row step.

    python examples/pandas_polars.py [--uri grpc://127.0.0.1:31337]
"""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import polars as pl
from _server import kodiak_server, parse_args


def main() -> None:
    args = parse_args(__doc__)
    with kodiak_server(args.uri) as uri, flight_sql.connect(uri, autocommit=True) as conn:
        frame = pd.DataFrame({"city": ["oslo", "rome", "lima", "oslo"],
                              "km": [12.5, 3.0, 8.25, 4.5]})
        # pandas writes through ADBC bulk ingest (one Arrow stream, not INSERT per row).
        frame.to_sql("df_trips", conn, if_exists="replace", index=False)

        query = "SELECT city, sum(km) AS km, count(*) AS n FROM df_trips GROUP BY city " \
                "ORDER BY city"
        by_pandas = pd.read_sql(query, conn)
        print(by_pandas)
        assert by_pandas["km"].tolist() == [8.25, 17.0, 3.0]

        # Polars: pass the connection itself (read_database_uri has no grpc:// mapping).
        by_polars = pl.read_database(query, connection=conn)
        print(by_polars)
        assert by_polars.get_column("n").to_list() == [1, 2, 1]

        # Or take the Arrow table from a cursor and hand it to either library.
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM df_trips WHERE km > ?", (4.0,))
            table = cur.fetch_arrow_table()
        assert pl.from_arrow(table).height == table.to_pandas().shape[0] == 3


if __name__ == "__main__":
    main()
