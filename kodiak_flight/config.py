"""Settings for the ``kodiak`` command: flags > environment (``KODIAK_*``) > TOML file > defaults.

The file is ``--config FILE`` (or ``KODIAK_CONFIG``), else ``kodiak.toml`` in the current
directory when there is one. Top-level keys are shared by every command; ``[serve]`` holds the
server's own. Unknown keys are an error, so a typo never silently means "use the default"::

    uri = "grpc://127.0.0.1:31337"   # client commands talk to this server ...
    data_dir = "./data"              # ... or, without a uri, open this directory embedded
    user = "ann"
    format = "table"

    [serve]
    host = "127.0.0.1"
    port = 31337
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_FILE = "kodiak.toml"


class Size(int):
    """A setting's kind: bytes, written ``1048576``, ``"512MiB"`` or ``"2GB"``."""


@dataclass(frozen=True)
class Setting:
    key: str  # "uri", or "serve.port" for a key of the [serve] table
    kind: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "KODIAK_" + self.key.rsplit(".", 1)[-1].upper()


SETTINGS: dict[str, Setting] = {s.key: s for s in [
    Setting("uri", str, None, "server to talk to (grpc://host:port or grpc+tls://...)"),
    Setting("data_dir", Path, Path("data"), "database directory for embedded use and serve"),
    Setting("user", str, None, "user name for a server with authentication"),
    Setting("password", str, None, "password for a server with authentication"),
    Setting("tls_root_certs", Path, None, "PEM file of certificates to trust for grpc+tls"),
    Setting("tls_skip_verify", bool, False, "do not verify the server's certificate (testing)"),
    Setting("tls_client_cert", Path, None, "PEM client certificate for mutual TLS"),
    Setting("tls_client_key", Path, None, "PEM private key for tls_client_cert"),
    Setting("format", str, "table", "output format of `kodiak sql`"),
    Setting("max_rows", int, 1000, "rows a table display shows before it stops"),
    Setting("history_file", Path, Path("~/.kodiak_history"), "the shell's history"),
    Setting("serve.host", str, "127.0.0.1", "address to listen on"),
    Setting("serve.port", int, 31337, "TCP port (0 picks a free one)"),
    Setting("serve.tls_cert", Path, None, "PEM certificate chain: serve grpc+tls"),
    Setting("serve.tls_key", Path, None, "PEM private key for tls_cert"),
    Setting("serve.tls_client_ca", Path, None,
            "PEM CA certificates: require client certificates signed by them (mutual TLS)"),
    Setting("serve.log_level", str, "info", "debug, info, warning or error"),
    Setting("serve.log_format", str, "text", "text, or json (one JSON object per line)"),
    Setting("serve.metrics_port", int, None,
            "HTTP port of /metrics (Prometheus) and /healthz (default: off; 0 picks one)"),
    Setting("serve.health_port", int, None,
            "port of the gRPC health-checking service (default: off; 0 picks one)"),
    Setting("serve.allow_insecure_remote", bool, False,
            "allow a non-loopback address without authentication"),
    Setting("serve.query_timeout", float, None,
            "seconds a query's result may stream before it is stopped (default: no limit)"),
    Setting("serve.shutdown_grace", float, 10.0,
            "seconds a stopping server gives running calls and commits before it exits"),
    Setting("serve.file_root", Path, None,
            "directory whose files clients' SQL may read and write (default: none)"),
    Setting("serve.backup_root", Path, None,
            "directory online backups must go under (default: anywhere)"),
    Setting("serve.result_cache_bytes", int, 0,
            "bytes of query results kept for repeated queries (0: no result cache)"),
    Setting("serve.memory_limit", Size, None,
            "memory all running queries may allocate together (bytes or 512MiB; no limit)"),
    Setting("serve.query_memory_limit", Size, None,
            "memory one query may allocate (bytes or 64MiB; default: no limit)"),
    Setting("serve.max_sessions", int, None, "client sessions open at once (no limit)"),
    Setting("serve.max_queries_per_user", int, None,
            "queries one user may have running at once (default: no limit)"),
    Setting("serve.max_result_bytes", Size, None,
            "bytes one query's result may stream (default: no limit)"),
    Setting("serve.max_statement_bytes", Size, None,
            "bytes of SQL text one statement may have (default: no limit)"),
    Setting("serve.pl_max_depth", int, 32,
            "nested calls of one function (recursion) a script may make; SET may lower it"),
    Setting("serve.pl_max_stack", int, 64,
            "nested function calls in all a script may make; SET may lower it"),
    Setting("serve.pl_max_loop_iterations", int, None,
            "turns one WHILE or FOR loop may take (default: no limit); SET may lower it"),
    Setting("serve.job_workers", int, 2, "background jobs run at once (worker threads)"),
    Setting("serve.job_timeout", float, None,
            "seconds a background job may run before it is stopped (default: no limit)"),
    Setting("serve.master_key_file", Path, None,
            "file holding the master key of stored secrets, mode 600 (else KODIAK_MASTER_KEY)"),
]}


