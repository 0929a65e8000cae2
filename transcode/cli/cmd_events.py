"""`transcode events`: the study's trail: phase changes, unlocks, people added and assigned, settings."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from transcode.cli.common import DEFAULT_DB, DbOption, JsonOption, emit_json, opened_store, out_console


def events_command(
    case: Annotated[str | None, typer.Option("--case", help="Only this case's events.")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (phase, unlock, judge_added, assigned, ...).")
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """The trail of who did what and when (append-only), oldest first."""
    with opened_store(db) as store:
        events = store.events(case=case, kind=kind)
    if as_json:
        emit_json({"events": [e.as_dict() for e in events]})
        return
    table = Table(title="events")
    for column in ("#", "time (UTC)", "who", "what", "case", "details"):
        table.add_column(column, overflow="fold")
    for e in events:
        who = e.actor or "-"
        if e.db_user:
            who += f" ({e.db_user})"
        table.add_row(
            str(e.id),
            e.time.strftime("%Y-%m-%d %H:%M:%S"),
            who,
            e.kind,
            e.case or "-",
            json.dumps(e.details, ensure_ascii=False),
        )
    out_console.print(table)


def register(app: typer.Typer) -> None:
    app.command("events")(events_command)
