"""The whole project as plain data, read from and written to the store (for REFI-QDA exchange and the tables).

:func:`read_snapshot` gives what a ``.qdpx`` carries (codebook, cases, transcripts,
units, every judge's current codes, consensus) and :func:`write_snapshot` loads
one into a store that holds no transcripts yet, in one transaction. The flat
record readers feed the CSV / Excel / pandas tables. No XML here: that is
:mod:`transcode.exchange.refi`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select

from transcode.codebook import Codebook, parse_codebook
from transcode.coding.codes import OTHER, current_codes
from transcode.errors import StoreError
from transcode.store.repo import (
    JUDGE_ROLES,
    Store,
    UnitFields,
    ensure_judge,
    insert_transcript_rows,
    transcript_hash,
)
from transcode.store.schema import (
    Case,
    Category,
    CodebookVersion,
    CodeDecision,
    ConsensusCode,
    Judge,
    Project,
    ThoughtUnitRow,
    TranscriptRow,
    TurnRow,
)

#: The note on decisions that came from an imported project (so the log says where they came from).
IMPORT_NOTE = "imported from REFI-QDA"


# -- plain data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnData:
    role: str
    label: str
    text: str
    line: int


@dataclass(frozen=True)
class UnitData:
    key: str
    position: int
    turn: int  # 1-based turn number
    start: int  # offsets in the turn's text
    end: int
    text: str
    question: str | None


@dataclass(frozen=True)
class TranscriptData:
    case: str
    source_name: str
    metadata: dict[str, str]
    turns: tuple[TurnData, ...]
    units: tuple[UnitData, ...]


@dataclass(frozen=True)
class CategoryData:
    """A cross-analysis category of one domain, with its subcategories."""

    name: str
    is_other: bool = False
    children: tuple[CategoryData, ...] = ()


@dataclass
class ProjectSnapshot:
    """Everything a .qdpx carries, independent of the store and of XML."""

    name: str
    codebook: Codebook
    cases: dict[str, dict[str, str]]
    transcripts: list[TranscriptData]
    judges: dict[str, str]  # name -> role
    judge_codes: dict[str, dict[str, frozenset[str]]]  # judge -> unit key -> domains
    consensus: dict[str, frozenset[str]] = field(default_factory=dict)
    consensus_by: dict[str, str | None] = field(default_factory=dict)
    categories: dict[str, tuple[CategoryData, ...]] = field(default_factory=dict)  # domain -> trees


# -- reading the store ------------------------------------------------------------------------------
def read_snapshot(store: Store) -> ProjectSnapshot:
    """The project as plain data: codebook, cases, transcripts, units, judges' current codes, consensus."""
    with store.session() as s:
        project = s.scalars(select(Project).order_by(Project.id)).first()
        if project is None:
            raise StoreError("the store holds no project; run `transcode init`")
        body = s.scalars(select(CodebookVersion.body).order_by(CodebookVersion.version.desc())).first()
        if body is None:
            raise StoreError("the store holds no codebook; add one before exporting")
        codebook = parse_codebook(body, "store codebook")
        # every transcript's turns and units in two ordered reads, not two queries per transcript
        turns_of: dict[int, list[TurnData]] = defaultdict(list)
        for transcript_id, role, label, text, line in s.execute(
            select(
                TurnRow.transcript_id, TurnRow.speaker_role, TurnRow.label, TurnRow.text, TurnRow.line
            ).order_by(TurnRow.transcript_id, TurnRow.number)
        ):
            turns_of[transcript_id].append(TurnData(role, label, text, line))
        units_of: dict[int, list[UnitData]] = defaultdict(list)
        for u in s.execute(
            select(
                ThoughtUnitRow.transcript_id,
                ThoughtUnitRow.key,
                ThoughtUnitRow.position,
                ThoughtUnitRow.turn_number,
                ThoughtUnitRow.start,
                ThoughtUnitRow.end,
                ThoughtUnitRow.text,
                ThoughtUnitRow.question,
            ).order_by(ThoughtUnitRow.transcript_id, ThoughtUnitRow.position)
        ):
            units_of[u[0]].append(UnitData(*u[1:]))
        transcripts = [
            TranscriptData(
                case_key,
                row.source_name,
                dict(row.metadata_ or {}),
                tuple(turns_of.pop(row.id, ())),
                tuple(units_of.pop(row.id, ())),
            )
            for row, case_key in s.execute(
                select(TranscriptRow, Case.key).join(Case).order_by(Case.key, TranscriptRow.id)
            )
        ]
        judges = {j.name: j.role for j in s.scalars(select(Judge).order_by(Judge.name))}
        consensus_rows = s.execute(
            select(ThoughtUnitRow.key, ConsensusCode.domain, Judge.name)
            .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
            .outerjoin(Judge, Judge.id == ConsensusCode.recorded_by_id)
        ).all()
        category_rows = s.scalars(
            select(Category).where(Category.project_id == project.id).order_by(Category.id)
        ).all()
        categories = _category_trees(category_rows)
    by_judge: dict[str, list] = defaultdict(list)
    for d in store.decision_log():
        by_judge[d.judge].append((d.unit, d.domain, d.action))
    dmap = store.domain_map()
    judge_codes = {
        name: {k: v for k, v in dmap.all_codes(current_codes(r)).items() if v} for name, r in by_judge.items()
    }
    consensus: dict[str, set[str]] = defaultdict(set)
    consensus_by: dict[str, str | None] = {}
    for key, domain, recorder in consensus_rows:
        consensus[key].add(domain)
        consensus_by[key] = recorder
    return ProjectSnapshot(
        name=project.name,
        codebook=codebook,
        cases=store.case_attributes(),
        transcripts=transcripts,
        judges=judges,
        judge_codes=judge_codes,
        consensus={k: frozenset(v) for k, v in consensus.items()},
        consensus_by=consensus_by,
        categories=categories,
    )


