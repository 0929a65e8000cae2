"""Replace detected spans with typed, numbered placeholders that are consistent within a case.

The same value gets the same placeholder everywhere in a case, whatever its
case, possessive or spelling variant: "Jenny", "jenny", "Jenni" and the
"Jenny" of "Jenny's" are all ``[PERSON_1]`` (the "'s" stays outside), and
"Jenny Smith" is the same person as "Jenny" and "Smith" on their own. Numbers
follow first appearance. A pure function: text and spans in, text and
replacement records out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from transcode.deid.names import strip_possessive
from transcode.deid.spans import Detection, word_set

_TITLES = word_set("dr mr mrs ms miss mx prof doctor professor")
_UNITS_AND_TEENS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen \
sixteen seventeen eighteen nineteen"
)
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_NUMBER_WORDS = {w: n for n, w in enumerate(_UNITS_AND_TEENS.split())}
_NUMBER_WORDS.update({w: 10 * n for n, w in enumerate(_TENS.split(), start=2)})
_NUMBER_WORDS.update({"hundred": 100, "a": 0, "and": 0})


@dataclass(frozen=True)
class Placed:
    """One replacement: where it is in the output (``start``/``end``) and in the input (``source_*``).

    ``original`` is kept for the review screen and the encrypted key file only;
    it is left out of ``repr`` so it cannot reach a log by accident.
    """

    segment: int
    start: int
    end: int
    source_start: int
    source_end: int
    type: str
    placeholder: str
    layer: str
    original: str = field(repr=False, compare=False)


def placeholder(kind: str, number: int) -> str:
    return f"[{kind}_{number}]"


def normalise(kind: str, value: str) -> str:
    """The form two mentions share when they are the same value."""
    text = " ".join(value.split())
    if kind in ("PHONE", "ID"):
        return re.sub(r"[^0-9A-Za-z]", "", text).upper()
    if kind in ("EMAIL", "URL"):
        return re.sub(r"^(?:https?://)?(?:www\.)?", "", text.casefold()).rstrip("/")
    if kind == "DATE":
        return re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", re.sub(r"[,.]", "", text.casefold()))
    if kind == "AGE":
        return _age_number(text.casefold())
    words = [strip_possessive(w).replace(".", "") for w in text.casefold().split()]
    if kind == "PERSON":
        while len(words) > 1 and words[0] in _TITLES:
            words.pop(0)
    return " ".join(w for w in words if w)


def _age_number(text: str) -> str:
    words = re.split(r"[\s-]+", text)
    if words and all(w in _NUMBER_WORDS for w in words):
        total = 0
        for w in words:
            total = max(total, 1) * 100 if w == "hundred" else total + _NUMBER_WORDS[w]
        return str(total)
    return text


def _similar(a: str, b: str) -> bool:
    """Spelling variants: same length class, one edit in short names, two in long ones."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    limit = 1 if max(len(a), len(b)) <= 6 else 2
    return Levenshtein.distance(a, b, score_cutoff=limit) <= limit


def _same_person(words: list[str], other: list[str]) -> bool:
    if len(words) == len(other):
        return all(_similar(a, b) for a, b in zip(words, other, strict=True))
    if len(words) == 1:
        return any(_similar(words[0], w) for w in other)
    if len(other) == 1:
        return any(_similar(other[0], w) for w in words)
    return False


def cluster_people(keys: Sequence[str]) -> dict[str, int]:
    """Group normalised person names (in order of appearance) into people: spelling variants and a
    single name that is part of a full name ("Jenny" in "Jenny Smith") belong together."""
    clusters: dict[str, int] = {}
    members: list[list[list[str]]] = []
    for key in keys:
        if key in clusters:
            continue
        words = key.split()
        target = next(
            (
                index
                for index, names in enumerate(members)
                if any(_same_person(words, other) for other in names)
            ),
            None,
        )
        if target is None:
            target = len(members)
            members.append([])
        members[target].append(words)
        clusters[key] = target
    return clusters


def assign_placeholders(
    segments: Sequence[str], detections: Sequence[Detection], order: Sequence[int] | None = None
) -> tuple[list[str], list[Placed]]:
    """Replace every (non-overlapping) detection; numbering follows ``order`` of segments, then offsets."""
    rank = {segment: n for n, segment in enumerate(order if order is not None else range(len(segments)))}
    ordered = sorted(detections, key=lambda d: (rank.get(d.segment, len(rank) + d.segment), d.start))
    keys = [(d.type, normalise(d.type, d.text(segments))) for d in ordered]
    people = cluster_people([k for t, k in keys if t == "PERSON"])
    identity = [(t, people[k]) if t == "PERSON" else (t, k) for t, k in keys]
    numbers: dict[tuple[str, object], int] = {}
    per_type: dict[str, int] = {}
    for kind, ident in identity:
        if (kind, ident) not in numbers:
            per_type[kind] = per_type.get(kind, 0) + 1
            numbers[(kind, ident)] = per_type[kind]
    by_segment: dict[int, list[tuple[Detection, str]]] = {}
    for d, (kind, ident) in zip(ordered, identity, strict=True):
        by_segment.setdefault(d.segment, []).append((d, placeholder(kind, numbers[(kind, ident)])))
    output = list(segments)
    placed: list[Placed] = []
    for segment, items in by_segment.items():
        text = segments[segment]
        pieces: list[str] = []
        cursor = shift = 0
        for d, label in sorted(items, key=lambda item: item[0].start):
            if d.start < cursor:
                raise ValueError("assign_placeholders needs non-overlapping detections")
            pieces.append(text[cursor : d.start])
            start = d.start + shift
            placed.append(
                Placed(
                    segment,
                    start,
                    start + len(label),
                    d.start,
                    d.end,
                    d.type,
                    label,
                    d.source,
                    text[d.start : d.end],
                )
            )
            pieces.append(label)
            shift += len(label) - (d.end - d.start)
            cursor = d.end
        pieces.append(text[cursor:])
        output[segment] = "".join(pieces)
    placed.sort(key=lambda p: (rank.get(p.segment, len(rank) + p.segment), p.start))
    return output, placed
