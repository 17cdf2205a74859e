"""``kodiak tls-cert``, ``tls-client-cert`` and ``hash-password``: credentials for a server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import CliError


def refuse_overwrite(*paths: Path) -> None:
    for p in paths:
        if p.exists():
            raise CliError(f"{p} exists; not overwriting it")


def hash_password_cmd() -> None:
    """Print a salted scrypt hash of a password, for KODIAK_PASSWORD_HASH."""
    from ..auth import hash_password

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password(password))


def tls_cert_cmd(
    cert: Annotated[Path, typer.Argument(help="Where to write the certificate (PEM).")],
    key: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, 0600).")],
    host: Annotated[list[str] | None, typer.Option(
        "--host", help="Name or IP address the certificate is for (repeatable; default "
        "localhost and 127.0.0.1).")] = None,
    days: Annotated[int, typer.Option(help="Validity in days.")] = 365,
) -> None:
    """Write a self-signed certificate and key for `kodiak serve --tls-cert/--tls-key`.

    Clients must trust the certificate itself (--tls-root-certs CERT).
    """
    from ..tlscert import write_pair

    refuse_overwrite(cert, key)
    hosts = host or ["localhost", "127.0.0.1"]
    write_pair(cert, key, hosts, days)
    typer.echo(f"wrote {cert} and {key} for {', '.join(hosts)}")


def tls_client_cert_cmd(
    cert: Annotated[Path, typer.Argument(help="Where to write the client certificate (PEM).")],
    key: Annotated[Path, typer.Argument(help="Where to write its private key (PEM, 0600).")],
    ca_cert: Annotated[Path, typer.Option(
        help="CA certificate (PEM); created with --ca-key if neither exists.")],
    ca_key: Annotated[Path, typer.Option(help="CA private key (PEM, 0600).")],
    name: Annotated[str, typer.Option(help="The certificate's common name.")] = "kodiak-client",
    days: Annotated[int, typer.Option(help="Validity in days.")] = 365,
) -> None:
    """Write a client certificate and key signed by a CA, for mutual TLS.

    Serve with `kodiak serve --tls-client-ca CA_CERT ...`; clients connect with
    --tls-client-cert CERT --tls-client-key KEY.
    """
    from ..tlscert import write_client_pair

    refuse_overwrite(cert, key)
    if ca_cert.exists() != ca_key.exists():
        missing = ca_key if ca_cert.exists() else ca_cert
        raise CliError(f"{missing} does not exist: give both CA files, or neither to "
                       "create a new CA")
    if write_client_pair(cert, key, ca_cert, ca_key, name, days):
        typer.echo(f"wrote a new CA: {ca_cert} and {ca_key}")
    typer.echo(f"wrote {cert} and {key} for {name}, signed by {ca_cert}")
