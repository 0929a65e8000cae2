"""A person's review of the replacements: accept, restore a false positive, add a missed span.

Decisions are plain records by position in the input (segment and offsets),
never by value, so the decisions file beside the output can be kept with the
de-identified data and re-applied to the same input (``--decisions``). The
interactive part shows originals on the reviewer's screen only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from transcode.deid import CaseDetections, DeidResult, apply_detections
from transcode.deid.spans import IDENTIFIER_TYPES, Detection
from transcode.errors import InputError

Action = Literal["accept", "restore", "add"]
ACTIONS: tuple[str, ...] = ("accept", "restore", "add")


@dataclass(frozen=True)
class Decision:
    """One reviewer decision about the span ``[start, end)`` of the input text at ``where``.

    ``where`` is ``turn:<index>`` or ``metadata:<key>``; offsets are in the input text.
    """

    action: Action
    type: str
    where: str
    start: int
    end: int


def segment_name(case: CaseDetections, segment: int) -> str:
    kind, key = case.refs[segment]
    return f"{kind}:{key}"


def segment_index(case: CaseDetections, where: str) -> int:
    kind, _, key = where.partition(":")
    ref = ("turn", int(key)) if kind == "turn" and key.isdigit() else (kind, key)
    if ref not in case.refs:
        raise InputError(
            f"decision refers to {where!r}, which this transcript does not have", case.transcript.source
        )
    return case.refs.index(ref)


def apply_decisions(case: CaseDetections, decisions: Iterable[Decision]) -> CaseDetections:
    """Remove restored spans and add added ones; accepted spans stay as they are."""
    detections = list(case.detections)
    for decision in decisions:
        segment = segment_index(case, decision.where)
        if not 0 <= decision.start < decision.end <= len(case.segments[segment]):
            raise InputError(
                f"decision span {decision.start}-{decision.end} lies outside {decision.where}",
                case.transcript.source,
            )
        if decision.action == "restore":
            detections = [
                d
                for d in detections
                if not (d.segment == segment and d.start < decision.end and decision.start < d.end)
            ]
        elif decision.action == "add":
            if decision.type not in IDENTIFIER_TYPES:
                raise InputError(f"unknown identifier type {decision.type!r}", case.transcript.source)
            detections.append(Detection(segment, decision.start, decision.end, decision.type, "review"))
    return case.with_detections(detections)


def occurrences(case: CaseDetections, text: str, kind: str) -> list[Decision]:
    """Every whole-word, case-insensitive occurrence of ``text`` in the case, as "add" decisions."""
    words = text.split()
    if not words:
        return []
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
    return [
        Decision("add", kind, segment_name(case, i), m.start(), m.end())
        for i, segment in enumerate(case.segments)
        for m in pattern.finditer(segment)
    ]


def decision_records(case: CaseDetections, decisions: Sequence[Decision], result: DeidResult) -> list[dict]:
    """The decisions file entries: positions, types and resulting placeholders, never the original text.

    ``start``/``end`` are offsets in the output text (of the placeholder, or of the restored words).
    """
    records = []
    for decision in decisions:
        segment = segment_index(case, decision.where)
        kind, key = case.refs[segment]
        turn = key if kind == "turn" else None
        field = "text" if kind == "turn" else f"metadata:{key}"
        same_field = [r for r in result.replacements if r.turn == turn and r.field == field]
        hit = next(
            (r for r in same_field if r.source_start < decision.end and decision.start < r.source_end), None
        )
        record = asdict(decision)
        if hit is not None and decision.action != "restore":
            record.update(placeholder=hit.placeholder, start_out=hit.start, end_out=hit.end)
        else:
            shift = sum(
                len(r.placeholder) - (r.source_end - r.source_start)
                for r in same_field
                if r.source_end <= decision.start
            )
            record.update(placeholder=None, start_out=decision.start + shift, end_out=decision.end + shift)
        records.append(record)
    return records


def read_decisions(path: str | Path) -> dict[str, list[Decision]]:
    """A decisions file written by ``--review``: ``{"files": {file name: [decision, ...]}}``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("decisions file not found", str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = document["files"]
        return {
            name: [
                Decision(d["action"], d["type"], d["where"], int(d["start"]), int(d["end"]))
                for d in records
                if d["action"] in ACTIONS
            ]
            for name, records in files.items()
        }
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"malformed decisions file ({err.__class__.__name__})", str(path)) from None


