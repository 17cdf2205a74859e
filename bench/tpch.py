"""TPC-H data for benchmarks, generated once with ``tpchgen-cli`` and cached in bench/.data.

``lineitem_path(1)`` returns ``bench/.data/tpch/sf1/lineitem.parquet``, generating it first if
needed (SF1 takes about 10 s). The Parquet files keep tpchgen's types, ``string_view`` and
``decimal128(15,2)``, because that is what real clients send.

Pre-generate from the shell: ``python -m bench.tpch -s 1 [-t lineitem -t orders ...]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .common import DATA_DIR, log

TPCH_DIR = DATA_DIR / "tpch"
TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")


def _scale_name(scale: float) -> str:
    return f"sf{scale:g}"


def _tpchgen() -> str:
    """The tpchgen-cli next to this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "tpchgen-cli"
    if beside.exists():
        return str(beside)
    found = shutil.which("tpchgen-cli")
    if found is None:
        raise RuntimeError("tpchgen-cli not found: pip install tpchgen-cli (it is in the "
                           "project's [test] extra)")
    return found


def table_path(table: str, scale: float = 1) -> Path:
    """Path of the cached Parquet file for ``table`` at ``scale``, generating it if missing."""
    if table not in TABLES:
        raise ValueError(f"unknown TPC-H table {table!r}")
    out_dir = TPCH_DIR / _scale_name(scale)
    path = out_dir / f"{table}.parquet"
    if path.exists():
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    log(f"generating TPC-H {table} at scale {scale:g} with tpchgen-cli")
    # Generate into a temporary directory and rename, so an interrupted run never leaves a
    # truncated file that later runs would take for the real thing.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".gen-") as tmp:
        subprocess.run([_tpchgen(), "parquet", "-s", f"{scale:g}", f"--tables={table}",
                        "--output-dir", tmp], check=True, stdout=subprocess.DEVNULL)
        os.replace(os.path.join(tmp, f"{table}.parquet"), path)
    return path


def table_parts(table: str, scale: float, parts: int = 10) -> list[Path]:
    """The cached Parquet parts ``sf<scale>/<table>/<table>.<n>.parquet`` of ``table``,
    generating them first if missing: large scales (SF10 lineitem is 60M rows) stay out of
    one file and can be read part by part."""
    if table not in TABLES:
        raise ValueError(f"unknown TPC-H table {table!r}")
    out_dir = TPCH_DIR / _scale_name(scale)
    path = out_dir / table
    if not path.is_dir():
        out_dir.mkdir(parents=True, exist_ok=True)
        log(f"generating TPC-H {table} at scale {scale:g} in {parts} parts with tpchgen-cli")
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".gen-") as tmp:
            subprocess.run([_tpchgen(), "parquet", "-s", f"{scale:g}", f"--tables={table}",
                            f"--parts={parts}", "--output-dir", tmp], check=True,
                           stdout=subprocess.DEVNULL)
            os.replace(os.path.join(tmp, table), path)
    return sorted(path.glob(f"{table}.*.parquet"), key=lambda f: int(f.name.split(".")[1]))


def lineitem_path(scale: float = 1) -> Path:
    return table_path("lineitem", scale)


def read_table(table: str, scale: float = 1) -> pa.Table:
    """The whole table in memory, with tpchgen's types unchanged."""
    return pq.read_table(table_path(table, scale))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.tpch", description=__doc__.split("\n")[0])
    ap.add_argument("-s", "--scale", type=float, default=1.0)
    ap.add_argument("-t", "--table", action="append", choices=TABLES,
                    help="table to generate (repeatable; default lineitem)")
    args = ap.parse_args(argv)
    for t in args.table or ["lineitem"]:
        print(table_path(t, args.scale))


if __name__ == "__main__":
    main()
