"""Load the demo corpus's gold analysis into a project store, ready for `transcode cross --db`.

Loads, in order: the codebook; the twelve transcripts with the gold thought units
(keys such as ``01-t18u1``, so core ideas can cite them), de-identified with the
planted identifiers of ``gold/identifiers.jsonl`` through the same placeholder
code ``transcode deid`` uses; case attributes from ``cases.csv``; the lead ``team``
and, on request (``judged``), judges A and B with their independent codes from
``judges.csv``; then every case moves to the consensus phase (the lead's override
is in the trail: the demo's judges did not code every unit); the gold domain codes
as consensus; the category scheme ``gold/categories.yaml``; and the consensus core
ideas of ``gold/core_ideas.jsonl`` with their category coding.

Run from the repository root::

    python corpora/demo/load_gold.py --db sqlite:///demo.db
    transcode cross --db sqlite:///demo.db --compare anxiety
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

HERE = Path(__file__).resolve().parent
AUTHOR = "team"


@dataclass(frozen=True)
class _GoldUnit:
    """A thought unit keyed as in the gold file (the store asks each unit for its ``unit_id``)."""

    case: str
    index: int
    turn: int
    start: int
    end: int
    text: str
    question: str | None
    unit_id: str


def _shift(offset: int, placed: list) -> int:
    """Where a source offset lands once the placeholders before it replaced their originals."""
    moved = offset
    for p in placed:
        if p.source_start < offset < p.source_end:
            raise ValueError(f"offset {offset} falls inside a replaced identifier")
        if p.source_end <= offset:
            moved += (p.end - p.start) - (p.source_end - p.source_start)
    return moved


def deidentified_case(case: str, units: list[dict], identifiers: list[str]):
    """The case's transcript and gold units with every planted identifier replaced by a placeholder."""
    from transcode.deid.placeholders import assign_placeholders
    from transcode.deid.spans import Detection, merge_overlapping
    from transcode.errors import InputError
    from transcode.ingest import read_transcript

    path = HERE / f"case_{case}.txt"
    transcript = read_transcript(path)
    texts = [t.text for t in transcript.turns]
    kinds = dict(identifiers)
    detections = [
        Detection(n, m.start(), m.end(), kinds[value], "gold")
        for value in kinds
        for n, text in enumerate(texts)
        for m in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text)
    ]
    clean, placed = assign_placeholders(texts, merge_overlapping(detections))
    by_segment = defaultdict(list)
    for p in placed:
        by_segment[p.segment].append(p)
    turns = tuple(t.with_text(c) for t, c in zip(transcript.turns, clean, strict=True))
    gold_units = []
    for index, unit in enumerate(units, start=1):
        segment = unit["turn"] - 1
        if texts[segment][unit["start"] : unit["end"]] != unit["text"]:
            raise InputError(
                f"gold unit {unit['unit']} does not match the transcript; run build_demo.py", str(path)
            )
        start, end = (_shift(o, by_segment[segment]) for o in (unit["start"], unit["end"]))
        question = next(
            (turns[i].text for i in range(segment - 1, -1, -1) if turns[i].speaker_role == "interviewer"),
            None,
        )
        gold_units.append(
            _GoldUnit(
                case, index, unit["turn"], start, end, clean[segment][start:end], question, unit["unit"]
            )
        )
    return transcript.with_turns(turns), gold_units