def _category_trees(rows) -> dict[str, tuple[CategoryData, ...]]:
    children: dict[int | None, list] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)

    def tree(row) -> CategoryData:
        return CategoryData(row.name, bool(row.is_other), tuple(tree(c) for c in children[row.id]))

    out: dict[str, list[CategoryData]] = defaultdict(list)
    for row in children[None]:
        out[row.domain].append(tree(row))
    return {domain: tuple(trees) for domain, trees in out.items()}


# -- writing the store -------------------------------------------------------------------------------------
def write_snapshot(store: Store, snapshot: ProjectSnapshot) -> dict:
    """Load ``snapshot`` into a store that holds no transcripts yet: one transaction, all or nothing."""

    with store.sessions.begin() as s:
        project = s.scalars(select(Project).order_by(Project.id)).first()
        if project is None:
            project = Project(name=snapshot.name)
            s.add(project)
            s.flush()
        if s.scalar(select(TranscriptRow.id)) is not None:
            raise StoreError(
                "the store already holds transcripts; import a .qdpx into a new store",
                store.engine.url.render_as_string(hide_password=True),
            )
        project.name = snapshot.name
        latest = s.scalar(select(CodebookVersion.version).order_by(CodebookVersion.version.desc()))
        s.add(
            CodebookVersion(
                project_id=project.id,
                version=(latest or 0) + 1,
                name=snapshot.codebook.name,
                fingerprint=snapshot.codebook.fingerprint(),
                body=snapshot.codebook.to_dict(),
            )
        )
        judge_ids = {
            name: ensure_judge(s, project.id, name, role if role in JUDGE_ROLES else "judge")
            for name, role in sorted(snapshot.judges.items())
        }
        case_ids = {}
        for key, attributes in sorted(snapshot.cases.items()):
            case = Case(project_id=project.id, key=key, attributes=dict(attributes))
            s.add(case)
            s.flush()
            case_ids[key] = case.id
        unit_ids: dict[str, int] = {}
        for t in snapshot.transcripts:
            unit_ids |= insert_transcript_rows(
                s,
                case_ids[t.case],
                source_name=t.source_name,
                content_hash=transcript_hash((x.label, x.text) for x in t.turns),
                metadata=t.metadata,
                turns=[(x.role, x.label, x.text, x.line) for x in t.turns],
                units=[
                    UnitFields(u.key, u.position, u.turn, u.start, u.end, u.text, u.question) for u in t.units
                ],
            )
        for judge, codes in sorted(snapshot.judge_codes.items()):
            for key, domains in sorted(codes.items()):
                if domains == {OTHER}:
                    s.add(
                        CodeDecision(
                            unit_id=unit_ids[key],
                            judge_id=judge_ids[judge],
                            domain=None,
                            action=OTHER,
                            note=IMPORT_NOTE,
                        )
                    )
                    continue
                s.add_all(
                    CodeDecision(
                        unit_id=unit_ids[key],
                        judge_id=judge_ids[judge],
                        domain=d,
                        action="added",
                        note=IMPORT_NOTE,
                    )
                    for d in sorted(domains)
                )
        for key, domains in sorted(snapshot.consensus.items()):
            recorder = snapshot.consensus_by.get(key)
            s.add_all(
                ConsensusCode(
                    unit_id=unit_ids[key],
                    domain=d,
                    recorded_by_id=judge_ids.get(recorder) if recorder is not None else None,
                )
                for d in sorted(domains)
            )
        for domain, trees in sorted(snapshot.categories.items()):
            _add_categories(s, project.id, domain, None, trees)
    return project_summary(snapshot)


