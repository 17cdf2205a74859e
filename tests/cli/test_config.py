"""Settings: flags > KODIAK_* environment > kodiak.toml > defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kodiak_flight.config import SETTINGS, Config, ConfigError

from .conftest import kodiak


def test_precedence_flag_env_file_default(tmp_path):
    Path("kodiak.toml").write_text('format = "csv"\ndata_dir = "db"\n')
    q = "select 1 as x"
    assert kodiak("sql", q).stdout.splitlines() == ['"x"', "1"]  # file
    assert (tmp_path / "db").is_dir()  # data_dir from the file, relative to it
    env = {"KODIAK_FORMAT": "ndjson"}
    assert kodiak("sql", q, env=env).stdout.strip() == '{"x":1}'  # env beats file
    r = kodiak("sql", q, "--format", "json", env=env)
    assert r.stdout.split() == ["[", '{"x":1}', "]"]  # flag beats env
    Path("kodiak.toml").unlink()
    assert "┃ x ┃" in kodiak("sql", q).stdout  # default: table


def test_config_option_and_env_variable(tmp_path):
    cfg = tmp_path / "conf" / "k.toml"
    cfg.parent.mkdir()
    cfg.write_text('format = "csv"\ndata_dir = "../elsewhere"\n')
    assert kodiak("--config", cfg, "sql", "select 2 as y").stdout.splitlines() == \
        ['"y"', "2"]
    assert (tmp_path / "elsewhere").is_dir()
    r = kodiak("sql", "select 2 as y", env={"KODIAK_CONFIG": str(cfg)})
    assert r.stdout.splitlines() == ['"y"', "2"]
    r = kodiak("--config", tmp_path / "missing.toml", "sql", "select 1")
    assert r.code == 1 and r.err_lines == [
        f"error: config file {tmp_path / 'missing.toml'} does not exist"]


@pytest.mark.parametrize("text, message", [
    ('formt = "csv"', "unknown setting 'formt'"),
    ("[serve]\nport = 'x'", "serve.port must be int"),
    ("uri = ", "not valid TOML"),
])
def test_bad_config_file_is_one_line(text, message):
    Path("kodiak.toml").write_text(text)
    r = kodiak("sql", "select 1")
    assert r.code == 1 and len(r.err_lines) == 1 and message in r.stderr, r.stderr


def test_bad_environment_value():
    r = kodiak("sql", "select 1", env={"KODIAK_MAX_ROWS": "lots"})
    assert r.code == 1 and r.err_lines == [
        "error: environment variable KODIAK_MAX_ROWS: max_rows must be int, not 'lots'"]


def test_uri_or_data_dir():
    cfg = Config(None, {"uri": "grpc://h:1", "data_dir": Path("d")}, {})
    assert cfg.target(None, None) == ("grpc://h:1", Path("d"))  # same level: the uri
    assert cfg.target(None, Path("x")) == (None, Path("x"))  # a flag beats the file
    env = Config(None, {"uri": "grpc://h:1"}, {"KODIAK_DATA_DIR": "e"})
    assert env.target(None, None) == (None, Path("e"))  # env beats the file
    assert Config(None, {}, {}).target(None, None) == (None, Path("data"))
    with pytest.raises(ConfigError, match="not both"):
        cfg.target("grpc://a:1", Path("x"))
    r = kodiak("sql", "--uri", "grpc://127.0.0.1:1", "--data-dir", "d", "select 1")
    assert r.code == 2 and r.err_lines == ["error: give --uri or --data-dir, not both"]


def test_uri_from_file_and_env(uri):
    Path("kodiak.toml").write_text(f'uri = "{uri}"\nformat = "csv"\n')
    assert kodiak("sql", "select 3 as z").stdout.splitlines() == ['"z"', "3"]
    r = kodiak("sql", "select 3 as z", env={"KODIAK_URI": "grpc://127.0.0.1:1"})
    assert r.code == 1 and r.err_lines[0].startswith(
        "error: cannot reach the server at grpc://127.0.0.1:1: connection error"), r.stderr


def test_config_command_shows_sources():
    Path("kodiak.toml").write_text('format = "csv"\npassword = "hunter2"\n')
    r = kodiak("config", env={"KODIAK_MAX_ROWS": "5"})
    assert r.code == 0
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
            for line in r.stdout.splitlines() if line.count("│") >= 5}
    assert rows["format"] == ["csv", "file", "KODIAK_FORMAT"]
    assert rows["max_rows"] == ["5", "env", "KODIAK_MAX_ROWS"]
    assert rows["serve.port"] == ["31337", "default", "KODIAK_PORT"]
    assert rows["password"][0] == "***" and "hunter2" not in r.stdout
    assert set(rows) == set(SETTINGS)


def test_serve_reads_file_and_env(tmp_path):
    (tmp_path / "kodiak.toml").write_text('data_dir = "served"\n[serve]\nport = 31337\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("KODIAK_")}
    env["KODIAK_PORT"] = "0"  # env beats the file's port
    proc = subprocess.Popen([sys.executable, "-m", "kodiak_flight.cli", "serve"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("grpc://127.0.0.1:") and not line.endswith(":31337"), \
            proc.stderr.read()
        assert (tmp_path / "served" / "LOCK").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_boolean_values():
    for text, value in [("1", True), ("yes", True), ("ON", True), ("true", True),
                        ("0", False), ("no", False), ("off", False), ("False", False)]:
        assert Config(None, {}, {"KODIAK_TLS_SKIP_VERIFY": text}).get("tls_skip_verify") \
            is value
    with pytest.raises(ConfigError, match="tls_skip_verify must be bool"):
        Config(None, {}, {"KODIAK_TLS_SKIP_VERIFY": "maybe"}).get("tls_skip_verify")
