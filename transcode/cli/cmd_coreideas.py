"""`transcode coreideas`: core ideas per case x domain (draft, write, revise, accept, agree, import).

Judges write core ideas per case x domain; transcode can draft one, marked as a
machine draft that is never counted until a person accepts it. `transcode cross`
without files then counts the consensus versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from transcode.cli.common import (
    DEFAULT_DB,
    CaseOption,
    DbOption,
    DomainOption,
    FastOption,
    IdeaArgument,
    JsonOption,
    JudgeOption,
    done,
    emit_json,
    err_console,
    opened_store,
    out_console,
)
from transcode.errors import InputError
from transcode.files import read_jsonl

coreideas_app = typer.Typer(
    help="Core ideas per case x domain: draft, write, revise, accept, agree.", no_args_is_help=True
)


def _idea_table(versions, title: str) -> Table:
    table = Table(title=title, expand=True)
    table.add_column("id", no_wrap=True)
    table.add_column("case", no_wrap=True)
    table.add_column("domain", overflow="fold", ratio=1)
    table.add_column("status", overflow="fold", ratio=1)
    table.add_column("core idea (units; categories)", overflow="fold", ratio=4)
    for v in versions:
        status = "MACHINE DRAFT" if v.status == "machine_draft" else v.status
        if v.counted:
            status += ", counted"
        if v.superseded_by is not None:
            status += f", revised by {v.superseded_by}"
        links = " ".join(v.units) + (
            "; categories " + " ".join(map(str, v.categories)) if v.categories else ""
        )
        author = f" ({v.author})" if v.author else ""
        table.add_row(
            str(v.id),
            Text(v.case),
            Text(v.domain),
            status,
            f"{escape(v.text + author)}\n[dim]{escape(links)}[/]",
        )
    return table


@coreideas_app.command("units")
def units_command(
    case: CaseOption, domain: DomainOption, db: DbOption = DEFAULT_DB, as_json: JsonOption = False
):
    """The confirmed units of a case in a domain: what its core ideas summarise."""
    from transcode.analysis import core_ideas as ideas

    with opened_store(db) as store:
        units = ideas.confirmed_units(store, case, domain)
    if as_json:
        emit_json({"case": case, "domain": domain, "units": [{"unit": u.key, "text": u.text} for u in units]})
        return
    table = Table(title=Text(f"case {case} · {domain}: {len(units)} confirmed unit(s)"))
    table.add_column("unit")
    table.add_column("text", overflow="fold")
    for u in units:
        table.add_row(Text(u.key), escape(u.text))
    out_console.print(table)


@coreideas_app.command("draft")
def draft_command(
    case: CaseOption,
    domain: DomainOption,
    max_sentences: Annotated[int, typer.Option("--max-sentences", min=1, help="Sentences to pick.")] = 2,
    method: Annotated[str, typer.Option("--method", help="tfidf (fast) or embedding centrality.")] = "tfidf",
    fast: FastOption = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Draft a core idea from the confirmed units (extractive); stored as a MACHINE DRAFT, never counted."""
    from transcode.analysis import core_ideas as ideas
    from transcode.analysis.drafts import draft_core_idea
    from transcode.embed import make_encoder

    if method not in ("tfidf", "embedding"):
        raise InputError(f"--method {method}: choose tfidf or embedding")
    with opened_store(db) as store:
        units = ideas.confirmed_units(store, case, domain)
        if not units:
            raise InputError(f"case {case} has no confirmed units in {domain}")
        encode = make_encoder(fast=fast).encode if method == "embedding" else None
        draft = draft_core_idea([(u.key, u.text) for u in units], max_sentences=max_sentences, encode=encode)
        idea_id = ideas.save_machine_draft(store, case, domain, draft.text, list(draft.units))
    if as_json:
        emit_json(
            {"id": idea_id, "case": case, "domain": domain, "status": "machine_draft", **draft.as_dict()}
        )
        return
    err_console.print(f"[bold yellow]{draft.label}[/] (core idea {idea_id})")
    out_console.print(draft.text, highlight=False, markup=False)
    err_console.print(
        f"from units {', '.join(draft.units)}; "
        f"accept with `transcode coreideas accept {idea_id} --judge NAME`",
        highlight=False,
        markup=False,
    )