class ConfigError(Exception):
    pass


def _convert(setting: Setting, value: Any, where: str) -> Any:
    kind = setting.kind
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind is Size:
            from .sql.memory import parse_size

            return parse_size(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind is Path:
            if not isinstance(value, str):
                raise ValueError(value)
            return Path(value).expanduser()
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    except ValueError:
        raise ConfigError(f"{where}: {setting.key} must be {kind.__name__.lower()}, "
                          f"not {value!r}") from None


@dataclass
class Config:
    """Resolved configuration: ``get(key, flag)`` applies the precedence rule."""

    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)  # from the file, converted
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @classmethod
    def load(cls, path: Path | str | None = None,
             env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
        env = os.environ if env is None else env
        explicit = path is not None or bool(env.get("KODIAK_CONFIG"))
        if path is None:
            path = env.get("KODIAK_CONFIG") or (cwd or Path.cwd()) / DEFAULT_FILE
        path = Path(path).expanduser()
        if not path.exists():
            if explicit:
                raise ConfigError(f"config file {path} does not exist")
            return cls(None, {}, env)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        values: dict[str, Any] = {}
        for key, value in _flatten(doc).items():
            setting = SETTINGS.get(key)
            if setting is None:
                known = ", ".join(sorted(SETTINGS))
                raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
            values[key] = _convert(setting, value, str(path))
        base = path.parent
        for key, value in values.items():  # relative paths are relative to the file
            if isinstance(value, Path) and not value.is_absolute():
                values[key] = base / value
        return cls(path, values, env)

    def get(self, key: str, flag: Any = None) -> Any:
        setting = SETTINGS[key]
        if flag is not None:
            return flag
        raw = self.env.get(setting.env)
        if raw not in (None, ""):
            return _convert(setting, raw, f"environment variable {setting.env}")
        if key in self.values:
            return self.values[key]
        default = setting.default
        return default.expanduser() if isinstance(default, Path) else default

    def source(self, key: str, flag: Any = None) -> str:
        """Where ``get`` found the value: flag, env, file or default."""
        setting = SETTINGS[key]
        if flag is not None:
            return "flag"
        if self.env.get(setting.env) not in (None, ""):
            return "env"
        if key in self.values:
            return "file"
        return "default"

    def target(self, uri: str | None, data_dir: Path | None) -> tuple[str | None, Path]:
        """Server URI or data directory for a command that can use either.

        The highest-precedence level that names either wins; at the same level a URI wins
        over a data directory (a file may name both: ``data_dir`` for ``serve``, ``uri`` for
        clients), except that the flags ``--uri`` and ``--data-dir`` together are an error.
        """
        if uri is not None and data_dir is not None:
            raise ConfigError("give --uri or --data-dir, not both")
        order = ["flag", "env", "file", "default"]
        u_src, d_src = self.source("uri", uri), self.source("data_dir", data_dir)
        resolved_dir = self.get("data_dir", data_dir)
        if u_src != "default" and order.index(u_src) <= order.index(d_src):
            return self.get("uri", uri), resolved_dir
        return None, resolved_dir


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out
