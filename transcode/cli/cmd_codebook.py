"""`transcode codebook show|diff|apply`: the domain list changes while the team codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from transcode.cli.common import (
    DEFAULT_DB,
    ByOption,
    DbOption,
    JsonOption,
    done,
    emit_json,
    opened_store,
    out_console,
)
from transcode.errors import InputError

codebook_app = typer.Typer(
    help="The codebook in the store: show it, see what a new one changes, apply it "
    "(rename, merge, split, retire domains without losing a code).",
    no_args_is_help=True,
)

FileArgument = Annotated[Path, typer.Argument(help="The new codebook (YAML, docs/formats.md section 2).")]
RenameOption = Annotated[list[str] | None, typer.Option("--rename", help="OLD=NEW: a domain's new id.")]
MergeOption = Annotated[
    list[str] | None,
    typer.Option("--merge", help="A,B=C: two or more domains become one (C new, or one of them)."),
]
SplitOption = Annotated[
    list[str] | None,
    typer.Option("--split", help="A=B,C: A becomes B and C; its units are queued for recoding."),
]
RetireOption = Annotated[
    list[str] | None,
    typer.Option("--retire", help="A: its codes stay in history, no longer counted or shown."),
]


@contextmanager
def _about(file: Path) -> Iterator[None]:
    """Errors about the request name the new codebook's file."""
    try:
        yield
    except InputError as err:
        raise err.at(path=err.path or str(file)) from None


def _operations(renames, merges, splits, retires):
    from transcode.codebook_changes import parse_operations

    return parse_operations(renames or [], merges or [], splits or [], retires or [])


@codebook_app.command("show")
def show_command(db: DbOption = DEFAULT_DB, as_json: JsonOption = False):
    """The current version: per domain, judges' codes (cases past independent) and consensus codes."""
    from transcode.coding import codebook_ops

    with opened_store(db) as store:
        view = codebook_ops.show(store)
    if as_json:
        emit_json(view.as_dict())
        return
    table = Table(title=Text(f"{view.name} (codebook v{view.version})"))
    for column in ("domain", "name", "judges' codes", "consensus codes"):
        table.add_column(column, justify="right" if "codes" in column else "left")
    for d in view.domains:
        table.add_row(Text(d.id), Text(d.name), str(d.judge_codes), str(d.consensus_codes))
    out_console.print(table)
    if view.blind_cases:
        out_console.print(
            f"judges' codes in the {view.blind_cases} case(s) still in independent coding "
            "are not counted here",
            markup=False,
        )
    for domain, n in view.recode.items():
        out_console.print(f"{n} unit(s) once {domain} wait for the team to recode them", markup=False)
    for entry in view.history:
        ops = "; ".join(f"{o['op']} {','.join(o['from'])}" + (f" -> {','.join(o['to'])}" if o["to"] else "")
                        for o in entry["operations"])  # fmt: skip
        by = f" by {entry['by']}" if entry["by"] else ""
        out_console.print(
            f"v{entry['version']} {entry['time'][:19]}{by}: {ops or 'given whole'}", markup=False
        )


@codebook_app.command("diff")
def diff_command(
    file: FileArgument,
    by: ByOption = None,
    rename: RenameOption = None,
    merge: MergeOption = None,
    split: SplitOption = None,
    retire: RetireOption = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """What the new codebook would change: added, removed, likely renames, and every orphaned code.

    It counts every judge's codes, so a lead runs it (--by LEAD)."""
    from transcode.codebook import load_codebook
    from transcode.coding import codebook_ops, people

    with _about(file):
        new = load_codebook(file)
        operations = _operations(rename, merge, split, retire)
    with opened_store(db) as store:
        people.require(store, by, people.LEAD, doing="comparing codebooks")
        with _about(file):
            result = codebook_ops.plan(store, new, operations)
    if as_json:
        emit_json(result.as_dict())
        return
    lines = [f"added: {', '.join(result.added) or '-'}", f"removed: {', '.join(result.removed) or '-'}"]
    lines += [f"looks renamed: {a} -> {b} (--rename {a}={b})" for a, b in result.renamed]
    lines += [f"changed: {', '.join(result.changed)}"] if result.changed else []
    for domain, counts in result.orphaned.items():
        held = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        lines.append(f"orphaned: {domain} ({held})")
    if not result.orphaned:
        lines.append("no code would be orphaned")
    for line in lines:
        out_console.print(line, markup=False, highlight=False)


@codebook_app.command("apply")
def apply_command(
    file: FileArgument,
    by: ByOption = None,
    rename: RenameOption = None,
    merge: MergeOption = None,
    split: SplitOption = None,
    retire: RetireOption = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Make the new codebook the current version, every code following the operations; one transaction.

    Refused, naming them, while a code would be orphaned that no operation covers."""
    from transcode.codebook import load_codebook
    from transcode.coding import codebook_ops

    with _about(file):
        new = load_codebook(file)
        operations = _operations(rename, merge, split, retire)
    with opened_store(db) as store, _about(file):
        applied = codebook_ops.apply(store, new, operations, by or "")
    summary = "; ".join(
        f"{o['op']} {','.join(o['from'])}" + (f" -> {','.join(o['to'])}" if o["to"] else "")
        + " (" + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in o["moved"].items() if n) + ")"
        for o in applied.operations
    )  # fmt: skip
    done(as_json, applied.as_dict(), f"codebook v{applied.version}: {summary or 'no domain moved'}")


def register(app: typer.Typer) -> None:
    app.add_typer(codebook_app, name="codebook")
