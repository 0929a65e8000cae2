"""Split participant talk into thought units: one complete idea, usually one to three sentences.

Rules, applied in this order to each participant turn:

1. **Sentences** come from spaCy's dependency parse (robust to "Dr.", "St.").
2. **Ellipses and trailing off never end a unit**: a sentence that ends in an
   ellipsis ("...", ". . .", "…") or a dash joins the next one, and a piece that
   opens with an ellipsis or a lower-case word joins the one before (the parser
   cut a sentence that the speaker had not finished). Quoted interviews mark
   left-out words with ". . .", and people trail off mid-thought: neither is a
   change of idea.
3. **Quotes stay whole**: a sentence that opens a quotation without closing it is
   joined to the following sentences until the quote closes; a sentence that only
   introduces speech ("And she said,") joins the quote after it.
4. **Fragments join a neighbour**: a sentence with fewer than ``min_words`` words
   or no verb ("Yeah.", "I don't know.", "[laughs]", "Right, so.") is not an idea
   of its own; it joins the next sentence at the start of a turn and the previous
   one elsewhere, so back-channels never become units. A turn that is only a
   fragment stays one unit.
5. **Continuations join the previous sentence**: a sentence that opens with a
   non-verbal annotation ("[laughs] And then...") or with filler "like" carries on
   the idea before it.
6. **Ideas, not sentences**: speakers spread one idea over several short
   sentences ("It was good. Like honestly, one of my better ones."). A sentence
   starts a new unit only when the unit so far has ``min_unit_words`` words and
   the sentence either opens with a discourse marker that moves the account on
   ("And", "So", "But", "Then", "Because", "After", "Now", "Anyway") or follows a
   unit that already has ``soft_max_words`` words. On the demo's gold units this
   takes boundary F1 from 0.78 (every sentence a unit) to about 0.85, with the
   unit count within a few percent of people's.
7. **Run-ons are cut**: a unit longer than ``max_words`` words is split before a
   discourse marker that follows a comma or "and" (", and then", ", but", ", so",
   "anyway", "because"...), as long as both sides keep ``min_words`` words and
   the cut is not inside a quotation.

Each unit keeps its character offsets in the turn text, its turn number (1-based)
and the text of the interviewer turn that preceded it (the question it answers).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from transcode.transcript import Transcript

MIN_WORDS = 4
MAX_WORDS = 60
#: A unit needs this many words before a following sentence may start a new one.
MIN_UNIT_WORDS = 6
#: Past this many words, any full sentence starts a new unit (not only one opening with a marker).
SOFT_MAX_WORDS = 16
_DISCOURSE_MARKERS = re.compile(
    r",\s+(?=(?:and then|and so|but|so|anyway|because|and that's when|which"
    r"|and I|and she|and he|and they)\b)",
    re.IGNORECASE,
)
_QUOTE_INTRO = re.compile(r"\b(said|says|goes|went|told me|asked|was like|asked me|yelled)\s*[,:]?\s*$", re.I)
_WORD = re.compile(r"[A-Za-z0-9']+")
_ANNOTATION = re.compile(r"\[[^\]]*\]")
_CONTINUATION = re.compile(r"(?:\[[^\]]*\]|like\b)", re.IGNORECASE)
#: A sentence ending like this was left unfinished (trailing off, or words left out of a quote).
_UNFINISHED_END = re.compile(r"(?:\.\s*\.\s*\.|\u2026|-{1,2}|\u2014|\u2013)[\s\"'\u201d\u2019]*$")
#: A piece opening like this continues a sentence the parser cut.
_UNFINISHED_START = re.compile(r"(?:\.\s*\.\s*\.|\u2026|[a-z])")
#: Discourse markers that move a spoken account on to its next idea.
_NEW_IDEA = re.compile(r"(?:and|so|but|then|because|after|now|anyway)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ThoughtUnit:
    case: str
    index: int  # 1-based position among the case's units
    turn: int  # 1-based turn number in the transcript
    start: int  # character offsets in the turn's text
    end: int
    text: str
    question: str | None

    @property
    def unit_id(self) -> str:
        return f"{self.case}-{self.index:04d}"


def split_transcript(
    transcript: Transcript, nlp=None, *, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[ThoughtUnit]:
    """Thought units of every participant turn, in transcript order."""
    return split_transcripts([transcript], nlp, min_words=min_words, max_words=max_words)[0]


def split_transcripts(
    transcripts: Sequence[Transcript], nlp=None, *, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[list[ThoughtUnit]]:
    """Batch version: one spaCy pass over all participant turns of all transcripts."""
    if nlp is None:
        from transcode.verified import load_spacy

        nlp = load_spacy()
    jobs = []  # (transcript index, turn number, turn text, question)
    for t_index, transcript in enumerate(transcripts):
        question = None
        for number, turn in enumerate(transcript.turns, start=1):
            if turn.speaker_role == "interviewer":
                question = turn.text
            elif turn.speaker_role == "participant" and turn.text.strip():
                jobs.append((t_index, number, turn.text, question))
    docs = nlp.pipe((job[2] for job in jobs), disable=["ner", "lemmatizer"], batch_size=64)
    results: list[list[ThoughtUnit]] = [[] for _ in transcripts]
    for (t_index, number, text, question), doc in zip(jobs, docs, strict=True):
        spans = [(s.start_char, s.end_char) for s in doc.sents]
        verbs = [any(tok.pos_ in ("VERB", "AUX") for tok in s) for s in doc.sents]
        for start, end in segment_turn(text, spans, verbs, min_words=min_words, max_words=max_words):
            unit_list = results[t_index]
            unit_list.append(
                ThoughtUnit(
                    transcripts[t_index].case,
                    len(unit_list) + 1,
                    number,
                    start,
                    end,
                    text[start:end],
                    question,
                )
            )
    return results


def segment_turn(
    text: str,
    sentences: Sequence[tuple[int, int]],
    has_verb: Sequence[bool] | None = None,
    *,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    min_unit_words: int = MIN_UNIT_WORDS,
    soft_max_words: int = SOFT_MAX_WORDS,
) -> list[tuple[int, int]]:
    """The pure core: sentence spans of one turn -> thought-unit spans (rules 2-7)."""
    spans = [s for s in _trim_all(text, sentences) if s[1] > s[0]]
    if has_verb is None:
        has_verb = [True] * len(spans)
    flags = list(has_verb)[: len(spans)] + [True] * max(0, len(spans) - len(has_verb))
    spans, flags = _join_unfinished(text, spans, flags)
    spans, flags = _join_quotes(text, spans, flags)
    spans = _join_fragments(text, spans, flags, min_words)
    spans = _join_continuations(text, spans)
    spans = _group_ideas(text, spans, min_words, min_unit_words, soft_max_words)
    out: list[tuple[int, int]] = []
    for span in spans:
        out.extend(_cut_run_on(text, span, min_words, max_words))
    return out


def _trim_all(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    trimmed = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        trimmed.append((start, end))
    return trimmed


def _words(text: str) -> int:
    return len(_WORD.findall(_ANNOTATION.sub(" ", text)))


def _open_quote(fragment: str) -> bool:
    straight = len(re.findall(r'(?<!\w)"|"(?!\w)', fragment)) % 2 == 1
    curly = fragment.count("\u201c") > fragment.count("\u201d")
    single = len(re.findall(r"(?<![\w])'(?=\w)", fragment)) > len(
        re.findall(r"(?<=[\w.!?,])'(?!\w)", fragment)
    )
    return straight or curly or single


def _join_unfinished(text, spans, flags):
    """Rule 2: no unit ends at an ellipsis or a dash, nor where the parser cut an unfinished sentence."""
    cased = any(text[start].isupper() for start, _ in spans)  # lower-case transcripts: no case cue
    out: list[tuple[int, int]] = []
    out_flags: list[bool] = []
    for span, flag in zip(spans, flags, strict=True):
        if out and (
            _UNFINISHED_END.search(text, out[-1][0], out[-1][1])
            or (_UNFINISHED_START.match(text, span[0]) and (cased or not text[span[0]].isalpha()))
        ):
            out[-1] = (out[-1][0], span[1])
            out_flags[-1] = out_flags[-1] or flag
            continue
        out.append(span)
        out_flags.append(flag)
    return out, out_flags


def _join_quotes(text, spans, flags):
    out: list = []
    out_flags: list = []
    for span, flag in zip(spans, flags, strict=True):
        if out:
            previous = text[out[-1][0] : out[-1][1]]
            if _open_quote(previous) or _QUOTE_INTRO.search(previous):
                out[-1] = (out[-1][0], span[1])
                out_flags[-1] = out_flags[-1] or flag
                continue
        out.append(span)
        out_flags.append(flag)
    return out, out_flags


def _join_fragments(text, spans, flags, min_words):
    units = list(spans)
    fragment = [(_words(text[s:e]) < min_words or not f) for (s, e), f in zip(units, flags, strict=True)]
    i = 0
    while len(units) > 1 and i < len(units):
        if not fragment[i]:
            i += 1
            continue
        if i == 0:
            units[0:2] = [(units[0][0], units[1][1])]
            fragment[0:2] = [fragment[1] and _words(text[units[0][0] : units[0][1]]) < min_words]
        else:
            units[i - 1 : i + 1] = [(units[i - 1][0], units[i][1])]
            fragment[i - 1 : i + 1] = [fragment[i - 1]]
            i -= 1
        i = max(i, 0)
        if len(units) == 1:
            break
    return units


def _join_continuations(text, spans):
    out: list[tuple[int, int]] = []
    for span in spans:
        if out and _CONTINUATION.match(text, span[0]):
            out[-1] = (out[-1][0], span[1])
        else:
            out.append(span)
    return out


def _group_ideas(text, spans, min_words, min_unit_words, soft_max_words):
    """Rule 6: a sentence starts a new unit only where the account moves on (or the unit is long)."""
    out: list[tuple[int, int]] = []
    for span in spans:
        if out:
            so_far = _words(text[out[-1][0] : out[-1][1]])
            moves_on = bool(_NEW_IDEA.match(text, span[0])) or so_far >= soft_max_words
            if not (so_far >= min_unit_words and _words(text[span[0] : span[1]]) >= min_words and moves_on):
                out[-1] = (out[-1][0], span[1])
                continue
        out.append(span)
    return out


def _cut_run_on(text, span, min_words, max_words):
    start, end = span
    if _words(text[start:end]) <= max_words:
        return [span]
    best = None
    middle = (start + end) / 2
    for match in _DISCOURSE_MARKERS.finditer(text, start, end):
        cut = match.start() + 1
        left, right = text[start:cut], text[match.end() : end]
        if (
            _words(left) >= min_words
            and _words(right) >= min_words
            and not _open_quote(left)
            and (best is None or abs(cut - middle) < abs(best[0] - middle))
        ):
            best = (cut, match.end())
    if best is None:
        return [span]
    left_span = _trim_all(text, [(start, best[0])])[0]
    right_span = (best[1], end)
    return _cut_run_on(text, left_span, min_words, max_words) + _cut_run_on(
        text, right_span, min_words, max_words
    )


@dataclass(frozen=True)
class BoundaryAgreement:
    """How well unit boundaries (turn, end offset) match reference ones; ends within ``tolerance`` match."""

    precision: float
    recall: float
    f1: float
    n_units: int
    n_reference: int


def boundary_agreement(
    predicted: Iterable[tuple[Hashable, int]],
    reference: Iterable[tuple[Hashable, int]],
    tolerance: int = 3,
) -> BoundaryAgreement:
    """Boundary precision, recall and F1 of unit ends against reference unit ends.

    Both are (turn, end offset) pairs, a turn being any key (e.g. case and turn number); an
    end within ``tolerance`` characters of a reference end in the same turn is the same
    boundary (trailing punctuation).
    """
    ends, gold = set(predicted), set(reference)
    gold_by_turn: dict[Hashable, list[int]] = {}
    for turn, end in gold:
        gold_by_turn.setdefault(turn, []).append(end)
    ends_by_turn: dict[Hashable, list[int]] = {}
    for turn, end in ends:
        ends_by_turn.setdefault(turn, []).append(end)
    hit = sum(1 for t, e in ends if any(abs(e - g) <= tolerance for g in gold_by_turn.get(t, ())))
    found = sum(1 for t, g in gold if any(abs(e - g) <= tolerance for e in ends_by_turn.get(t, ())))
    precision = hit / len(ends) if ends else 0.0
    recall = found / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return BoundaryAgreement(precision, recall, f1, len(ends), len(gold))
