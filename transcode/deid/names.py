"""Name layers: a project's list of known names, and names carried across a case.

Known names (participants, clients, supervisors, family) are matched whole or
by any of their words, in any case, with or without a possessive, and as
spelling variants ("Jenni", "Jenny's", "Jennys"). Carry-over makes the
model's own finds stick: once "Tomasz" is a person somewhere in a case, every
"Tomasz" and "tomasz" there is, except where the word is plainly used as an
ordinary word ("I hope", "you will").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extractOne
from spacy.lang.en.stop_words import STOP_WORDS

from transcode.deid.ner import NON_IDENTIFYING
from transcode.deid.spans import Detection, word_set
from transcode.errors import InputError

#: (segment, start, word) -> is this occurrence used as a name?
NameUse = Callable[[int, int, str], bool]

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W_])?")
_TITLES = word_set("dr dr. mr mr. mrs mrs. ms ms. miss mx prof prof. doctor professor")
_MAX_NAME_LENGTH = 100


def strip_possessive(word: str) -> str:
    """ "Jenny's" -> "Jenny", "James'" -> "James"; the placeholder then keeps the "'s"."""
    if len(word) > 2 and word[-2:].lower() in ("'s", "’s"):
        return word[:-2]
    if len(word) > 1 and word[-1] in "'’":
        return word[:-1]
    return word


def parse_known_names(text: str, source: str | None = None) -> tuple[str, ...]:
    """One name per line; blank lines and ``#`` comments are skipped; anything else malformed is an error."""
    names: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > _MAX_NAME_LENGTH:
            raise InputError(f"name longer than {_MAX_NAME_LENGTH} characters", source, number)
        if "\t" in line or "," in line and len(line.split(",")) > 2:
            raise InputError("one name per line expected (found a list)", source, number)
        if not any(c.isalpha() for c in line) or any(not (c.isalpha() or c in " .'’-,") for c in line):
            raise InputError(f"not a name: {line[:40]!r}", source, number)
        names.append(" ".join(line.replace(",", " ").split()))
    if not names:
        raise InputError("names file lists no names", source)
    return tuple(dict.fromkeys(names))


