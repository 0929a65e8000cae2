"""The span type every detection layer produces, and how overlapping spans are merged.

Layers work on a list of plain strings ("segments": the turns of a case, its
metadata values, its speaker labels), so each one can be tested without a
transcript or a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

#: Placeholder types. GROUP (nationality, religion) is only used when asked for.
IDENTIFIER_TYPES = (
    "PERSON",
    "PLACE",
    "ORG",
    "DATE",
    "PHONE",
    "EMAIL",
    "AGE",
    "URL",
    "ADDRESS",
    "ID",
    "GROUP",
)

#: When spans of different types overlap, the merged span takes the type that
#: says most about the kind of value it hid (an email that contains a name is an email).
_TYPE_PRIORITY = {
    t: i
    for i, t in enumerate(
        ("EMAIL", "URL", "PHONE", "ID", "ADDRESS", "PERSON", "ORG", "PLACE", "AGE", "DATE", "GROUP")
    )
}


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated block (long word lists stay readable)."""
    return frozenset(text.split())


@dataclass(frozen=True, order=True)
class Detection:
    """A span ``[start, end)`` of segment ``segment`` that hides an identifier of ``type``.

    ``source`` names the layer that found it (``pattern``, ``presidio``, ``ner``,
    ``recased``, ``names``, ``carry``, ``review``), for benchmarks and review.
    """

    segment: int
    start: int
    end: int
    type: str
    source: str = ""

    def overlaps(self, other: Detection) -> bool:
        return self.segment == other.segment and self.start < other.end and other.start < self.end

    def text(self, segments: Sequence[str]) -> str:
        return segments[self.segment][self.start : self.end]


_TRAILING_PUNCTUATION = ",;:!?)]}\"'”’"
_DOT_ENDED_TYPES = frozenset({"URL", "EMAIL", "PHONE", "ID"})


def tidy(detections: Iterable[Detection], segments: Sequence[str]) -> list[Detection]:
    """Drop trailing punctuation a layer swept in ("folioroom.com/sketches," ends before the comma)."""
    tidied = []
    for d in detections:
        text = segments[d.segment]
        end = d.end
        while end > d.start and (
            text[end - 1] in _TRAILING_PUNCTUATION
            or text[end - 1] == "."
            and (d.type in _DOT_ENDED_TYPES or _full_word_before(text, end))
            or text[end - 1].isspace()
        ):
            end -= 1
        if end > d.start:
            tidied.append(replace(d, end=end) if end != d.end else d)
    return tidied


def _full_word_before(text: str, end: int) -> bool:
    """ "Elm Street." ends a sentence; "Elm St." ends an abbreviation."""
    word = text[: end - 1].rsplit(None, 1)[-1] if text[: end - 1].strip() else ""
    return len(word) > 3 and word.isalpha()


def merge_overlapping(detections: Iterable[Detection]) -> list[Detection]:
    """Union overlapping spans (and PERSON spans separated only by a space) into one span each.

    Recall first: two layers that disagree on the extent of a span both get
    their way. Adjacent PERSON spans ("Jenny" + "Smith") become one name.
    """
    ordered = sorted(detections, key=lambda d: (d.segment, d.start, -d.end))
    merged: list[Detection] = []
    for d in ordered:
        if merged:
            last = merged[-1]
            if last.segment == d.segment and d.start < last.end:
                kind = min(last.type, d.type, key=lambda t: _TYPE_PRIORITY.get(t, 99))
                source = last.source if kind == last.type else d.source
                merged[-1] = replace(last, end=max(last.end, d.end), type=kind, source=source)
                continue
        merged.append(d)
    return merged


def join_adjacent_names(detections: Sequence[Detection], segments: Sequence[str]) -> list[Detection]:
    """ "Jenny" and "Smith" found separately, one space apart, are one person."""
    joined: list[Detection] = []
    for d in detections:
        if joined:
            last = joined[-1]
            gap = segments[d.segment][last.end : d.start] if last.segment == d.segment else None
            if last.type == d.type == "PERSON" and gap in (" ", "-"):
                joined[-1] = replace(last, end=d.end)
                continue
        joined.append(d)
    return joined
