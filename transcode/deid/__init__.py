"""De-identification of interview transcripts (CONTRACT section 4).

Layers, each a module with a pure core:

- :mod:`~transcode.deid.recognizers`: regular expressions and Presidio's pattern
  recognisers for contact details, addresses, IDs, exact dates and ages;
- :mod:`~transcode.deid.ner`: spaCy named entities, with a second look at
  lower-case and capitalised names;
- :mod:`~transcode.deid.names`: the project's known names (fuzzy) and names
  carried across the case;
- :mod:`~transcode.deid.placeholders`: typed, numbered, case-consistent
  placeholders.

:func:`deidentify` runs them all on a :class:`~transcode.transcript.Transcript`.
The case id and the speaker labels are not identifiers and stay; metadata
values and turn text are de-identified. Original values never leave memory
except through :mod:`~transcode.deid.keyfile`, encrypted.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from transcode.deid.names import (
    NameMatcher,
    carry_over,
    drop_common_words,
    load_known_names,
    parse_known_names,
)
from transcode.deid.placeholders import Placed, assign_placeholders, normalise
from transcode.deid.recognizers import pattern_detections, presidio_detections
from transcode.deid.spans import IDENTIFIER_TYPES, Detection, join_adjacent_names, merge_overlapping, tidy
from transcode.transcript import Transcript

__all__ = [
    "IDENTIFIER_TYPES",
    "CaseDetections",
    "DeidResult",
    "Deidentifier",
    "Detection",
    "Replacement",
    "apply_detections",
    "deidentify",
    "load_known_names",
    "load_names",
    "parse_known_names",
]

#: The name the shared CLI helpers use for :func:`load_known_names`.
load_names = load_known_names

#: Where a segment's text lives in a transcript: ("metadata", key) or ("turn", index).
SegmentRef = tuple[str, Any]
_NAMED_TYPES = ("PERSON", "ORG", "PLACE")


@dataclass(frozen=True)
class Replacement:
    """One placeholder in the de-identified transcript.

    ``turn`` indexes ``transcript.turns`` (``None`` for a metadata value, then
    ``field`` is ``metadata:<key>``); ``start``/``end`` are offsets of the
    placeholder in the output text of that turn or value, ``source_start``/
    ``source_end`` those of the original in the input. ``original`` is for the
    review screen and the encrypted key file only and is never written in clear.
    """

    type: str
    placeholder: str
    turn: int | None
    field: str
    start: int
    end: int
    source_start: int
    source_end: int
    layer: str
    original: str = dataclasses.field(repr=False, compare=False)

    def as_report(self) -> dict[str, Any]:
        """The JSON form for reports: no original value."""
        return {
            "type": self.type,
            "placeholder": self.placeholder,
            "turn": self.turn,
            "field": self.field,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class CaseDetections:
    """What the layers found in one transcript, before placeholders: the unit a reviewer edits."""

    transcript: Transcript
    segments: tuple[str, ...]
    refs: tuple[SegmentRef, ...]
    detections: tuple[Detection, ...]

    def with_detections(self, detections: Iterable[Detection]) -> CaseDetections:
        merged = join_adjacent_names(merge_overlapping(detections), self.segments)
        return replace(self, detections=tuple(merged))

    def segment_of_turn(self, turn: int) -> int:
        return self.refs.index(("turn", turn))


@dataclass(frozen=True)
class DeidResult:
    """The de-identified transcript and every replacement made in it."""

    transcript: Transcript
    replacements: tuple[Replacement, ...]

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.type for r in self.replacements))

    def mapping(self) -> dict[str, list[str]]:
        """Placeholder -> the distinct original spellings it hides (for the encrypted key file only)."""
        out: dict[str, list[str]] = {}
        for r in self.replacements:
            values = out.setdefault(r.placeholder, [])
            if r.original not in values:
                values.append(r.original)
        return out


def transcript_segments(transcript: Transcript) -> tuple[tuple[str, ...], tuple[SegmentRef, ...]]:
    """Metadata values first (they head the file), then turn texts; case id and labels are no segments."""
    refs: list[SegmentRef] = [("metadata", k) for k in transcript.metadata]
    refs += [("turn", i) for i in range(len(transcript.turns))]
    texts = [transcript.metadata[k] if kind == "metadata" else transcript.turns[k].text for kind, k in refs]
    return tuple(texts), tuple(refs)


def vote_types(segments: Sequence[str], detections: Sequence[Detection]) -> list[Detection]:
    """One type per name within a case: "Marcus" tagged ORG once and PERSON twice is a PERSON.
    Known names always win for PERSON."""
    votes: dict[str, Counter[str]] = {}
    for d in detections:
        if d.type in _NAMED_TYPES:
            weight = 5 if d.source == "names" else 1
            votes.setdefault(normalise("PERSON", d.text(segments)), Counter())[d.type] += weight
    chosen = {
        key: max(_NAMED_TYPES, key=lambda t: (count[t], -_NAMED_TYPES.index(t)))
        for key, count in votes.items()
    }
    return [
        replace(d, type=chosen[normalise("PERSON", d.text(segments))]) if d.type in _NAMED_TYPES else d
        for d in detections
    ]


class Deidentifier:
    """Holds the loaded model and the options; reuse one for many transcripts.

    ``use_ner=False`` leaves out spaCy (patterns and names only), ``use_presidio``
    adds Presidio's pattern recognisers, ``strict_dates`` also removes months
    alone, ``redact_groups`` also removes nationalities and religions (NORP),
    which are otherwise removed only as part of a name ("the Korean Church").
    """

    def __init__(
        self,
        known_names: Iterable[str] = (),
        *,
        nlp=None,
        use_ner: bool = True,
        use_presidio: bool = True,
        strict_dates: bool = False,
        redact_groups: bool = False,
    ):
        from transcode.deid.ner import english_lexicon

        if use_ner and nlp is None:
            from transcode.verified import load_spacy

            nlp = load_spacy()
        self.nlp = nlp if use_ner else None
        self.lexicon = english_lexicon(self.nlp)
        self.known = NameMatcher(known_names, fuzzy=True, lexicon=self.lexicon)
        self.use_presidio = use_presidio
        self.strict_dates = strict_dates
        self.redact_groups = redact_groups

    def detect_segments(self, segments: Sequence[str]) -> list[Detection]:
        """All layers over the segments of one case; non-overlapping spans, one type per name."""
        found = pattern_detections(segments, strict_dates=self.strict_dates)
        if self.use_presidio:
            found += presidio_detections(segments, strict_dates=self.strict_dates)
        name_use = None
        if self.nlp is not None:
            from transcode.deid.ner import analyse

            analysis = analyse(
                self.nlp,
                segments,
                lexicon=self.lexicon,
                strict_dates=self.strict_dates,
                redact_groups=self.redact_groups,
            )
            found += analysis.detections
            name_use = analysis.is_name_use
        if self.known:
            found += self.known.find(segments, is_name_use=name_use)
        found = drop_common_words(segments, tidy(found, segments), self.lexicon)
        found += carry_over(segments, merge_overlapping(found), is_name_use=name_use, lexicon=self.lexicon)
        merged = join_adjacent_names(merge_overlapping(found), segments)
        return vote_types(segments, merged)

    def detect(self, transcript: Transcript) -> CaseDetections:
        segments, refs = transcript_segments(transcript)
        return CaseDetections(transcript, segments, refs, tuple(self.detect_segments(segments)))

    def deidentify(self, transcript: Transcript) -> DeidResult:
        return apply_detections(self.detect(transcript))

    def deidentify_texts(self, texts: Sequence[str]) -> tuple[list[str], list[Placed]]:
        """De-identify loose texts as the turns of one case (benchmarks, ad-hoc use)."""
        return assign_placeholders(texts, self.detect_segments(texts))


def apply_detections(case: CaseDetections) -> DeidResult:
    """Replace the case's detections with placeholders and rebuild the transcript."""
    output, placed = assign_placeholders(case.segments, case.detections)
    transcript = case.transcript
    metadata = dict(transcript.metadata)
    turns = list(transcript.turns)
    for (kind, key), text in zip(case.refs, output, strict=True):
        if kind == "metadata":
            metadata[key] = text
        else:
            turns[key] = turns[key].with_text(text)
    replacements = []
    for p in placed:
        kind, key = case.refs[p.segment]
        replacements.append(
            Replacement(
                p.type,
                p.placeholder,
                key if kind == "turn" else None,
                "text" if kind == "turn" else f"metadata:{key}",
                p.start,
                p.end,
                p.source_start,
                p.source_end,
                p.layer,
                p.original,
            )
        )
    clean = replace(transcript, metadata=metadata, turns=tuple(turns))
    return DeidResult(clean, tuple(replacements))


_shared: dict[tuple, Deidentifier] = {}


def deidentify(transcript: Transcript, *, known_names: Iterable[str] = (), **options: Any) -> DeidResult:
    """De-identify one transcript; the model and options are loaded once and reused across calls.

    ``options`` are those of :class:`Deidentifier` (``use_presidio``, ``strict_dates``, ...).
    """
    names = tuple(known_names)
    key = (names, tuple(sorted(options.items())))
    if key not in _shared:
        _shared[key] = Deidentifier(names, **options)
    return _shared[key].deidentify(transcript)
