"""`transcode categories`: cross-analysis categories per domain (propose, add, code, reshape, import).

Clustering proposes categories from a domain's core ideas (nothing saved); the
team adds the ones it agrees on and codes core ideas into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from transcode.cli.common import (
    DEFAULT_DB,
    DbOption,
    DomainOption,
    FastOption,
    IdeaArgument,
    JsonOption,
    JudgeOption,
    done,
    emit_json,
    opened_store,
    out_console,
)
from transcode.errors import InputError

categories_app = typer.Typer(
    help="Cross-analysis categories per domain: propose, add, code, reshape.", no_args_is_help=True
)


def _current_person_versions(store, domain: str):
    from transcode.analysis.core_ideas import core_ideas

    return [
        v for v in core_ideas(store, domain=domain) if v.status != "machine_draft" and v.superseded_by is None
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
    from transcode.analysis.clustering import propose_categories
    from transcode.embed import make_encoder

    with opened_store(db) as store:
        versions = _current_person_versions(store, domain)
        if len(versions) < 2:
            raise InputError(f"domain {domain} has {len(versions)} core idea(s); clustering needs at least 2")
        texts = [v.text for v in versions]
        proposals = propose_categories(
            texts, make_encoder(fast=fast).encode(texts), distance_threshold=threshold, n_clusters=clusters
        )
    document: dict[str, Any] = {
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
    table = Table(
        title=Text(f"proposed categories for {domain} (proposals only: add the ones the team agrees on)")
    )
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
    from transcode.analysis.categories import categories
    from transcode.analysis.clustering import suggest_category
    from transcode.analysis.core_ideas import core_ideas, history
    from transcode.embed import make_encoder

    with opened_store(db) as store:
        (target,) = [v for v in history(store, idea) if v.id == idea]
        options = categories(store, target.domain)
        if not options:
            raise InputError(f"domain {target.domain} has no categories yet: add some first")
        counted = {v.id: v for v in core_ideas(store, domain=target.domain, counted_only=True)}
        texts = {
            c.name: [counted[i].text for i in c.core_ideas if counted[i].root != target.root] or [c.name]
            for c in options
        }
        encoder = make_encoder(fast=fast)
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
    from transcode.analysis import categories

    with opened_store(db, person=judge, doing="working on categories") as store:
        category_id = categories.add_category(store, domain, name, judge, parent=parent, is_other=other)
    done(as_json, {"id": category_id, "domain": domain, "name": name}, f"category {category_id} added")


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
    from transcode.analysis import categories

    with opened_store(db, person=judge, doing="working on categories") as store:
        ids = categories.assign_categories(store, idea, category, judge, remove=remove)
    verb = "removed from" if remove else "coded into"
    done(
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
    from transcode.analysis import categories

    with opened_store(db, person=judge, doing="working on categories") as store:
        categories.rename_category(store, category, name, judge)
    done(as_json, {"category": category, "name": name}, f"renamed to {name}")


@categories_app.command("merge")
def merge_command(
    source: Annotated[str, typer.Argument(help="Category to fold in (id or name).")],
    target: Annotated[str, typer.Argument(help="Category that remains (id or name).")],
    judge: JudgeOption,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Merge one category into another: its core ideas and subcategories move over."""
    from transcode.analysis import categories

    with opened_store(db, person=judge, doing="working on categories") as store:
        moved = categories.merge_categories(store, source, target, judge)
    done(as_json, {"source": source, "target": target, "moved": moved}, f"merged; {moved} core idea(s) moved")


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
    from transcode.analysis import categories

    if top == (parent is not None):
        raise InputError("give either --parent CATEGORY or --top")
    with opened_store(db, person=judge, doing="working on categories") as store:
        categories.move_category(store, category, parent, judge)
    done(as_json, {"category": category, "parent": parent}, "moved")


@categories_app.command("list")
def list_categories_command(
    domain: Annotated[str | None, typer.Option("--domain", help="Only this domain.")] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
):
    """Categories with the cases and counted core ideas in each."""
    from transcode.analysis import categories

    with opened_store(db) as store:
        rows = categories.categories(store, domain)
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
            Text(c.domain),
            escape(name + (" (other)" if c.is_other else "")),
            str(len(c.cases)),
            " ".join(map(str, c.core_ideas)),
            Text(c.created_by or "-"),
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
    from transcode.analysis import categories
    from transcode.analysis.schemes import read_scheme

    scheme = read_scheme(path)
    with opened_store(db, person=judge, doing="working on categories") as store:
        try:
            created = categories.import_categories(store, scheme, judge)
        except InputError as err:
            raise err.at(path=str(path)) from None
    done(as_json, {"created": created}, f"created {created} categor{'y' if created == 1 else 'ies'}")


def register(app: typer.Typer) -> None:
    app.add_typer(categories_app, name="categories")
