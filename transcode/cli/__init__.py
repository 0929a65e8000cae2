"""The ``transcode`` command: a thin Typer layer over the library.

Each command lives in its own module under ``transcode/cli/``; this module
only assembles them and turns :class:`InputError` into one line on stderr and
exit code 2, as the contract requires.
"""

from __future__ import annotations

import sys

import typer

from transcode.transcript import InputError

app = typer.Typer(
    name="transcode",
    help="CQR coding engine: ingest, de-identify, split, pre-code, code, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from transcode.cli import commands

    commands.register(app)


def main() -> None:
    _register()
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except InputError as err:
        print(f"transcode: error: {err}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        print("transcode: aborted", file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # click usage errors carry their own exit code
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
