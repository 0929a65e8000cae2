"""Discover command modules: every ``transcode/cli/cmd_*.py`` exposes ``register(app)``.

Discovery keeps each command in its own module, so adding one never edits a
shared list.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import transcode.cli as cli_package


def register(app: typer.Typer) -> None:
    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"transcode.cli.{info.name}").register(app)