def load_demo(db: str, demo: Path = HERE, *, quiet: bool = False, judged: int | None = 0) -> dict:
    """Build the demo store at ``db``; returns what was loaded.

    ``judged``: how many (judge, unit) pairs of ``judges.csv`` to load as judges A and B's
    independent codes, in file order (None: all of them; 0: none).
    """
    from sqlalchemy import select

    from transcode.analysis import categories as cats
    from transcode.analysis import core_ideas as ideas
    from transcode.analysis.schemes import read_scheme
    from transcode.cli.common import progress_bar
    from transcode.codebook import load_codebook
    from transcode.coding import people, phases
    from transcode.cross.io import read_cases
    from transcode.errors import InputError
    from transcode.store import open_store
    from transcode.store.schema import ConsensusCode, CoreIdea, Judge, ThoughtUnitRow

    units = [
        json.loads(line) for line in (demo / "gold" / "units.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    identifiers: dict[str, dict[str, str]] = defaultdict(dict)
    for line in (demo / "gold" / "identifiers.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        identifiers[record["case"]][record["text"]] = record["type"]
    by_case: dict[str, list[dict]] = defaultdict(list)
    for unit in units:
        by_case[unit["case"]].append(unit)

    store = open_store(db, create=True, project="Demo: trainees' experiences of alliance ruptures")
    try:
        with store.session() as s:
            if s.scalar(select(CoreIdea.id)) is not None:
                raise InputError("the store already holds core ideas; load the demo into a new store", db)
        store.save_codebook(load_codebook(demo / "codebook.yaml"))
        with progress_bar("load gold transcripts", len(by_case), quiet=quiet) as bar:
            for case, case_units in sorted(by_case.items()):
                transcript, gold_units = deidentified_case(case, case_units, list(identifiers[case].items()))
                store.import_transcript(transcript, gold_units)
                bar.advance()
        store.set_case_attributes(read_cases(demo / "cases.csv"))
        people.add_person(store, AUTHOR, "lead")
        if judged != 0:
            _load_judges(store, demo, judged)
        phases.switch(
            store, None, phases.CONSENSUS, AUTHOR, override=True, reason="demo: the gold consensus is loaded"
        )
        recorder = store.judge(AUTHOR)
        with store.sessions.begin() as s:
            ids = dict(s.execute(select(ThoughtUnitRow.key, ThoughtUnitRow.id)).all())
            s.execute(ConsensusCode.__table__.delete().where(ConsensusCode.unit_id.in_(ids.values())))
            s.add_all(
                ConsensusCode(unit_id=ids[u["unit"]], domain=d, recorded_by_id=recorder, note="demo gold")
                for u in units
                for d in (u["domains"] or ["other"])
            )
        categories = cats.import_categories(store, read_scheme(demo / "gold" / "categories.yaml"), AUTHOR)
        records = [
            json.loads(line)
            for line in (demo / "gold" / "core_ideas.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        created = ideas.import_core_ideas(store, records, AUTHOR)
        with store.session() as s:
            judges = list(s.scalars(select(Judge.name).order_by(Judge.name)))
    finally:
        store.close()
    return {
        "cases": len(by_case),
        "units": len(units),
        "categories": categories,
        "core_ideas": len(created),
        "judges": judges,
    }


def _load_judges(store, demo: Path, judged: int | None) -> None:
    """Judges A and B, assigned to every case, with their codes from ``judges.csv``."""
    import csv

    from transcode.coding import people
    from transcode.coding.codes import Decision
    from transcode.coding.independent import record_decisions

    by_unit: dict[tuple[str, str], list[str]] = defaultdict(list)
    with (demo / "judges.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_unit[(row["judge"], row["unit"])].append(row["code"])
    judges = sorted({judge for judge, _ in by_unit})
    for judge in judges:
        people.add_person(store, judge, "judge")
    people.assign(store, judges, None, AUTHOR)
    for (judge, unit), codes in list(by_unit.items())[:judged]:
        record_decisions(
            store, judge, unit, [Decision(c, "added") for c in codes if c] or [Decision(None, "other")]
        )


def main(
    db: Annotated[
        str, typer.Option("--db", help="Store URL for the demo (a new one).")
    ] = "sqlite:///demo.db",
    as_json: Annotated[bool, typer.Option("--json", help="Print what was loaded as JSON.")] = False,
) -> None:
    """Load the demo gold units, consensus codes, categories and core ideas into a store."""
    summary = load_demo(db, quiet=as_json)
    if as_json:
        print(json.dumps(summary))
    else:
        print(
            f"loaded {summary['cases']} cases, {summary['units']} units, {summary['categories']} categories, "
            f"{summary['core_ideas']} core ideas into {db}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    from transcode.errors import InputError

    try:
        typer.run(main)
    except InputError as err:
        print(f"load_gold: error: {err}", file=sys.stderr)
        sys.exit(2)
