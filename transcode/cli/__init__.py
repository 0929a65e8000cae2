"""The ``transcode`` command: a thin Typer layer over the library.

Each command lives in its own module under ``transcode/cli/``; this module only
assembles them and turns every failure into what the contract promises: a
:class:`~transcode.errors.TranscodeError` becomes one line on stderr and its exit
code (2 for bad input), a usage error the usage line, one error line and exit 2,
and anything unexpected one line and exit 1, never a traceback (set
``TRANSCODE_DEBUG=1`` to see it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from transcode.errors import TranscodeError

PROG = "transcode"
DEBUG_ENV = "TRANSCODE_DEBUG"

app = typer.Typer(
    name=PROG,
    help="CQR coding engine: ingest, de-identify, split, pre-code, code, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        from transcode.cli import commands

        commands.register(app)
        _registered = True


#: Options and environment variables whose values are secret, or hold one (a database password).
_SECRET_OPTIONS = ("--db", "--key-passphrase")
_SECRET_ENV = ("TRANSCODE_DB", "TRANSCODE_KEY_PASSPHRASE")


def _secrets(args: Sequence[str]) -> list[tuple[str, str]]:
    """What to mask in this run's messages, as (text, replacement) pairs: a database password where
    a URL holds it (``:PASSWORD@``, ``password=PASSWORD``), as typed and as quoted, and a key
    passphrase (at least 8 characters) anywhere. In context only, so that a password which is
    also a common word does not blank that word out of every message."""
    from urllib.parse import quote, unquote

    values = [os.environ.get(name, "") for name in _SECRET_ENV]
    for index, arg in enumerate(args):
        option, equals, inline = arg.partition("=")
        if option in _SECRET_OPTIONS:
            values.append(inline if equals else (args[index + 1] if index + 1 < len(args) else ""))
    found: set[tuple[str, str]] = set()
    for value in filter(None, values):
        if "://" not in value:
            if len(value) >= 8:
                found.add((value, "***"))
            continue
        userinfo = value.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
        password = userinfo.partition(":")[2]
        for form in filter(None, {password, unquote(password), quote(unquote(password), safe="")}):
            found.add((f":{form}@", ":***@"))
        for pair in value.partition("?")[2].split("&"):
            key, _, secret = pair.partition("=")
            if "password" in key.lower() and secret:
                found.update({(f"={secret}", "=***"), (f"={unquote(secret)}", "=***")})
    return sorted(found, key=lambda pair: len(pair[0]), reverse=True)


def _one_line(text: str, secrets: Sequence[tuple[str, str]] = ()) -> str:
    """One line for the user, with any secret this run was given masked (a safety net: messages
    already name stores by their public URL)."""
    line = " ".join(str(text).split())
    for secret, mask in secrets:
        line = line.replace(secret, mask)
    return line


def _usage_error(err: typer.TyperException, secrets: Sequence[tuple[str, str]]) -> int:
    """Click's usage errors (Typer bundles its own click, so these are TyperExceptions)."""
    message = _one_line(err.format_message(), secrets)
    if not message:  # a command group called bare: Typer has printed its help already
        return 2
    ctx = getattr(err, "ctx", None)
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
        hint = f" (see '{ctx.command_path} --help')"
    else:
        hint = ""
    print(f"{PROG}: error: {message}{hint}", file=sys.stderr)
    return int(getattr(err, "exit_code", 2) or 2)


def run(args: Sequence[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``); the exit code, nothing raised."""
    _register()
    args = list(args) if args is not None else sys.argv[1:]
    secrets = _secrets(args)
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of exiting.
        code = app(args=args, prog_name=PROG, standalone_mode=False)
        return code if isinstance(code, int) else 0
    except TranscodeError as err:
        print(f"{PROG}: error: {_one_line(str(err), secrets)}", file=sys.stderr)
        return err.exit_code
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        print(f"{PROG}: aborted", file=sys.stderr)
        return 1
    except typer.TyperException as err:
        return _usage_error(err, secrets)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if os.environ.get(DEBUG_ENV):
            raise
        name = type(err).__name__
        print(
            f"{PROG}: internal error: {name}: {_one_line(str(err), secrets)} "
            f"(a bug: please report it; {DEBUG_ENV}=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


def main() -> None:
    sys.exit(run())
