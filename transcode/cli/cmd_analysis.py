"""`transcode coreideas`, `transcode categories` and `transcode comment`: the analysis after domaining.

Judges write core ideas per case x domain (transcode can draft one, marked as a
machine draft), mark the consensus version, build categories per domain (with
clustering to propose them) and code core ideas into them; auditors comment and
the team answers. `transcode cross` without files then reads the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from transcode.cli.common import DEFAULT_DB, DbOption, JsonOption, emit_json, err_console, out_console
from transcode.errors import InputError
from transcode.files import read_jsonl, read_yaml

coreideas_app = typer.Typer(
    help="Core ideas per case x domain: draft, write, revise, accept, agree.", no_args_is_help=True
)
categories_app = typer.Typer(
    help="Cross-analysis categories per domain: propose, add, code, reshape.", no_args_is_help=True
)

CaseOption = Annotated[str, typer.Option("--case", help="Case id.")]
DomainOption = Annotated[str, typer.Option("--domain", help="Domain id from the codebook.")]
JudgeOption = Annotated[str, typer.Option("--judge", help="Who decides (kept in the store).")]
IdeaArgument = Annotated[int, typer.Argument(help="Core idea id (see `transcode coreideas list`).")]
FastOption = Annotated[bool, typer.Option("--fast", help="Use the fast static embedding model.")]


@contextmanager
def _store(db: str) -> Iterator:
    """Open the store; errors about what was asked become one line naming the store, exit 2."""
    from transcode.errors import StoreError
    from transcode.store import open_store

    store = open_store(db)
    try:
        yield store
    except InputError as err:
        raise InputError(err.message, err.path or db, err.line) from None
    except StoreError as err:
        raise InputError(str(err), db) from None
    finally:
        store.close()


def _encoder(fast: bool):
    from transcode.embed import make_encoder

    return make_encoder(fast=fast)


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
            str(v.id), v.case, v.domain, status, f"{escape(v.text + author)}\n[dim]{escape(links)}[/]"
        )
    return table


def _done(as_json: bool, document: dict, message: str) -> None:
    if as_json:
        emit_json(document)
    else:
        err_console.print(message, highlight=False, markup=False)


# -- coreideas ------------------------------------------------------------------------------------
@coreideas_app.command("units")
def units_command(
    case: CaseOption, domain: DomainOption, db: DbOption = DEFAULT_DB, as_json: JsonOption = False
):
    """The confirmed units of a case in a domain: what its core ideas summarise."""
    from transcode.store import analysis

    with _store(db) as store:
        units = analysis.confirmed_units(store, case, domain)
    if as_json:
        emit_json({"case": case, "domain": domain, "units": [{"unit": u.key, "text": u.text} for u in units]})
        return
    table = Table(title=f"case {case} · {domain}: {len(units)} confirmed unit(s)")
    table.add_column("unit")
    table.add_column("text", overflow="fold")
    for u in units:
        table.add_row(u.key, escape(u.text))
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
    from transcode.coreideas import draft_core_idea
    from transcode.store import analysis

    if method not in ("tfidf", "embedding"):
        raise InputError(f"--method {method}: choose tfidf or embedding")
    with _store(db) as store:
        units = analysis.confirmed_units(store, case, domain)
        if not units:
            raise InputError(f"case {case} has no confirmed units in {domain}")
        encode = _encoder(fast).encode if method == "embedding" else None
        draft = draft_core_idea([(u.key, u.text) for u in units], max_sentences=max_sentences, encode=encode)
        idea_id = analysis.save_machine_draft(store, case, domain, draft.text, list(draft.units))
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
    from transcode.store import analysis

    with _store(db) as store:
        idea_id = analysis.add_core_idea(store, case, domain, text, unit, judge, consensus=consensus)
    _done(
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
    from transcode.store import analysis

    with _store(db) as store:
        new_id = analysis.revise_core_idea(store, idea, text, judge, unit or None)
    _done(
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
    from transcode.store import analysis

    with _store(db) as store:
        new_id = analysis.accept_machine_draft(store, idea, judge, text, consensus=consensus)
    status = "consensus" if consensus else "draft"
    _done(
        as_json,
        {"id": new_id, "supersedes": idea, "status": status},
        f"core idea {new_id} ({status}) by {judge}",
    )


@coreideas_app.command("consensus")
def consensus_command(idea: IdeaArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False):
    """Mark the current version of a core idea as the team's consensus."""
    from transcode.store import analysis

    with _store(db) as store:
        analysis.mark_consensus(store, idea)
    _done(as_json, {"id": idea, "status": "consensus"}, f"core idea {idea} is the consensus version")


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
    from transcode.store import analysis

    with _store(db) as store:
        versions = analysis.core_ideas(store, case, domain, all_versions=all_versions)
    if as_json:
        emit_json({"core_ideas": [v.as_dict() for v in versions]})
        return
    out_console.print(_idea_table(versions, f"{len(versions)} core idea version(s)"))


