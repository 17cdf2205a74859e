"""The README's tour and the pages docs/getting-started.md, docs/operations.md and
docs/cli.md, checked:

* the command blocks (```sh lines starting with ``kodiak``) and Python blocks run, in order,
  against a real server started on a free port (it stands in for grpc://127.0.0.1:31337);
  a block preceded by ``<!-- doc-test: skip ... -->`` is not run; the README's tour and then
  the getting-started guide run one after the other in one directory against one server
  serving ./data, as a new user following them would;
* every ``kodiak`` command line on the pages (skipped blocks included) parses: the command
  exists and takes those options and arguments;
* the settings table and the example kodiak.toml agree with kodiak_flight.config.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import typer.main

from kodiak_flight.cli import app
from kodiak_flight.config import SETTINGS, Config

from .conftest import REPO, kodiak, serve_proc

DOCS = REPO / "docs"
DEFAULT_URI = "grpc://127.0.0.1:31337"


def blocks(page: Path) -> list[tuple[str, str, bool]]:
    """(language, text, skipped) of every fenced block, in order."""
    out = []
    text = page.read_text()
    for m in re.finditer(r"(?:(<!-- doc-test: skip[^>]*-->)\n)?```(\w*)\n(.*?)```", text, re.S):
        out.append((m.group(2), m.group(3), m.group(1) is not None))
    return out


def command_lines(page: Path, include_skipped: bool = True) -> list[tuple[list[str], bool]]:
    """Each ``kodiak ...`` line of the sh blocks as (argv after "kodiak", skipped), with env
    assignments and redirections stripped off."""
    out = []
    for lang, text, skipped in blocks(page):
        if lang != "sh" or (skipped and not include_skipped):
            continue
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words = words[1:]
            if not words or words[0] != "kodiak":
                continue
            out.append((words[1:], skipped))
    return out


def split_redirect(args: list[str]) -> tuple[list[str], str | None]:
    if "<" in args:
        i = args.index("<")
        return args[:i] + args[i + 2:], args[i + 1]
    return args, None


def parses(args: list[str]) -> None:
    """Parse ``kodiak ARGS`` with the real command definitions, without running anything."""
    group = typer.main.get_command(app)
    ctx = group.make_context("kodiak", list(args), resilient_parsing=False)
    while hasattr(ctx.command, "resolve_command"):
        rest = [*ctx._protected_args, *ctx.args]
        name, cmd, rest = ctx.command.resolve_command(ctx, rest)
        assert cmd is not None, args
        ctx = cmd.make_context(name, rest, parent=ctx)


def test_every_command_line_parses():
    lines = []
    for page in ("getting-started.md", "operations.md", "cli.md"):
        lines += command_lines(DOCS / page)
    readme = [line for line in (REPO / "README.md").read_text().splitlines()
              if line.startswith("kodiak ")]
    assert len(lines) >= 20
    for args, _ in lines:
        args, _ = split_redirect(args)
        parses(args)
    assert not readme or all(parses(shlex.split(x, comments=True)[1:]) is None
                             for x in readme)


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "examples").symlink_to(REPO / "examples")
    return tmp_path


def run_python(code: str, uri: str, work: Path, page: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    p = subprocess.run([sys.executable, "-c", code.replace(DEFAULT_URI, uri)], cwd=work,
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, (page, p.stderr)


def run_page(page: Path, uri: str, work: Path) -> None:
    """Run the page's blocks in order in ``work`` against the server at ``uri``: each
    ``kodiak`` line as it comes, consecutive Python blocks as one script (they share their
    variables, as in one interpreter session)."""
    python: list[str] = []
    for lang, text, skipped in blocks(page):
        if skipped or lang not in ("sh", "python"):
            continue
        if lang == "python":
            python.append(text)
            continue
        if python:
            run_python("\n".join(python), uri, work, page.name)
            python = []
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            if not words or words[0] != "kodiak":
                continue
            r = kodiak(*[a.replace(DEFAULT_URI, uri) for a in words[1:]], input="")
            assert r.code == 0, (page.name, words, r.stderr)
    if python:
        run_python("\n".join(python), uri, work, page.name)


def test_readme_then_getting_started_run_in_order(tmp_path, monkeypatch):
    """A fresh clone: the README's tour, then the guide, against ``make serve``'s ./data."""
    work = _workdir(tmp_path)
    monkeypatch.chdir(work)
    with serve_proc(work / "data") as (uri, _):
        run_page(REPO / "README.md", uri, work)
        assert (work / "demo").is_dir() and (work / "backups" / "today").is_dir()
        run_page(DOCS / "getting-started.md", uri, work)
    assert (work / "trips.parquet").exists() and (work / "long_trips.ndjson").exists()
    assert (work / "scratch" / "MANIFEST").exists() or (work / "scratch" / "wal").is_dir()


def test_operations_blocks_run(tmp_path):
    work = _workdir(tmp_path)
    assert kodiak("import", "examples/data/trips.csv", "trips", "--data-dir", "data").code == 0
    (work / "loader-password.txt").write_text("loader-secret\n")
    (work / "backups").mkdir()
    ran = 0
    for args, _ in command_lines(DOCS / "operations.md", include_skipped=False):
        args, stdin = split_redirect(args)
        r = kodiak(*args, input=(work / stdin).read_text() if stdin else None)
        assert r.code == 0, (args, r.stderr)
        ran += 1
    assert ran >= 7
    assert kodiak("user", "list").stdout.split() == ["loader"]
    assert (work / "server.pem").exists() and (work / "backups" / "2024-06-01").is_dir()


def test_settings_table_matches_the_code():
    text = (DOCS / "operations.md").read_text()
    rows = re.findall(r"^\| `([\w.]+)` \| `(KODIAK_\w+)` \|([^|]*)\|", text, re.M)
    assert [r[0] for r in rows] == list(SETTINGS)
    for key, env, default in rows:
        s = SETTINGS[key]
        assert env == s.env
        expected = "" if s.default is None else (
            str(s.default).lower() if isinstance(s.default, bool) else f"`{s.default}`")
        assert default.strip() == expected, key


def test_example_config_file_is_valid(tmp_path):
    toml = next(text for lang, text, _ in blocks(DOCS / "operations.md") if lang == "toml")
    (tmp_path / "kodiak.toml").write_text(toml)
    cfg = Config.load(env={}, cwd=tmp_path)
    assert cfg.get("serve.port") == 31337 and cfg.get("max_rows") == 200
    assert cfg.get("data_dir") == tmp_path / "data"
    assert cfg.target(None, None)[0] == "grpc://127.0.0.1:31337"
