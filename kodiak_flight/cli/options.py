"""The options commands share, and the one way a command finds its database.

The reusable typer option types live here. A command that talks to a database builds one
:class:`Connection` from its options (flags > ``KODIAK_*`` environment > ``kodiak.toml`` >
defaults, see ``kodiak_flight.config``) and opens the database through it.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import Config
from .errors import CliError

if TYPE_CHECKING:
    from ..client import Backend, Remote

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="TOML settings file (default: ./kodiak.toml if present; KODIAK_CONFIG).")]
UriOpt = Annotated[str | None, typer.Option(
    "--uri", help="Server to use, e.g. grpc://127.0.0.1:31337 (KODIAK_URI).")]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Database directory, opened embedded (KODIAK_DATA_DIR; default ./data).")]
UserOpt = Annotated[str | None, typer.Option(
    "--user", help="User name for a server with authentication (KODIAK_USER); the password "
    "comes from KODIAK_PASSWORD or the config file, else a prompt.")]
TlsRootOpt = Annotated[Path | None, typer.Option(
    "--tls-root-certs", help="PEM certificates to trust for grpc+tls (KODIAK_TLS_ROOT_CERTS).")]
TlsSkipOpt = Annotated[bool | None, typer.Option(
    "--tls-skip-verify/--tls-verify", help="Skip verifying the server certificate (testing).")]
TlsClientCertOpt = Annotated[Path | None, typer.Option(
    "--tls-client-cert", help="PEM client certificate for a server that requires one "
    "(mutual TLS; KODIAK_TLS_CLIENT_CERT).")]
TlsClientKeyOpt = Annotated[Path | None, typer.Option(
    "--tls-client-key", help="PEM private key for --tls-client-cert (KODIAK_TLS_CLIENT_KEY).")]
ProgressOpt = Annotated[bool | None, typer.Option(
    "--progress/--no-progress", help="Progress bars (default: on when stderr is a terminal).")]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin.")]


def load_config(ctx: typer.Context) -> Config:
    """The settings, loaded once per invocation from the root's ``--config``."""
    root = ctx.find_root()
    if isinstance(root.obj, Config):
        return root.obj
    cfg = Config.load(root.obj)
    root.obj = cfg
    return cfg


def resolve_data_dir(ctx: typer.Context, flag: Path | None) -> Path:
    """The data directory of a command that works on one only (no ``--uri``)."""
    return load_config(ctx).get("data_dir", flag)


@dataclass(frozen=True)
class Tls:
    """How a client reaches a ``grpc+tls`` server."""

    root_certs: Path | None
    skip_verify: bool
    client_cert: Path | None
    client_key: Path | None


@dataclass(frozen=True)
class Connection:
    """A server (``uri``) or, without one, an embedded data directory, with the credentials
    and TLS settings to reach the server."""

    config: Config
    uri: str | None
    data_dir: Path
    user: str | None
    tls: Tls

    @classmethod
    def from_options(cls, ctx: typer.Context, uri: str | None, data_dir: Path | None,
                     user: str | None, tls_root_certs: Path | None = None,
                     tls_skip_verify: bool | None = None, tls_client_cert: Path | None = None,
                     tls_client_key: Path | None = None) -> Connection:
        cfg = load_config(ctx)
        if uri is not None and data_dir is not None:
            raise CliError("give --uri or --data-dir, not both", 2)
        target_uri, target_dir = cfg.target(uri, data_dir)
        return cls(cfg, target_uri, target_dir, cfg.get("user", user),
                   Tls(cfg.get("tls_root_certs", tls_root_certs),
                       cfg.get("tls_skip_verify", tls_skip_verify),
                       cfg.get("tls_client_cert", tls_client_cert),
                       cfg.get("tls_client_key", tls_client_key)))

    def password(self) -> str | None:
        """The configured password; asked for on a terminal when a user has none."""
        password = self.config.get("password")
        if password is None and self.user and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {self.user}: ")
        return password

    def open(self, *, must_exist: bool = False) -> Backend:
        """The server at ``uri``; else the server serving the data directory (found by the
        file ``kodiak serve`` leaves there; said on stderr); else the data directory opened
        in this process."""
        from ..client import Embedded
        from .discovery import find

        if self.uri:
            return self.remote()
        served = find(self.data_dir)
        if served is not None:
            print(f"using the server at {served.uri} (it serves {self.data_dir})",
                  file=sys.stderr)
            return self.remote(served.uri, served.tls_cert)
        return Embedded(self.data_dir, must_exist=must_exist)

    def remote(self, uri: str | None = None, server_cert: Path | None = None, *,
               password: str | None = None) -> Remote:
        """The server at ``uri`` (default: ``--uri``); ``server_cert`` is trusted when no
        root certificates are configured; ``password`` overrides the configured one."""
        from ..client import Remote

        target = uri or self.uri
        assert target is not None
        roots = self.tls.root_certs
        if roots is None and server_cert is not None and server_cert.is_file():
            roots = server_cert
        return Remote(target, user=self.user, password=password or self.password(),
                      tls_root_certs=roots, tls_skip_verify=self.tls.skip_verify,
                      tls_client_cert=self.tls.client_cert, tls_client_key=self.tls.client_key)

    def existing_data_dir(self) -> Path:
        if not self.data_dir.is_dir():
            raise CliError(f"no database at {self.data_dir} (directory does not exist)")
        return self.data_dir
