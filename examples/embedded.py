"""Use Kodiak embedded, without a server: the storage engine's API and SQL on top of it.

    python examples/embedded.py [--data-dir DIR]   (default: a temporary directory)
"""

from __future__ import annotations

import argparse
import tempfile

import pyarrow as pa

import engine
from kodiak_flight.sql.session import Session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.data_dir or tmp
        db = engine.Database.open(path)  # creates the directory; one process at a time
        try:
            if db.snapshot().has_table("sensors"):
                db.drop_table("sensors")
            db.create_table("sensors", pa.schema([("id", pa.int64()), ("room", pa.string()),
                                                  ("celsius", pa.float64())]),
                            primary_key=["id"])
            db.insert("sensors", pa.table({"id": [1, 2, 3], "room": ["hall", "lab", "lab"],
                                           "celsius": [19.5, 22.0, 23.5]}))
            # Reads: a consistent snapshot; scans stream record batches and use the
            # predicate to skip data and to answer key lookups from the primary-key index.
            hot = db.scan("sensors", predicate=engine.col("celsius") > 20).read_all()
            print(hot.to_pydict())
            assert hot.column("id").to_pylist() == [2, 3]
            print(db.snapshot().get("sensors", 1))

            # SQL on the same database: Session is what the server runs for each client.
            session = Session(db)
            session.execute("UPDATE sensors SET celsius = celsius + 1 WHERE room = 'lab'")
            result = session.execute("SELECT room, avg(celsius) AS avg_c FROM sensors "
                                     "GROUP BY room ORDER BY room")
            table = result.reader.read_all()
            print(table.to_pydict())
            assert table.column("avg_c").to_pylist() == [19.5, 23.75]

            # Transactions: all or nothing.
            with db.begin() as tx:
                tx.insert("sensors", pa.table({"id": [4], "room": ["roof"],
                                               "celsius": [-3.0]}))
                tx.delete("sensors", engine.col("room") == "hall")
            assert db.snapshot().table("sensors").row_count == 3
            print("problems found by check():", db.check())
        finally:
            db.close()


if __name__ == "__main__":
    main()
