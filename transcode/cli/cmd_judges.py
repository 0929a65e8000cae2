"""`transcode judges`: the people of a study (judges, auditors, leads) and who codes which case."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import typer
from rich.table import Table

from transcode.cli.common import (
    DEFAULT_DB,
    ByOption,
    DbOption,
    JsonOption,
    done,
    emit_json,
    err_console,
    opened_store,
    out_console,
)

judges_app = typer.Typer(
    help="The people of a study: add judges, auditors and leads; assign judges to cases.",
    no_args_is_help=True,
)

NamesArgument = Annotated[list[str], typer.Argument(help="The judges' names.")]
CasesOption = Annotated[
    list[str] | None, typer.Option("--case", help="A case (repeatable); without --case, every case.")
]


@judges_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The person's name, as they give it with --judge.")],
    role: Annotated[str, typer.Option("--role", help="judge, auditor or lead.")] = "judge",
    db_role: Annotated[
        str | None,
        typer.Option(
            "--db-role",
            help="PostgreSQL: the database role this person connects as (row-level security reads it).",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Register a person. On PostgreSQL, run it as the study's owner: it grants their role its rights."""
    from transcode.coding import people

    with opened_store(db) as store:
        person = people.add_person(store, name, role, db_role)
        postgres = store.db_user() is not None
    done(as_json, person._asdict(), f"{person.name} is now {people.with_article(person.role)} of this study")
    if postgres and not person.db_role and not as_json:
        err_console.print(
            f"note: {person.name} has no database role of their own, so row-level security cannot tell "
            "them apart; give each judge one (--db-role) and have them connect as it",
            highlight=False,
            markup=False,
        )


@judges_app.command("list")
def list_command(db: DbOption = DEFAULT_DB, as_json: JsonOption = False):
    """Everyone registered, their role and database role, and the cases they are assigned (✓ finished)."""
    with opened_store(db) as store:
        people = store.judges()
        assigned: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for a in store.assignments():
            assigned[a.judge].append((a.case, a.finished))
    if as_json:
        emit_json(
            {
                "judges": [
                    {**p._asdict(), "cases": {case: finished for case, finished in assigned[p.name]}}
                    for p in people
                ]
            }
        )
        return
    table = Table(title="people of this study")
    for column in ("name", "role", "database role", "cases (✓ finished)"):
        table.add_column(column)
    for p in people:
        cases = " ".join(f"{case}{' ✓' if finished else ''}" for case, finished in assigned[p.name])
        table.add_row(p.name, p.role, p.db_role or "-", cases or "-")
    out_console.print(table)


@judges_app.command("assign")
def assign_command(
    names: NamesArgument,
    case: CasesOption = None,
    by: ByOption = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """A lead assigns judges to cases: each codes them blind, and consensus waits for all of them."""
    from transcode.coding import people

    with opened_store(db) as store:
        added = people.assign(store, names, case, by or "")
    done(as_json, {"assigned": added}, f"{added} new assignment(s)")


@judges_app.command("unassign")
def unassign_command(
    names: NamesArgument,
    case: CasesOption = None,
    by: ByOption = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """A lead takes judges off cases (their codes stay in the store)."""
    from transcode.coding import people

    with opened_store(db) as store:
        removed = people.unassign(store, names, case, by or "")
    done(as_json, {"unassigned": removed}, f"{removed} assignment(s) removed")


def register(app: typer.Typer) -> None:
    app.add_typer(judges_app, name="judges")
