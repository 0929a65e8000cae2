"""``transcode code``: open the coding room (independent coding, ``--consensus`` or ``--audit``)."""

from __future__ import annotations

from typing import Annotated, cast

import typer

from transcode.cli.common import DEFAULT_DB, DbOption, opened_store
from transcode.coding.codes import ORDERS, Order
from transcode.errors import InputError


def code(
    db: DbOption = DEFAULT_DB,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            help="Your name: the judge coding, the team member recording consensus, or the auditor.",
        ),
    ] = None,
    order: Annotated[
        str,
        typer.Option(
            "--order", help="Queue order: transcript or uncertainty (least certain proposals first)."
        ),
    ] = "transcript",
    case: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
    consensus: Annotated[
        bool, typer.Option("--consensus", help="Resolve the judges' disagreements.")
    ] = False,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit", help="Comment on consensus codes and core ideas (auditors), or answer comments (team)."
        ),
    ] = False,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Use stored proposals only; no background retraining.")
    ] = False,
    fast: Annotated[
        bool, typer.Option("--fast", help="Retrain with the static (model2vec) encoder.")
    ] = False,
    unlock: Annotated[
        bool,
        typer.Option(
            "--unlock",
            help="With --consensus: a lead (--judge) also opens cases still in independent coding; logged.",
        ),
    ] = False,
) -> None:
    """Code thought units with the keyboard; every decision is saved before the screen moves on.

    A judge codes the cases assigned to them while those are in independent coding, and sees
    only their own codes; --consensus works on the cases a lead has opened for consensus, --audit
    on the cases in audit. With --consensus --unlock, a lead (--judge) opens cases still in
    independent coding too; the trail records it.
    """
    from transcode.tui.app import TranscodeApp

    if consensus and audit:
        raise InputError("choose one of --consensus and --audit")
    if order not in ORDERS:
        raise InputError(f"--order must be transcript or uncertainty, not {order!r}")
    mode = "consensus" if consensus else "audit" if audit else "code"

    def encoder():
        from transcode.embed import make_encoder

        return make_encoder(fast=fast)

    with opened_store(db) as store:  # an error about the store names it
        app = TranscodeApp(
            store,
            mode=mode,
            judge=judge,
            order=cast(Order, order),
            case=case,
            use_model=not no_model,
            encoder_factory=encoder,
            unlock=unlock,
        )
        app.run()


def register(app: typer.Typer) -> None:
    app.command("code")(code)
