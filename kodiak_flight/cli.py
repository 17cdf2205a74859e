"""The ``kodiak`` command line: ``kodiak serve`` runs the Flight SQL server."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Kodiak: an analytics database served over Arrow Flight SQL.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)

log = logging.getLogger("kodiak")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _uri(scheme: str, host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 31337,
    data_dir: Annotated[Path, typer.Option(help="Database directory (created if missing).")
                        ] = Path("./data"),
    tls_cert: Annotated[Path | None, typer.Option(
        help="PEM certificate chain: serve grpc+tls.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key for --tls-cert.")
                       ] = None,
    allow_insecure_remote: Annotated[bool, typer.Option(
        help="Allow a non-loopback address without a password (KODIAK_PASSWORD).")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the database in --data-dir over Arrow Flight SQL until SIGINT or SIGTERM.

    Authentication is on when KODIAK_PASSWORD (or KODIAK_PASSWORD_HASH, from
    `kodiak hash-password`) is set; the user name is KODIAK_USER (default "kodiak").
    """
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    import pyarrow.flight as flight

    import engine

    from .auth import Authenticator
    from .server import serve as start_server

    if (tls_cert is None) != (tls_key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    auth = Authenticator.from_env()
    os.environ.pop("KODIAK_PASSWORD", None)  # only the scrypt hash stays in this process
    if not is_loopback(host) and auth is None and not allow_insecure_remote:
        typer.echo(f"error: refusing to listen on {host} without authentication; set "
                   "KODIAK_PASSWORD (and use --tls-cert/--tls-key), or pass "
                   "--allow-insecure-remote", err=True)
        raise typer.Exit(2)
    if not is_loopback(host) and auth is not None and tls_cert is None:
        log.warning("passwords and tokens travel unencrypted: serve with --tls-cert/--tls-key")
    certs = None
    if tls_cert is not None and tls_key is not None:
        certs = [flight.CertKeyPair(cert=tls_cert.read_bytes(), key=tls_key.read_bytes())]

    db = engine.Database.open(str(data_dir))
    try:
        server = start_server(db, host, port, auth=auth, tls_certificates=certs)
    except Exception as exc:
        db.close()
        typer.echo(f"error: cannot serve on {host}:{port}: {exc}", err=True)
        raise typer.Exit(1) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    uri = _uri("grpc+tls" if certs else "grpc", host, server.port)
    typer.echo(uri)
    sys.stdout.flush()
    log.info("serving %s on %s (auth %s)", data_dir, uri, "on" if auth else "off")
    while not stop.wait(0.5):
        pass
    log.info("shutting down")
    done = threading.Thread(target=server.shutdown, daemon=True)
    done.start()
    done.join(timeout=10.0)  # in-flight calls get 10 s to finish
    if done.is_alive():
        log.warning("calls still running after 10 s; exiting anyway")
    server.close_all()
    db.close()
    raise typer.Exit(0)


@app.command("hash-password")
def hash_password_cmd() -> None:
    """Print a salted scrypt hash of a password, for KODIAK_PASSWORD_HASH."""
    from .auth import hash_password

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password(password))


def main() -> None:
    """Every error is one line on stderr and exit 1; ``--debug`` shows the traceback."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except Exception as exc:
        if debug:
            raise
        message = str(exc) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
