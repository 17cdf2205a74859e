"""Every script in examples/ runs to completion (they assert their own results), so none can
rot: each starts its own server on a free loopback port, or uses --uri."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

EXAMPLES = sorted(p for p in (REPO / "examples").glob("*.py") if not p.name.startswith("_"))


def run(script, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=REPO)


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"adbc_quickstart.py", "batch_load_csv.py",
                                           "pandas_polars.py", "raw_flight.py",
                                           "embedded.py"}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script):
    p = run(script)
    assert p.returncode == 0, p.stdout + p.stderr


def test_example_with_a_given_uri(uri):
    p = run(REPO / "examples" / "adbc_quickstart.py", "--uri", uri)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[('oslo', 20.0), ('rome', 3.0)]" in p.stdout
