"""Options and output helpers shared by every command."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from transcode.errors import InputError

if TYPE_CHECKING:
    from transcode.store import Store

DEFAULT_DB = "sqlite:///transcode.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db", help="Store URL (sqlite:///file.db or postgresql+psycopg://...).", envvar="TRANSCODE_DB"
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
]

#: Messages and progress go to stderr so stdout stays clean for --json and piping.
err_console = Console(stderr=True)
out_console = Console()

T = TypeVar("T")


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def progress_bar(description: str, total: int | None, *, quiet: bool = False) -> Iterator[Any]:
    """A rich progress bar on stderr; ``advance(n)`` on the yielded object moves it."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=quiet,
    )
    with progress:
        task = progress.add_task(description, total=total)

        class _Advance:
            def advance(self, n: int = 1) -> None:
                progress.advance(task, n)

            def update_total(self, new_total: int) -> None:
                progress.update(task, total=new_total)

        try:
            yield _Advance()
        except BaseException:
            progress.live.transient = True  # a failed run leaves its one error line, not a bar
            raise


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    items = list(items) if total is None else items
    with progress_bar(description, total if total is not None else len(items)) as bar:  # type: ignore[arg-type]
        for item in items:
            yield item
            bar.advance()


InterviewerOption = Annotated[
    list[str] | None, typer.Option("--interviewer", help="Interviewer speaker label (repeatable).")
]
ParticipantOption = Annotated[
    list[str] | None, typer.Option("--participant", help="Participant speaker label (repeatable).")
]
OtherSpeakersOption = Annotated[
    str, typer.Option("--other-speakers", help="'error' (default) or 'keep' turns with unknown labels.")
]
NamesOption = Annotated[
    str | None,
    typer.Option("--names", help="File of known names (one per line) that must always be replaced."),
]


def ingest_options(interviewer, participant, other_speakers):
    from transcode.pipeline import IngestOptions

    return IngestOptions(
        tuple(interviewer) if interviewer else None,
        tuple(participant) if participant else None,
        other_speakers,
    )


def read_known_names(path: str | None) -> list[str]:
    if path is None:
        return []
    from transcode.deid import load_names

    return list(load_names(path))


CaseOption = Annotated[str, typer.Option("--case", help="Case id.")]
DomainOption = Annotated[str, typer.Option("--domain", help="Domain id from the codebook.")]
JudgeOption = Annotated[
    str, typer.Option("--judge", help="Who decides: a registered person (`transcode judges add`).")
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="The lead doing it: a registered person with the role lead.")
]
UnlockOption = Annotated[
    bool,
    typer.Option(
        "--unlock",
        help="A lead (--by) reads judges' codes of cases still in independent coding; logged in the trail.",
    ),
]
#: Store ids are 32-bit on PostgreSQL: a larger number is a usage error, not an overflow.
MAX_ID = 2**31 - 1
IdeaArgument = Annotated[
    int, typer.Argument(min=1, max=MAX_ID, help="Core idea id (see `transcode coreideas list`).")
]
FastOption = Annotated[bool, typer.Option("--fast", help="Use the fast static embedding model.")]


@contextmanager
def opened_store(db: str, *, person: str | None = None, doing: str = "this") -> Iterator[Store]:
    """The store at ``db``, closed afterwards; an error about what was asked names the store.

    ``person`` (a ``--judge``) must be a registered person of the study, and on PostgreSQL the
    connection's own person when it is one (:func:`transcode.coding.people.require`).
    """
    from transcode.coding import people
    from transcode.store import open_store

    with open_store(db) as store:
        try:
            if person is not None:
                people.require(store, person, doing=doing)
            yield store
        except InputError as err:
            raise err.at(path=err.path or store.label) from None


def unlock_by(unlock: bool, by: str | None) -> str | None:
    """The lead lifting the phase rule for this command, or None; --unlock needs --by LEAD."""
    if unlock and not by:
        raise InputError("--unlock needs the lead who takes responsibility for it: --by LEAD")
    if by and not unlock:
        raise InputError("--by goes with --unlock here")
    return by if unlock else None


def done(as_json: bool, document: dict, message: str) -> None:
    """Report a change: the JSON document on stdout, or one line on stderr."""
    if as_json:
        emit_json(document)
    else:
        err_console.print(message, highlight=False, markup=False)
