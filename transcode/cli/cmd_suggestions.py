"""`transcode suggestions`: when judges coding independently see the model's proposals."""

from __future__ import annotations

from typing import Annotated

import typer

from transcode.cli.common import DEFAULT_DB, ByOption, DbOption, JsonOption, done, opened_store


def suggestions_command(
    setting: Annotated[
        str | None,
        typer.Argument(help="visible, after-first-choice (the default) or hidden; nothing: show it."),
    ] = None,
    by: ByOption = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Show or set (a lead) when the model's suggestions appear during independent coding.

    after-first-choice: the unit and question first; the suggestion appears after the judge's
    first choice on the unit, or when they press s. Every decision records whether it was shown.
    """
    from transcode.coding import suggestions

    with opened_store(db) as store:
        if setting is None:
            current = suggestions.mode(store)
            done(as_json, {"suggestions": current}, f"suggestions: {current}")
            return
        before = suggestions.set_mode(store, setting, by or "")
    done(as_json, {"suggestions": setting, "before": before}, f"suggestions: {before} -> {setting}")


def register(app: typer.Typer) -> None:
    app.command("suggestions")(suggestions_command)
