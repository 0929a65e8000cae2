"""`transcode comment`: auditors comment on a unit, core idea or category; the team replies and settles.

The same comment API as the coding room's audit screen (:mod:`transcode.coding.audit`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from transcode.cli.common import (
    DEFAULT_DB,
    MAX_ID,
    DbOption,
    JsonOption,
    done,
    emit_json,
    opened_store,
    out_console,
)
from transcode.errors import InputError


def comment_command(
    target_type: Annotated[str, typer.Argument(help="unit, core_idea or category.")],
    target_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="Its id.")],
    text: Annotated[str | None, typer.Option("--text", help="The comment (omit to show the thread).")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Who writes it: a registered person.")] = None,
    reply_to: Annotated[
        int | None, typer.Option("--reply-to", help="Answer this comment (the team).")
    ] = None,
    resolution: Annotated[
        str | None, typer.Option("--resolution", help="With --reply-to: accepted or rejected.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Auditors comment on a unit, core idea or category; the team replies and settles each comment."""
    from transcode.coding import audit

    with opened_store(db, person=judge, doing="commenting") as store:
        if text is None:
            if judge or reply_to or resolution:
                raise InputError("--judge, --reply-to and --resolution go with --text")
            thread = [c.as_dict() for c in audit.thread(store, target_type, target_id)]
            if as_json:
                emit_json({"target_type": target_type, "target_id": target_id, "comments": thread})
            else:
                for c in thread:
                    answer = f" (reply to #{c['reply_to']})" if c["reply_to"] else ""
                    verdict = f" [{c['resolution']}: {c['rationale']}]" if c["resolution"] else ""
                    out_console.print(
                        f"#{c['id']} {c['author']} ({c['role']}){answer}: {c['text']}{verdict}",
                        highlight=False,
                        markup=False,
                    )
            return
        if not judge:
            raise InputError("--judge NAME is required to comment")
        comment_id = audit.comment(
            store, target_type, target_id, judge, text, reply_to=reply_to, resolution=resolution
        )
    done(
        as_json,
        {"id": comment_id, "reply_to": reply_to, "resolution": resolution},
        f"comment {comment_id} saved",
    )


def register(app: typer.Typer) -> None:
    app.command("comment")(comment_command)
