"""A batch loader: stream a CSV file into Kodiak, then check what arrived.

Two ways: the `kodiak import` command, and the same thing in Python with pyarrow's streaming
CSV reader feeding ADBC's bulk ingest batch by batch (the file is never read whole).

    python examples/batch_load_csv.py [--uri grpc://127.0.0.1:31337] [--csv FILE]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.csv as csv
from _server import kodiak_server, parse_args

TRIPS = Path(__file__).parent / "data" / "trips.csv"


def load_with_cli(uri: str, path: Path, table: str) -> None:
    subprocess.run([sys.executable, "-m", "kodiak_flight.cli", "import", str(path), table,
                    "--uri", uri, "--replace"], check=True)


def load_with_python(uri: str, path: Path, table: str) -> int:
    reader = csv.open_csv(path, read_options=csv.ReadOptions(block_size=16 << 10))
    with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        # mode="replace": drop and re-create from the file's schema; also "create",
        # "append" and "create_append".
        return cur.adbc_ingest(table, reader, mode="replace")


def main() -> None:
    args = parse_args(__doc__)
    with kodiak_server(args.uri) as uri:
        load_with_cli(uri, TRIPS, "trips_cli")
        loaded = load_with_python(uri, TRIPS, "trips_py")
        print(f"ingested {loaded} rows")
        with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM trips_cli), (SELECT count(*) FROM "
                        "trips_py), (SELECT round(sum(fare), 2) FROM trips_py)")
            n_cli, n_py, fares = cur.fetchone()
            print(f"trips_cli: {n_cli} rows, trips_py: {n_py} rows, fares {fares}")
            assert n_cli == n_py == 1000
            cur.execute("SELECT city, count(*) AS trips FROM trips_py GROUP BY city "
                        "ORDER BY trips DESC, city")
            for city, trips in cur.fetchall():
                print(f"{city:6} {trips}")


if __name__ == "__main__":
    main()
