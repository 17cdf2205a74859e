"""A server loads the SQL layer when it starts, not in its first client's statement.

Importing the SQL layer (binder, planner, executor, Acero) takes about half a second of CPU;
a harness that starts a server and times its first ingest or query paid it there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
import engine
from kodiak_flight.server import serve
db = engine.Database.open(sys.argv[1])
server = serve(db, port=0)
print(sorted(m for m in ("kodiak_flight.sql.session", "kodiak_flight.sql.executor",
                         "kodiak_flight.sql.binder") if m not in sys.modules))
server.shutdown()
db.close()
"""


def test_sql_layer_is_loaded_before_the_first_call(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "db")], check=True,
                         capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
