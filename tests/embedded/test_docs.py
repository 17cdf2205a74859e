"""docs/embedded.md and the README's embedded snippet run as written, in order."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def run(code: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    env["PYTHONPATH"] = str(REPO)
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout


def readme_snippet() -> str:
    readme = (REPO / "README.md").read_text()
    code = python_blocks(readme[readme.index("Embedded, without a server"):])[0]
    assert "kodiak_flight.connect" in code
    return code


def test_embedded_page_runs_after_the_readme_and_again(tmp_path):
    """In order after the README's snippet (they share ./demo, not the tour's ./data nor the
    guide's ./scratch), and a second time: following the page twice works."""
    blocks = python_blocks((REPO / "docs" / "embedded.md").read_text())
    assert len(blocks) >= 8
    run(readme_snippet(), tmp_path)
    for _ in range(2):
        out = run("\n".join(blocks), tmp_path)
        assert "[('oslo', 20.0), ('rome', 3.0)]" in out
        assert "['id', 'city'] [(1, 'oslo'), (3, 'oslo')]" in out
        assert "duplicate primary key 1" in out and "did you mean: trips?" in out
    assert (tmp_path / "demo" / "wal").is_dir()
    assert not (tmp_path / "data").exists() and not (tmp_path / "scratch").exists()


def test_readme_embedded_snippet_runs_twice(tmp_path):
    for _ in range(2):
        out = run(readme_snippet(), tmp_path)
        assert "oslo" in out and "[(1, 'oslo', 12.5)]" in out
