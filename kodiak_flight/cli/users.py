"""``kodiak user add|passwd|remove|list``: the users file a server authenticates against."""

from __future__ import annotations

import sys

import typer

from .errors import CliError
from .options import DataDirOpt, PasswordStdinOpt, resolve_data_dir

app = typer.Typer(help="Manage the users a server accepts (the users file in the data "
                  "directory).", no_args_is_help=True)


def read_password(password_stdin: bool) -> str:
    """The first line of stdin, or a twice-typed prompt on a terminal; never empty."""
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise CliError("no terminal to ask for the password: pass --password-stdin", 2)
    if not password:
        raise CliError("the password is empty", 2)
    return password


@app.command("add")
def user_add(ctx: typer.Context, name: str, data_dir: DataDirOpt = None,
             password_stdin: PasswordStdinOpt = False) -> None:
    """Add a user (asks for the password). Turns authentication on at the next start."""
    from ..users import UsersError, add_user, check_name, load_users, users_path

    path = users_path(resolve_data_dir(ctx, data_dir))
    if check_name(name) in load_users(path):  # before asking for a password
        raise UsersError(f"user {name!r} already exists (use `kodiak user passwd`)")
    add_user(path, name, read_password(password_stdin))
    typer.echo(f"added user {name} to {path}")


@app.command("passwd")
def user_passwd(ctx: typer.Context, name: str, data_dir: DataDirOpt = None,
                password_stdin: PasswordStdinOpt = False) -> None:
    """Change a user's password; tokens issued before stop working."""
    from ..users import UsersError, load_users, set_password, users_path

    path = users_path(resolve_data_dir(ctx, data_dir))
    if name not in load_users(path):  # before asking for a password
        raise UsersError(f"no user {name!r} in {path}")
    set_password(path, name, read_password(password_stdin))
    typer.echo(f"changed the password of {name}")


@app.command("remove")
def user_remove(ctx: typer.Context, name: str, data_dir: DataDirOpt = None) -> None:
    """Remove a user; their tokens stop working."""
    from ..users import remove_user, users_path

    path = users_path(resolve_data_dir(ctx, data_dir))
    remove_user(path, name)
    typer.echo(f"removed user {name}")


@app.command("list")
def user_list(ctx: typer.Context, data_dir: DataDirOpt = None) -> None:
    """List the users in the users file."""
    from ..users import load_users, users_path

    for name in load_users(users_path(resolve_data_dir(ctx, data_dir))):
        typer.echo(name)