@coreideas_app.command("history")
def history_command(idea: IdeaArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False):
    """Every version of a core idea, oldest first, with the audit comments on each."""
    from transcode.store import analysis

    with _store(db) as store:
        versions = analysis.history(store, idea)
        threads = {v.id: analysis.comment_thread(store, "core_idea", v.id) for v in versions}
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
    from transcode.store import analysis

    records = read_jsonl(path)
    with _store(db) as store:
        try:
            created = analysis.import_core_ideas(store, records, judge)
        except InputError as err:
            raise InputError(err.message, str(path), err.line) from None
    _done(as_json, {"imported": len(created), "ids": created}, f"imported {len(created)} core idea(s)")


# -- categories ------------------------------------------------------------------------------------
def _current_person_versions(store, domain: str):
    from transcode.store import analysis

    return [
        v
        for v in analysis.core_ideas(store, domain=domain)
        if v.status != "machine_draft" and v.superseded_by is None
    ]


@categories_app.command("propose")
def propose_command(
    domain: DomainOption,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Cosine distance that separates clusters.")
    ] = None,
    clusters: Annotated[int | None, typer.Option("--clusters", min=1, help="Number of clusters.")] = None,
    fast: FastOption = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Propose categories: cluster the domain's core ideas and name clusters by key terms (nothing saved)."""
    from transcode.categorize import propose_categories

    with _store(db) as store:
        versions = _current_person_versions(store, domain)
        if len(versions) < 2:
            raise InputError(f"domain {domain} has {len(versions)} core idea(s); clustering needs at least 2")
        texts = [v.text for v in versions]
        proposals = propose_categories(
            texts, _encoder(fast).encode(texts), distance_threshold=threshold, n_clusters=clusters
        )
    document = {
        "domain": domain,
        "proposals": [
            {
                **p.as_dict(),
                "core_ideas": [versions[i].id for i in p.members],
                "cases": sorted({versions[i].case for i in p.members}),
            }
            for p in proposals
        ],
    }
    if as_json:
        emit_json(document)
        return
    table = Table(title=f"proposed categories for {domain} (proposals only: add the ones the team agrees on)")
    for column in ("name (key terms)", "cases", "core ideas", "examples"):
        table.add_column(column, overflow="fold")
    for p, row in zip(proposals, document["proposals"], strict=True):
        examples = " | ".join(texts[i] for i in p.members[:2])
        table.add_row(
            escape(p.name), str(len(row["cases"])), " ".join(map(str, row["core_ideas"])), escape(examples)
        )
    out_console.print(table)


