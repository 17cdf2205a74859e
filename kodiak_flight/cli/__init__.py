"""The ``kodiak`` command line.

``serve`` runs the Flight SQL server; ``sql``, ``shell``, ``import``, ``export``, ``info``
and ``backup`` work against a server (``--uri``) or embedded on a data directory
(``--data-dir``); ``restore`` and ``check`` work on a data directory; ``user`` manages the
users a server accepts. Settings come from flags, then ``KODIAK_*`` environment variables, then
``kodiak.toml``, then defaults (see ``kodiak_flight.config`` and docs/operations.md).

One module per command group; ``options`` holds the shared options and the
:class:`~kodiak_flight.cli.options.Connection` every database command opens its database
through. Every error is one line on stderr and a non-zero exit; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from . import backup, config_cmd, info, query, secrets, serve, tls, transfer, users
from .errors import CliError
from .options import ConfigOpt

__all__ = ["app", "main", "CliError"]

app = typer.Typer(help="Kodiak: an analytics database served over Arrow Flight SQL.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)


def version() -> str:
    """Kodiak's installed version (the source tree's when it is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("kodiak")
    except PackageNotFoundError:
        return "0.1.0+source"


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"kodiak {version()}")
        raise typer.Exit(0)


@app.callback()
def root(ctx: typer.Context, config: ConfigOpt = None,
         version: Annotated[bool, typer.Option(
             "--version", callback=show_version, is_eager=True,
             help="Print Kodiak's version and exit.")] = False) -> None:
    """Kodiak: an analytics database served over Arrow Flight SQL."""
    ctx.obj = config  # replaced by the loaded Config on first use (options.load_config)


app.add_typer(users.app, name="user")
app.add_typer(secrets.app, name="secrets")
app.command()(serve.serve)
app.command("hash-password")(tls.hash_password_cmd)
app.command("tls-cert")(tls.tls_cert_cmd)
app.command("tls-client-cert")(tls.tls_client_cert_cmd)
app.command()(query.sql)
app.command()(query.shell)
app.command("import")(transfer.import_cmd)
app.command("export")(transfer.export_cmd)
app.command()(backup.backup)
app.command()(backup.restore)
app.command()(backup.check)
app.command()(info.info)
app.command("config")(config_cmd.config_cmd)


def message(exc: BaseException) -> str:
    """One line for an unexpected error: a file and its OS error, or the cleaned text."""
    from ..client import clean_error

    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return clean_error(exc)


def usage_error(exc: typer.TyperException) -> int:
    """Help for a bare command group, else one line pointing at ``--help``; the status."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        if ctx is not None:
            print(ctx.get_help())
        return 2
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
    return getattr(exc, "exit_code", 2)


def report(exc: Exception) -> int:
    """Print ``exc`` for the user; the exit status."""
    if isinstance(exc, CliError):
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    if isinstance(exc, typer.TyperException):  # usage errors: one line too
        return usage_error(exc)
    if isinstance(exc, typer.Abort):
        print("error: aborted", file=sys.stderr)
        return 1
    print(f"error: {message(exc)}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> None:
    """Run ``kodiak``: every error is one line on stderr and a non-zero exit; ``--debug``
    shows the traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        code = app(args=args, prog_name="kodiak", standalone_mode=False)
    except Exception as exc:
        if debug and not isinstance(exc, (typer.TyperException, typer.Abort)):
            raise
        sys.exit(report(exc))
    sys.exit(code if isinstance(code, int) else 0)
