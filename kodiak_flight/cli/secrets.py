"""``kodiak secrets rotate-master-key``: re-wrap a database's secrets key under a new
master key (the secrets themselves are not re-encrypted). Embedded on a data directory that
no server holds open; the old key comes from KODIAK_MASTER_KEY or --master-key-file, the
new one from KODIAK_NEW_MASTER_KEY or --new-master-key-file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .backup import open_db
from .errors import CliError
from .options import DataDirOpt, resolve_data_dir

app = typer.Typer(help="Secrets: the master key that protects them.", no_args_is_help=True)

NEW_ENV = "KODIAK_NEW_MASTER_KEY"


@app.command("rotate-master-key")
def rotate_master_key(
    ctx: typer.Context,
    data_dir: DataDirOpt = None,
    master_key_file: Annotated[Path | None, typer.Option(
        help="File holding the current master key (else KODIAK_MASTER_KEY); mode 600.")
    ] = None,
    new_master_key_file: Annotated[Path | None, typer.Option(
        help=f"File holding the new master key (else {NEW_ENV}); mode 600.")] = None,
) -> None:
    """Re-wrap the database's data-encryption key under a new master key."""
    from ..sql.secrets import keyring

    target = resolve_data_dir(ctx, data_dir)
    try:
        old = keyring.source_from(master_key_file)
        new = keyring.source_from(new_master_key_file, NEW_ENV)
    except keyring.MasterKeyError as e:
        raise CliError(str(e), 2) from None
    if new.fingerprint == old.fingerprint:
        raise CliError("the new master key is the current one", 2)
    db = open_db(target, "secrets rotate-master-key")
    try:
        changed = keyring.rotate_master_key(db, old, new)
    except keyring.MasterKeyError as e:
        raise CliError(str(e)) from None
    finally:
        db.close()
    typer.echo("master key rotated: the secrets key is now wrapped by the new master key"
               if changed else "no secrets are stored: nothing to rotate")
