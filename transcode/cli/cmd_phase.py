"""`transcode phase`: each case's study phase (independent, consensus, audit, closed), moved by a lead."""

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
    emit_json,
    err_console,
    opened_store,
    out_console,
)
from transcode.errors import InputError


def phase_command(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            help="CASE PHASE (or PHASE with --all): independent, consensus, audit or closed. "
            "Nothing: show every case's phase."
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Move every case (those already there stay).")] = False,
    by: ByOption = None,
    override: Annotated[
        bool,
        typer.Option(
            "--override",
            help="Go ahead although judges have not finished, or skip / go back a phase; the trail says so.",
        ),
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the trail).")] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Show or move cases through the study's phases; opening consensus shows each case's calibration.

    independent -> consensus -> audit -> closed, one step at a time. Opening consensus needs
    every judge assigned to the case to have finished it.
    """
    from transcode.coding import phases
    from transcode.coding.calibration import calibration
    from transcode.tui import widgets

    words = words or []
    if not words:
        if every or by or override or reason:
            raise InputError("give the phase to move to: `transcode phase CASE PHASE --by LEAD`")
        _show(db, as_json)
        return
    if every and len(words) != 1:
        raise InputError("with --all give only the phase: `transcode phase --all consensus --by LEAD`")
    if not every and len(words) != 2:
        raise InputError("give a case and a phase: `transcode phase CASE PHASE --by LEAD` (or --all PHASE)")
    phase = phases.check_phase(words[-1])
    cases = None if every else [words[0]]
    with opened_store(db) as store:
        changes = phases.switch(store, cases, phase, by or "", override=override, reason=reason)
        opened = [c.case for c in changes if c.after == phases.CONSENSUS]
        summaries = calibration(store, opened) if opened else {}
    if as_json:
        emit_json({"changes": [c.as_dict() for c in changes], "calibration": summaries})
        return
    if not changes:
        err_console.print(f"nothing to move: every case is already in {phase}", highlight=False, markup=False)
    for c in changes:
        overridden = f" (override: {'; '.join(c.overridden)})" if c.overridden else ""
        err_console.print(
            f"case {c.case}: {c.before} -> {c.after}{overridden}", highlight=False, markup=False
        )
    for summary in summaries.values():
        out_console.print(widgets.calibration_text(summary))
        out_console.print()


def _show(db: str, as_json: bool) -> None:
    with opened_store(db) as store:
        current = store.case_phases()
        assigned: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for a in store.assignments():
            assigned[a.case].append((a.judge, a.finished))
    if as_json:
        emit_json(
            {
                "cases": {
                    case: {"phase": phase, "judges": dict(assigned[case])} for case, phase in current.items()
                }
            }
        )
        return
    table = Table(title="study phases")
    for column in ("case", "phase", "judges (✓ finished)"):
        table.add_column(column)
    for case, phase in current.items():
        judges = " ".join(f"{judge}{' ✓' if finished else ''}" for judge, finished in assigned[case])
        table.add_row(case, phase, judges or "-")
    out_console.print(table)


def register(app: typer.Typer) -> None:
    app.command("phase")(phase_command)
