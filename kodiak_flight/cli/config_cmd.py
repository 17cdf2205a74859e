"""``kodiak config``: every setting, its value and where it came from."""

from __future__ import annotations

import typer

from ..config import SETTINGS
from .options import load_config


def config_cmd(ctx: typer.Context) -> None:
    """Show every setting, its value and where it came from (flag/env/file/default)."""
    from rich.table import Table

    from ..render import make_console

    cfg = load_config(ctx)
    t = Table(title=f"config file: {cfg.path or 'none'}")
    for col in ("setting", "value", "from", "environment variable"):
        t.add_column(col)
    for key, setting in SETTINGS.items():
        value = cfg.get(key)
        shown = "***" if key == "password" and value else ("" if value is None else str(value))
        t.add_row(key, shown, cfg.source(key), setting.env)
    make_console().print(t)