def _add_categories(s, project_id: int, domain: str, parent_id: int | None, trees) -> None:
    for node in trees:
        row = Category(
            project_id=project_id, domain=domain, parent_id=parent_id, name=node.name, is_other=node.is_other
        )
        s.add(row)
        s.flush()
        _add_categories(s, project_id, domain, row.id, node.children)


def write_new_store(
    url: str, snapshot: ProjectSnapshot, then: Callable[[Store], object] | None = None
) -> tuple[dict, str]:
    """Load ``snapshot`` into the store at ``url``, created if need be: (summary, the URL without its
    password). ``then`` runs on the loaded store (the study phases an import enters). A SQLite file
    this call created is removed again if loading fails, so a failed import leaves no new empty
    store behind."""
    from transcode.store import db as database
    from transcode.store.repo import open_store

    engine_url = database.make_engine(url).url
    target = database.sqlite_file(engine_url) if engine_url.get_backend_name() == "sqlite" else None
    existed = target is None or target.exists()
    try:
        with open_store(url, create=True, project=snapshot.name) as store:
            summary = write_snapshot(store, snapshot)
            if then is not None:
                then(store)
            return summary, store.label
    except BaseException:
        if not existed and target is not None:
            for leftover in ("", "-wal", "-shm", "-journal"):
                Path(f"{target}{leftover}").unlink(missing_ok=True)
        raise


def project_summary(snapshot: ProjectSnapshot) -> dict:
    """Counts of what a snapshot holds (what export and import report)."""
    return {
        "project": snapshot.name,
        "codes": len(snapshot.codebook.domains),
        "cases": len(snapshot.cases),
        "sources": len(snapshot.transcripts),
        "units": sum(len(t.units) for t in snapshot.transcripts),
        "judges": sorted(snapshot.judges),
        "judge_codings": sum(len(d) for codes in snapshot.judge_codes.values() for d in codes.values()),
        "consensus_units": len(snapshot.consensus),
    }


class UnitRecord(NamedTuple):
    """A thought unit with its case: ``turn`` is the 1-based turn number, offsets are in its text."""

    case: str
    unit: str
    position: int
    turn: int
    start: int
    end: int
    text: str
    question: str | None


class ConsensusRecord(NamedTuple):
    case: str
    unit: str
    domain: str
    recorded_by: str | None
    note: str | None


def unit_records(store: Store) -> list[UnitRecord]:
    """Every thought unit, in case and transcript order."""
    with store.session() as s:
        rows = s.execute(
            select(Case.key, ThoughtUnitRow).join(Case).order_by(Case.key, ThoughtUnitRow.position)
        )
        return [
            UnitRecord(key, u.key, u.position, u.turn_number, u.start, u.end, u.text, u.question)
            for key, u in rows
        ]


def consensus_records(store: Store) -> list[ConsensusRecord]:
    """The team's agreed domains, one record per unit and domain, in case and transcript order."""
    with store.session() as s:
        rows = s.execute(
            select(Case.key, ThoughtUnitRow.key, ConsensusCode.domain, Judge.name, ConsensusCode.note)
            .join(ThoughtUnitRow, ThoughtUnitRow.id == ConsensusCode.unit_id)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .outerjoin(Judge, Judge.id == ConsensusCode.recorded_by_id)
            .order_by(Case.key, ThoughtUnitRow.position, ConsensusCode.domain)
        ).all()
    return [ConsensusRecord(*row) for row in rows]