def load_known_names(path: str | Path) -> tuple[str, ...]:
    """Read a ``--names`` file; a missing, binary or malformed file is an :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "names file not found" if not path.exists() else "names file is not a file", str(path)
        )
    data = path.read_bytes()
    if b"\x00" in data:
        raise InputError("names file is binary, expected one name per line", str(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("names file is not UTF-8 text", str(path)) from None
    return parse_known_names(text, str(path))


def name_words(name: str) -> set[str]:
    """The lower-case words a name may appear as: the whole name, each word, each hyphen part."""
    words = {" ".join(name.casefold().split())}
    for word in name.casefold().replace(",", " ").split():
        word = word.strip(".'’")
        if len(word) < 2 or word in _TITLES:
            continue
        words.add(word)
        words.update(part for part in word.split("-") if len(part) >= 2)
    return words


class NameMatcher:
    """Finds names in text: exact words in any case, and (with ``fuzzy``) one- or two-letter variants."""

    def __init__(self, names: Iterable[str], *, fuzzy: bool = True, lexicon: Container[str] = frozenset()):
        self.words: set[str] = set()
        for name in names:
            self.words |= name_words(name)
        self.single = sorted(w for w in self.words if " " not in w)
        self.phrases = sorted((w for w in self.words if " " in w), key=len, reverse=True)
        self.fuzzy = fuzzy
        self.lexicon = lexicon

    def __bool__(self) -> bool:
        return bool(self.words)

    def find(
        self, segments: Sequence[str], *, is_name_use: NameUse | None = None, source: str = "names"
    ) -> list[Detection]:
        found: list[Detection] = []
        for i, text in enumerate(segments):
            for phrase in self.phrases:
                pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, phrase.split())) + r"(?!\w)"
                found.extend(
                    Detection(i, m.start(), m.end(), "PERSON", source)
                    for m in re.finditer(pattern, text, re.IGNORECASE)
                )
            for m in _WORD.finditer(text):
                word = m.group(0)
                core = strip_possessive(word)
                if self._matches(core) and (is_name_use is None or is_name_use(i, m.start(), word)):
                    found.append(Detection(i, m.start(), m.start() + len(core), "PERSON", source))
                    continue
                for offset, part in _hyphen_parts(core):
                    if part.casefold() in self.words and part[:1].isupper():
                        found.append(
                            Detection(i, m.start() + offset, m.start() + offset + len(part), "PERSON", source)
                        )
        return found

    def _matches(self, core: str) -> bool:
        key = core.casefold()
        if key in self.words:
            return True
        if not self.fuzzy or len(key) < 4 or key in self.lexicon:
            return False
        if not core[:1].isupper() and not self.lexicon:
            return False
        limit = 1 if len(key) <= 6 else 2
        best = extractOne(key, self.single, scorer=Levenshtein.distance, score_cutoff=limit)
        return best is not None and len(best[0]) >= 4


def _hyphen_parts(word: str) -> list[tuple[int, str]]:
    parts: list[tuple[int, str]] = []
    offset = 0
    if "-" not in word:
        return parts
    for part in word.split("-"):
        if len(part) >= 2:
            parts.append((offset, part))
        offset += len(part) + 1
    return parts


_CONTRACTION = re.compile(r"^\w+['’](?:m|re|ve|ll|d|t|s)$", re.IGNORECASE)


def carried_names(
    segments: Sequence[str], detections: Iterable[Detection], lexicon: Container[str] = frozenset()
) -> tuple[set[str], set[str]]:
    """Names the case has already shown to be people: the words of each PERSON span but titles, stop
    words, role words and contractions. Returned as (any case, capitalised only): an English word that
    the case writes in lower case at least as often as capitalised ("Marching Band" ... "in band")
    carries over only where capitalised; "Jenny" of "Jenny Morales" carries in any case."""
    anycase: set[str] = set()
    capitalised: set[str] = set()
    for d in detections:
        if d.type != "PERSON":
            continue
        for word in _WORD.findall(d.text(segments)):
            core = strip_possessive(word)
            key = core.casefold()
            if (
                len(core) < 2
                or not (core[:1].isupper() or len(core) >= 3)
                or key in _TITLES
                or key in STOP_WORDS
                or key in NON_IDENTIFYING
                or _CONTRACTION.match(core)
            ):
                continue
            ordinary = core[:1].isupper() and key in lexicon and _mostly_lower_case(segments, key)
            (capitalised if ordinary else anycase).add(core)
    keys = {a.casefold() for a in anycase}
    return anycase, {c for c in capitalised if c.casefold() not in keys}


def _mostly_lower_case(segments: Sequence[str], key: str) -> bool:
    pattern = re.compile(r"(?<!\w)" + re.escape(key) + r"(?!\w)", re.IGNORECASE)
    found = [m.group(0) for text in segments for m in pattern.finditer(text)]
    lower = sum(w[:1].islower() for w in found)
    return lower > len(found) - lower


def carry_over(
    segments: Sequence[str],
    detections: Sequence[Detection],
    *,
    is_name_use: NameUse | None = None,
    lexicon: Container[str] = frozenset(),
) -> list[Detection]:
    """Every occurrence, in the whole case, of a person found anywhere in it; places and organisations
    carry over too, but only in the same spelling and case."""
    anycase, capitalised = carried_names(segments, detections, lexicon)
    capitalised_keys = {c.casefold() for c in capitalised}
    found = [
        d
        for d in NameMatcher(anycase | capitalised, fuzzy=False).find(
            segments, is_name_use=is_name_use, source="carry"
        )
        if not (d.text(segments).casefold() in capitalised_keys and d.text(segments)[:1].islower())
    ]
    for kind in ("PLACE", "ORG"):
        spellings = {d.text(segments) for d in detections if d.type == kind}
        for value in sorted(spellings, key=len, reverse=True):
            if not value[:1].isupper() or len(value) < 3:
                continue
            pattern = re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)")
            for i, text in enumerate(segments):
                found.extend(Detection(i, m.start(), m.end(), kind, "carry") for m in pattern.finditer(text))
    return found


_SPOKEN_AS_NAME_SOURCES = frozenset({"names", "pattern", "presidio", "review", "context"})


def drop_common_words(
    segments: Sequence[str], detections: Sequence[Detection], lexicon: Container[str]
) -> list[Detection]:
    """A capitalised one-word "name" that the same case writes more often in lower case is an ordinary
    word the model misread ("Marijuana is..." at a sentence start, "...your marijuana use" elsewhere).
    Known names and names found by their position are never dropped."""
    verdicts: dict[str, bool] = {}
    kept = []
    for d in detections:
        word = strip_possessive(d.text(segments))
        if (
            d.type not in ("PERSON", "ORG", "PLACE")
            or d.source in _SPOKEN_AS_NAME_SOURCES
            or not word[:1].isupper()
            or not word.isalpha()
            or word.casefold() not in lexicon
        ):
            kept.append(d)
            continue
        key = word.casefold()
        if key not in verdicts:
            verdicts[key] = _mostly_lower_case(segments, key)
        if not verdicts[key]:
            kept.append(d)
    return kept