@categories_app.command("suggest")
def suggest_command(
    idea: IdeaArgument,
    top: Annotated[int, typer.Option("--top", min=1, help="How many categories to rank.")] = 3,
    fast: FastOption = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Suggest categories for a core idea by similarity to each category's core ideas (nothing saved)."""
    from transcode.categorize import suggest_category
    from transcode.store import analysis

    with _store(db) as store:
        (target,) = [v for v in analysis.history(store, idea) if v.id == idea]
        options = analysis.categories(store, target.domain)
        if not options:
            raise InputError(f"domain {target.domain} has no categories yet: add some first")
        counted = {v.id: v for v in analysis.core_ideas(store, domain=target.domain, counted_only=True)}
        texts = {
            c.name: [counted[i].text for i in c.core_ideas if counted[i].root != target.root] or [c.name]
            for c in options
        }
        encoder = _encoder(fast)
        members = {name: encoder.encode(group) for name, group in texts.items()}
        ranked = suggest_category(encoder.encode([target.text])[0], members, top=top)
    ids = {c.name: c.id for c in options}
    suggestions = [{"category": s.category, "id": ids[s.category], "score": s.score} for s in ranked]
    if as_json:
        emit_json({"core_idea": idea, "suggestions": suggestions})
        return
    for s in suggestions:
        out_console.print(f"{s['score']:.3f}  {s['category']} (id {s['id']})", highlight=False, markup=False)


@categories_app.command("add")
def add_category_command(
    domain: DomainOption,
    name: Annotated[str, typer.Option("--name", help="Category name.")],
    judge: JudgeOption,
    parent: Annotated[str | None, typer.Option("--parent", help="Make it a subcategory of this one.")] = None,
    other: Annotated[bool, typer.Option("--other", help="An Other / Miscellaneous category.")] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Add a category (or subcategory) to a domain."""
    from transcode.store import analysis

    with _store(db) as store:
        category_id = analysis.add_category(store, domain, name, judge, parent=parent, is_other=other)
    _done(as_json, {"id": category_id, "domain": domain, "name": name}, f"category {category_id} added")


@categories_app.command("assign")
def assign_command(
    idea: IdeaArgument,
    category: Annotated[list[str], typer.Argument(help="Category ids or names of the idea's domain.")],
    judge: JudgeOption,
    remove: Annotated[bool, typer.Option("--remove", help="Take the categories off instead.")] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Code a core idea into one or more categories."""
    from transcode.store import analysis

    with _store(db) as store:
        ids = analysis.assign_categories(store, idea, category, judge, remove=remove)
    verb = "removed from" if remove else "coded into"
    _done(
        as_json,
        {"core_idea": idea, "categories": ids, "removed": remove},
        f"core idea {idea} {verb} {', '.join(map(str, ids))}",
    )


@categories_app.command("rename")
def rename_command(
    category: Annotated[str, typer.Argument(help="Category id or name.")],
    name: Annotated[str, typer.Option("--name", help="The new name.")],
    judge: JudgeOption,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Rename a category (the decision is kept in its thread)."""
    from transcode.store import analysis

    with _store(db) as store:
        analysis.rename_category(store, category, name, judge)
    _done(as_json, {"category": category, "name": name}, f"renamed to {name}")


@categories_app.command("merge")
def merge_command(
    source: Annotated[str, typer.Argument(help="Category to fold in (id or name).")],
    target: Annotated[str, typer.Argument(help="Category that remains (id or name).")],
    judge: JudgeOption,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Merge one category into another: its core ideas and subcategories move over."""
    from transcode.store import analysis

    with _store(db) as store:
        moved = analysis.merge_categories(store, source, target, judge)
    _done(
        as_json, {"source": source, "target": target, "moved": moved}, f"merged; {moved} core idea(s) moved"
    )


@categories_app.command("move")
def move_command(
    category: Annotated[str, typer.Argument(help="Category id or name.")],
    judge: JudgeOption,
    parent: Annotated[str | None, typer.Option("--parent", help="New parent category.")] = None,
    top: Annotated[bool, typer.Option("--top", help="Make it a top-level category.")] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Move a category under another one, or to the top level."""
    from transcode.store import analysis

    if top == (parent is not None):
        raise InputError("give either --parent CATEGORY or --top")
    with _store(db) as store:
        analysis.move_category(store, category, parent, judge)
    _done(as_json, {"category": category, "parent": parent}, "moved")


@categories_app.command("list")
def list_categories_command(
    domain: Annotated[str | None, typer.Option("--domain", help="Only this domain.")] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Categories with the cases and counted core ideas in each."""
    from transcode.store import analysis

    with _store(db) as store:
        rows = analysis.categories(store, domain)
    if as_json:
        emit_json({"categories": [c.as_dict() for c in rows]})
        return
    table = Table(title="categories")
    for column in ("id", "domain", "category", "cases", "core ideas", "created by"):
        table.add_column(column, overflow="fold")
    for c in rows:
        name = f"  └ {c.name}" if c.parent_id else c.name
        table.add_row(
            str(c.id),
            c.domain,
            escape(name + (" (other)" if c.is_other else "")),
            str(len(c.cases)),
            " ".join(map(str, c.core_ideas)),
            c.created_by or "-",
        )
    out_console.print(table)


@categories_app.command("import")
def import_categories_command(
    path: Annotated[
        Path, typer.Argument(help="YAML: {domains: {DOMAIN: [{name, other?, subcategories?}]}}.")
    ],
    judge: JudgeOption,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Create a category scheme from YAML in one transaction (existing categories are kept)."""
    from transcode.store import analysis

    scheme = read_scheme(path)
    with _store(db) as store:
        try:
            created = analysis.import_categories(store, scheme, judge)
        except InputError as err:
            raise InputError(err.message, str(path), err.line) from None
    _done(as_json, {"created": created}, f"created {created} categor{'y' if created == 1 else 'ies'}")


def read_scheme(path: Path) -> dict[str, list[dict]]:
    """The category scheme file: ``domains: {DOMAIN: [{name, other?, subcategories: [{name}]}]}``."""
    data = read_yaml(path)
    domains = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(domains, dict) or not all(isinstance(v, list) for v in domains.values()):
        raise InputError("expected 'domains:' mapping each domain id to a list of categories", str(path))
    for items in domains.values():
        for item in items:
            if not isinstance(item, dict) or not item.get("name"):
                raise InputError(f"every category needs a name (got {item!r})", str(path))
    return domains


# -- comments ------------------------------------------------------------------------------------------
def comment_command(
    target_type: Annotated[str, typer.Argument(help="unit, core_idea or category.")],
    target_id: Annotated[int, typer.Argument(help="Its id.")],
    text: Annotated[str | None, typer.Option("--text", help="The comment (omit to show the thread).")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Who writes it.")] = None,
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
    from transcode.store import analysis

    with _store(db) as store:
        if text is None:
            if judge or reply_to or resolution:
                raise InputError("--judge, --reply-to and --resolution go with --text")
            thread = analysis.comment_thread(store, target_type, target_id)
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
        comment_id = analysis.comment(
            store, target_type, target_id, judge, text, reply_to=reply_to, resolution=resolution
        )
    _done(
        as_json,
        {"id": comment_id, "reply_to": reply_to, "resolution": resolution},
        f"comment {comment_id} saved",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(coreideas_app, name="coreideas")
    app.add_typer(categories_app, name="categories")
    app.command("comment")(comment_command)