@coreideas_app.command("add")
def add_command(
    case: CaseOption,
    domain: DomainOption,
    text: Annotated[str, typer.Option("--text", help="The core idea, in the team's words.")],
    unit: Annotated[list[str], typer.Option("--unit", help="A unit it summarises (repeatable).")],
    judge: JudgeOption,
    consensus: Annotated[
        bool, typer.Option("--consensus", help="Mark it the consensus version now.")
    ] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Write a core idea for a case x domain, linked to the units it summarises."""
    from transcode.analysis import core_ideas as ideas

    with opened_store(db, person=judge, doing="writing core ideas") as store:
        idea_id = ideas.add_core_idea(store, case, domain, text, unit, judge, consensus=consensus)
    done(
        as_json,
        {"id": idea_id, "status": "consensus" if consensus else "draft"},
        f"core idea {idea_id} saved",
    )


@coreideas_app.command("revise")
def revise_command(
    idea: IdeaArgument,
    text: Annotated[str, typer.Option("--text", help="The new wording.")],
    judge: JudgeOption,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="Replace the linked units.")] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """A new version of a core idea; the old version stays in its history."""
    from transcode.analysis import core_ideas as ideas

    with opened_store(db, person=judge, doing="writing core ideas") as store:
        new_id = ideas.revise_core_idea(store, idea, text, judge, unit or None)
    done(
        as_json,
        {"id": new_id, "supersedes": idea, "status": "draft"},
        f"core idea {new_id} supersedes {idea}",
    )


@coreideas_app.command("accept")
def accept_command(
    idea: IdeaArgument,
    judge: JudgeOption,
    text: Annotated[
        str | None, typer.Option("--text", help="Your edited wording (default: as drafted).")
    ] = None,
    consensus: Annotated[
        bool, typer.Option("--consensus", help="Mark it the consensus version now.")
    ] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Take a machine draft as a person's version (the draft itself is never counted)."""
    from transcode.analysis import core_ideas as ideas

    with opened_store(db, person=judge, doing="writing core ideas") as store:
        new_id = ideas.accept_machine_draft(store, idea, judge, text, consensus=consensus)
    status = "consensus" if consensus else "draft"
    done(
        as_json,
        {"id": new_id, "supersedes": idea, "status": status},
        f"core idea {new_id} ({status}) by {judge}",
    )


@coreideas_app.command("consensus")
def consensus_command(idea: IdeaArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False):
    """Mark the current version of a core idea as the team's consensus."""
    from transcode.analysis import core_ideas as ideas

    with opened_store(db) as store:
        ideas.mark_consensus(store, idea)
    done(as_json, {"id": idea, "status": "consensus"}, f"core idea {idea} is the consensus version")


@coreideas_app.command("list")
def list_command(
    case: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only this domain.")] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Show superseded versions too.")
    ] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Core ideas: current versions, which one counts, machine drafts marked."""
    from transcode.analysis import core_ideas as ideas

    with opened_store(db) as store:
        versions = ideas.core_ideas(store, case, domain, all_versions=all_versions)
    if as_json:
        emit_json({"core_ideas": [v.as_dict() for v in versions]})
        return
    out_console.print(_idea_table(versions, f"{len(versions)} core idea version(s)"))


@coreideas_app.command("history")
def history_command(idea: IdeaArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False):
    """Every version of a core idea, oldest first, with the audit comments on each."""
    from transcode.analysis import core_ideas as ideas
    from transcode.coding import audit

    with opened_store(db) as store:
        versions = ideas.history(store, idea)
        threads = {v.id: [c.as_dict() for c in audit.thread(store, "core_idea", v.id)] for v in versions}
    if as_json:
        emit_json({"versions": [{**v.as_dict(), "comments": threads[v.id]} for v in versions]})
        return
    out_console.print(_idea_table(versions, f"history of core idea {idea}"))
    for version_id, thread in threads.items():
        for c in thread:
            verdict = f" [{c['resolution']}]" if c["resolution"] else ""
            out_console.print(
                f"  #{c['id']} on {version_id} by {c['author']} ({c['role']}){verdict}: {c['text']}",
                highlight=False,
                markup=False,
            )


@coreideas_app.command("import")
def import_core_ideas_command(
    path: Annotated[Path, typer.Argument(help="JSONL: {id, case, domain, text, units, categories?}.")],
    judge: JudgeOption,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Load core ideas (consensus unless a record says draft) in one transaction."""
    from transcode.analysis import core_ideas as ideas

    records = read_jsonl(path)
    with opened_store(db, person=judge, doing="writing core ideas") as store:
        try:
            created = ideas.import_core_ideas(store, records, judge)
        except InputError as err:
            raise err.at(path=str(path)) from None
    done(as_json, {"imported": len(created), "ids": created}, f"imported {len(created)} core idea(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(coreideas_app, name="coreideas")