# ------------------------------------------------------------------ interactive


Ask = Callable[[str, Sequence[str], str], str]


def review_case(case: CaseDetections, console, ask: Ask, *, title: str = "") -> list[Decision]:
    """Show every replacement with its context and ask the reviewer, placeholder by placeholder,
    to accept or restore it (or decide each occurrence), then to add missed spans."""
    from rich.table import Table

    preview = apply_detections(case)
    table = Table(title=f"Replacements in {title or case.transcript.case}", show_lines=False)
    for column in ("#", "placeholder", "type", "where", "context"):
        table.add_column(column, overflow="fold")
    placed = list(zip(preview.replacements, _detections_in_order(case, preview), strict=True))
    for n, (replacement, detection) in enumerate(placed, start=1):
        table.add_row(
            str(n),
            replacement.placeholder,
            replacement.type,
            segment_name(case, detection.segment),
            _context(case.segments[detection.segment], detection.start, detection.end),
        )
    console.print(table)
    decisions: list[Decision] = []
    groups: dict[str, list[tuple[Any, Detection]]] = {}
    for replacement, detection in placed:
        groups.setdefault(replacement.placeholder, []).append((replacement, detection))
    try:
        for label, items in groups.items():
            values = sorted({case.segments[d.segment][d.start : d.end] for _, d in items})
            answer = ask(
                f"{label} = {' / '.join(repr(v) for v in values)} ({len(items)}x) "
                "a: accept, r: restore (not an identifier), e: decide each",
                ["a", "r", "e"],
                "a",
            )
            for _, detection in items:
                choice = answer
                if answer == "e":
                    choice = ask(
                        f"  {label} in {segment_name(case, detection.segment)}: "
                        f"{_plain_context(case.segments[detection.segment], detection.start, detection.end)}",
                        ["a", "r"],
                        "a",
                    )
                decisions.append(
                    Decision(
                        "restore" if choice == "r" else "accept",
                        detection.type,
                        segment_name(case, detection.segment),
                        detection.start,
                        detection.end,
                    )
                )
        while True:
            missed = ask("Missed identifier to add (its exact text; empty to finish)", [], "").strip()
            if not missed:
                break
            kind = ask("  type", list(IDENTIFIER_TYPES), "PERSON")
            found = occurrences(case, missed, kind)
            console.print(f"  {len(found)} occurrence(s) will be replaced")
            decisions.extend(found)
    except EOFError:
        console.print("[yellow]end of input: remaining replacements accepted[/yellow]")
        decided = {(d.where, d.start, d.end) for d in decisions}
        decisions.extend(
            Decision("accept", d.type, segment_name(case, d.segment), d.start, d.end)
            for _, d in placed
            if (segment_name(case, d.segment), d.start, d.end) not in decided
        )
    return decisions


def _detections_in_order(case: CaseDetections, result: DeidResult) -> list[Detection]:
    by_place = {(d.segment, d.start): d for d in case.detections}
    order = []
    for r in result.replacements:
        segment = case.refs.index(
            ("turn", r.turn) if r.turn is not None else ("metadata", r.field.split(":", 1)[1])
        )
        order.append(by_place[(segment, r.source_start)])
    return order


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    from rich.markup import escape

    left = text[max(0, start - width) : start]
    right = text[end : end + width]
    return (
        f"{'…' if start > width else ''}{escape(left)}[bold reverse]{escape(text[start:end])}[/bold reverse]"
        f"{escape(right)}{'…' if end + width < len(text) else ''}"
    )


def _plain_context(text: str, start: int, end: int, width: int = 40) -> str:
    return f"…{text[max(0, start - width) : start]}>>{text[start:end]}<<{text[end : end + width]}…"


def rich_ask(console) -> Ask:
    """An :data:`Ask` that prompts with rich on ``console`` and reads the answer from standard input."""
    from rich.markup import escape
    from rich.prompt import Prompt

    def ask(question: str, choices: Sequence[str], default: str) -> str:
        return Prompt.ask(
            escape(question),
            console=console,
            choices=list(choices) or None,
            default=default,
            show_default=bool(default),
            show_choices=bool(choices),
            case_sensitive=False,
        )

    return ask
