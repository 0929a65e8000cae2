"""Pattern layer: identifiers with a recognisable shape (contact details, addresses, IDs, dates, ages).

Regular expressions catch what a statistical NER model is bad at: phone
numbers, emails and record numbers. Presidio's own pattern recognisers
(phone numbers through ``phonenumbers``, SSNs, cards, IBANs, IPs...) run as a
second opinion; the benchmark measures what they add.

Date policy (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C), removes every
element of a date except the year): a date that pins a day or a month of a
given year goes ("March 3rd", "03/10/2024", "June 2024"), a year alone stays,
and relative or vague times stay ("last spring", "two weeks later"). A month
or weekday alone ("in March", "on Tuesday") stays by default: it cannot be
matched to a calendar day, and interviews about a therapy year lean on it to
tell the story. ``strict_dates=True`` removes months alone as well, for
projects that want the literal reading of Safe Harbor.

Age policy: any stated age of a person goes (the demo study, like most small
qualitative samples, treats "he was fifty-two" as identifying next to a
setting and a job), and so does anything that says someone is over 89
("in her nineties"), which Safe Harbor requires. Ranges like "in his
forties" and durations ("twenty years at the plant") stay.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Sequence
from functools import cache

from transcode.deid.spans import Detection

_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_SPELLED = (
    rf"(?:(?:{_TENS})(?:[- ](?:{_UNITS}))?|(?:{_TEENS})|(?:a |one )?hundred(?: and (?:{_TENS}|{_TEENS}|"
    rf"{_UNITS})(?:[- ](?:{_UNITS}))?)?|(?:{_UNITS}))"
)
_AGE_NUMBER = rf"(?:1[01]\d|120|[1-9]?\d|{_SPELLED})"
_ORDINAL_WORDS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    "thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    "twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|"
    "thirty[- ]first"
)
_FILLERS = (
    r"(?:(?:uh|um|er|like|only|just|about|around|maybe|probably|almost|nearly|barely|already|still|now|"
    r"i think|you know|what|only just|turning|actually)\s*,?\s+)"
)

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DAY = rf"(?:(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?|{_ORDINAL_WORDS})"
_YEAR = r"(?:(?:1[89]|20)\d{2}|'\d{2})"
_HOLIDAY = (
    r"(?:Christmas(?: Eve| Day)?|Thanksgiving|Easter|New Year's(?: Eve| Day)?|Halloween|"
    r"Independence Day|Labor Day|Memorial Day|Valentine's Day|Hanukkah|Diwali|Ramadan|Eid)"
)

_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|"
    r"Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Trail|Crescent|Close|Row|Plaza|"
    r"Alley|Pike|Turnpike|Heights|Grove|Mews)"
)
_STREET_SUFFIX_FULL = (
    r"(?:Street|Avenue|Road|Boulevard|Lane|Drive|Court|Terrace|Parkway|Highway|Crescent|"
    r"Plaza|Alley|Turnpike)"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|"
    "NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
_TLDS = r"(?:com|org|net|edu|gov|io|co|uk|us|ca|au|info|biz|me|ly|app|dev|health|ai)"
_SPOKEN_TLDS = r"(?:com|org|net|edu|gov|io|co|uk|us|ca)"
_ID_KEYWORDS = (
    r"(?:MRN|medical\s+record(?:\s+(?:number|no\.?|#))?|(?:record|chart|case|file|account|policy|"
    r"license|licence|reference|confirmation|claim)\s+(?:number|no\.?|#)|(?:patient|member|client|"
    r"student|employee|insurance|subscriber|medicaid|medicare)\s+(?:id|number|no\.?|#)|ID(?:\s+number)?|"
    r"SSN|social(?:\s+security)?\s+number|passport(?:\s+number)?|NHS\s+number)"
)
_STOP_STREET_WORDS = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "my",
    "our",
    "your",
    "his",
    "her",
    "their",
    "on",
    "in",
    "at",
    "of",
    "to",
    "down",
    "up",
    "and",
    "or",
    "from",
    "off",
    "by",
    "past",
    "across",
    "into",
}

_I = re.IGNORECASE

#: (compiled pattern, type, name of the group holding the identifier or None for the whole match)
_PATTERNS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"), "EMAIL", None),
    (re.compile(rf"\b[\w.]+(?:\s+dot\s+\w+)*\s+at\s+\w+(?:\s+dot\s+{_SPOKEN_TLDS})+\b", _I), "EMAIL", None),
    (re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", _I), "URL", None),
    (
        re.compile(
            rf"(?<![@\w.-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.{_TLDS}(?:/[^\s<>\"']*[^\s<>\"'.,;:!?)\]])?"
            r"(?![\w@-])",
            _I,
        ),
        "URL",
        None,
    ),
    (re.compile(rf"\b\w+\s+dot\s+{_SPOKEN_TLDS}\b", _I), "URL", None),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "ID", None),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "ID", None),
    (re.compile(r"\b(?:\d{4}[\s-]){3}\d{1,4}\b"), "ID", None),
    (
        re.compile(
            r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
            r"(?:\s*(?:ext\.?|extension|x)\s*\d{1,5})?(?![\w/-])",
            _I,
        ),
        "PHONE",
        None,
    ),
    (re.compile(r"(?<![\w/.-])\d{10}(?![\w/-])"), "PHONE", None),
    (re.compile(r"(?<![\w/.$-])\d{3}-\d{4}(?![\w/-])"), "PHONE", None),
    (re.compile(r"(?<![\w+])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?![\w-])"), "PHONE", None),
    (re.compile(r"(?<![\w/.-])0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w/-])"), "PHONE", None),
    (
        re.compile(
            rf"\b{_ID_KEYWORDS}\b[\s:#.,]*(?:(?:is|was|of)\b[\s:#]*)?(?P<v>[A-Z0-9][A-Z0-9-]{{2,}})", _I
        ),
        "ID",
        "v",
    ),
    (re.compile(r"\b(?:MRN|SSN|NHS)\s*[:#]?\s*(?:number\s*)?[A-Z0-9-]*\d{3,}[A-Z0-9-]*"), "ID", None),
    (re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{1,}-?[A-Z0-9]{3,}\b"), "ID", None),
    (
        re.compile(
            r"(?<![\d$£€,.])\d{7,}(?!\d|[,.]\d|\s*(?:dollars|pounds|euros|bucks|people|users|views))", _I
        ),
        "ID",
        None,
    ),
    (re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", _I), "ADDRESS", None),
    (
        re.compile(
            rf"\b\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?"
            rf"(?P<name>(?:[\w'-]+\.?\s+){{0,3}}?){_STREET_SUFFIX}\b\.?"
            r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|#)\s*[\w-]+)?"
            rf"(?-i:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?(?:,?\s+(?:{_US_STATES})\b)?)?(?:,?\s+\d{{5}}(?:-\d{{4}})?)?",
            _I,
        ),
        "ADDRESS",
        None,
    ),
    (re.compile(rf"\b(?:[A-Z][a-z]+\s+){{1,3}}{_STREET_SUFFIX_FULL}\b"), "ADDRESS", None),
    (re.compile(rf"\b(?:\d{{1,3}}(?:st|nd|rd|th))\s+{_STREET_SUFFIX_FULL}\b"), "ADDRESS", None),
    (re.compile(r"\b(?:Apt\.?|Apartment|Suite|Unit)\s*#?\s*\d+[A-Z]?\b"), "ADDRESS", None),
    (
        re.compile(
            rf"\b(?:zip(?:\s*code)?|post(?:al)?\s*code)\b\W{{0,3}}(?:(?:is|was)\s+)?"
            rf"(?P<v>\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE})",
            _I,
        ),
        "ADDRESS",
        "v",
    ),
    (re.compile(rf"\b(?:{_US_STATES}),?\s+(?P<v>\d{{5}}(?:-\d{{4}})?)\b"), "ADDRESS", "v"),
    (re.compile(rf"\b{_UK_POSTCODE}\b"), "ADDRESS", None),
    (re.compile(r"\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"), "ADDRESS", None),
    (
        re.compile(rf"\b(?:{_WEEKDAY},?\s+)?{_MONTH}\s+(?:the\s+)?{_DAY}\b(?:,?\s+{_YEAR}\b)?", _I),
        "DATE",
        None,
    ),
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?", _I), "DATE", None),
    (re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}\b", _I), "DATE", None),
    (re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"), "DATE", None),
    (re.compile(r"\b(?:1[89]|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"), "DATE", None),
    (
        re.compile(
            r"\b(?:on|since|until|till|by|from|born|dob|dated)\s+(?P<v>(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01]))"
            r"(?![/\d])",
            _I,
        ),
        "DATE",
        "v",
    ),
    (re.compile(rf"\b{_HOLIDAY}(?:,?\s+(?:of\s+)?(?:(?:1[89]|20)\d{{2}}))", _I), "DATE", None),
    (
        re.compile(
            rf"(?P<v>\b{_AGE_NUMBER})(?=[\s-]*(?:(?:years?|yrs?|months?|weeks?)[\s-]*old\b|y/o\b|yo\b|y\.o\.))",
            _I,
        ),
        "AGE",
        "v",
    ),
    (
        re.compile(
            rf"\b(?:aged|ages?(?:\s+of)?|turn(?:ed|s|ing)?)\s+(?P<v>{_AGE_NUMBER})\b(?!\s*(?:%|percent|"
            r"minutes|hours|days|weeks|months|sessions|times|o'clock|pm|am))",
            _I,
        ),
        "AGE",
        "v",
    ),
    (
        re.compile(
            rf"\b(?P<v>\d{{1,3}}(?:st|nd|rd|th)|{_ORDINAL_WORDS}|(?:{_TENS})[- ]?(?:{_ORDINAL_WORDS})|"
            r"(?:twentieth|thirtieth|fortieth|fiftieth|sixtieth|seventieth|eightieth|ninetieth|hundredth))"
            r"\s+birthday",
            _I,
        ),
        "AGE",
        "v",
    ),
    (
        re.compile(rf"\bhow\s+old\s+(?:are|is|was|were)\s+\w+\W{{1,3}}{_FILLERS}*(?P<v>{_AGE_NUMBER})\b", _I),
        "AGE",
        "v",
    ),
    (re.compile(r"(?<![°.\d])\b(?P<v>1[01]\d|[1-9]?\d)\s?[FM]\b(?![.\w]\w)"), "AGE", "v"),
    (
        re.compile(
            r"\bin(?:to)?\s+(?:his|her|their|my|your|its)\s+(?P<v>(?:late\s+|early\s+|mid[-\s]?)?"
            r"(?:nineties|90s|90's|hundreds))",
            _I,
        ),
        "AGE",
        "v",
    ),
]

#: "he was, uh, fifteen," / "I'm 28." / "Tomasz was fifty-two": a person, a form of "be", an age,
#: then the end of the clause, so "he was twenty minutes late" stays.
_SUBJECT_AGE = re.compile(
    rf"\b(?P<subj>[Ii]|[Hh]e|[Ss]he|[Tt]hey|[Yy]ou|[Ww]e|[Ww]ho|[A-Z][a-z]+)(?:'s|'m|'re|’s|’m|’re|\s*,?\s+(?:is|was|am|are|"
    rf"were|'s)\b)\s*,?\s*{_FILLERS}*(?P<v>{_AGE_NUMBER})"
    r"(?=\s*(?:[,.;:!?)\]\"'’”]|$|-?\s*(?:years?\b|yrs?\b|and\s+(?:a|he|she|i|they)\b|or\s+so\b|at\s+the\s+time\b|"
    r"when\b|now\b|then\b|too\b|himself\b|herself\b)))",
)
_NOT_A_PERSON = {
    "It",
    "That",
    "This",
    "There",
    "Which",
    "What",
    "Who",
    "Where",
    "Here",
    "Mine",
    "Each",
    "One",
    "Score",
    "Session",
    "Week",
    "Time",
    "Number",
    "Total",
    "Rate",
    "Count",
}

_MONTH_ALONE = re.compile(
    r"\b(?:January|February|March|April|June|July|August|September|October|November|"
    r"December)\b|\b(?<=in |of |by )May\b"
)
_BORN_IN = re.compile(r"\bborn\s+(?:in\s+)?(?P<v>1[89]\d{2})\b", _I)

_EXACT_DATE_NUMERIC = re.compile(r"(?<![:\d])\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?(?![:\d])")
_MONTH_NAME = re.compile(rf"\b{_MONTH}(?!\w)", _I)
_DAY_OR_YEAR = re.compile(rf"\b(?:{_DAY}|{_YEAR})\b", _I)


def is_exact_date(text: str) -> bool:
    """Does this date expression pin a day or a month of a year (Safe Harbor), rather than a vague time?"""
    if _EXACT_DATE_NUMERIC.search(text):
        return True
    return bool(_MONTH_NAME.search(text) and _DAY_OR_YEAR.search(_MONTH_NAME.sub(" ", text)))


def find_patterns(
    text: str, *, strict_dates: bool = False, year: int | None = None
) -> list[tuple[int, int, str]]:
    """Every (start, end, type) the regular expressions find in ``text``; overlaps are left to the caller."""
    found: list[tuple[int, int, str]] = []
    for pattern, kind, group in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span(group or 0)
            if start == end:
                continue
            if kind == "ID" and not _plausible_id(match.group(group or 0)):
                continue
            if kind == "ADDRESS" and not _plausible_street(match):
                continue
            found.append((start, end, kind))
    for match in _SUBJECT_AGE.finditer(text):
        if match.group("subj") not in _NOT_A_PERSON:
            found.append((*match.span("v"), "AGE"))
    cutoff = (year or datetime.date.today().year) - 90
    for match in _BORN_IN.finditer(text):
        if int(match.group("v")) <= cutoff:
            found.append((*match.span("v"), "DATE"))
    if strict_dates:
        found.extend((*m.span(), "DATE") for m in _MONTH_ALONE.finditer(text))
    return found


def _plausible_id(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    return digits >= 4 or (digits >= 3 and len(value) >= 6)


def _plausible_street(match: re.Match[str]) -> bool:
    """A numbered street needs a name, not "3 blocks down the road"."""
    name = match.groupdict().get("name")
    if name is None:
        words = match.group(0).split()[:-1]
        return bool(words) and words[0].lower() not in _STOP_STREET_WORDS
    words = [w.strip(".").lower() for w in name.split()]
    return not any(w in _STOP_STREET_WORDS for w in words)


def pattern_detections(segments: Sequence[str], *, strict_dates: bool = False) -> list[Detection]:
    """The regex layer over every segment."""
    return [
        Detection(i, start, end, kind, "pattern")
        for i, text in enumerate(segments)
        for start, end, kind in find_patterns(text, strict_dates=strict_dates)
    ]


#: Presidio recogniser entity -> our type. Email/URL validation in Presidio calls tldextract, which
#: we point at its bundled suffix list so nothing is fetched from the network.
PRESIDIO_TYPES = {
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "URL": "URL",
    "IP_ADDRESS": "ID",
    "US_SSN": "ID",
    "CREDIT_CARD": "ID",
    "IBAN_CODE": "ID",
    "UK_NHS": "ID",
    "MEDICAL_LICENSE": "ID",
    "US_MBI": "ID",
    "US_NPI": "ID",
    "DATE_TIME": "DATE",
}
PRESIDIO_MIN_SCORE = 0.3
#: Presidio reads "getting.And" (a transcript's missing space) as a domain; keep URLs that look like one.
_URL_SHAPE = re.compile(rf"://|\bwww\.|\.{_TLDS}\b(?!\.\w)", re.IGNORECASE)


@cache
def presidio_recognizers() -> tuple:
    """Presidio's predefined pattern recognisers that need no NLP model (built once)."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    import tldextract.tldextract

    tldextract.tldextract.TLD_EXTRACTOR.suffix_list_urls = ()
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        MedicalLicenseRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
        UsMbiRecognizer,
        UsNpiRecognizer,
        UsSsnRecognizer,
    )

    return tuple(
        cls()
        for cls in (
            PhoneRecognizer,
            EmailRecognizer,
            UrlRecognizer,
            IpRecognizer,
            UsSsnRecognizer,
            CreditCardRecognizer,
            IbanRecognizer,
            NhsRecognizer,
            MedicalLicenseRecognizer,
            UsMbiRecognizer,
            UsNpiRecognizer,
            DateRecognizer,
        )
    )


def presidio_detections(segments: Sequence[str], *, strict_dates: bool = False) -> list[Detection]:
    """Presidio's pattern recognisers over every segment, mapped to our types and our date policy."""
    recognizers = presidio_recognizers()
    found: list[Detection] = []
    for i, text in enumerate(segments):
        for recognizer in recognizers:
            for result in recognizer.analyze(text, recognizer.supported_entities, None) or ():
                kind = PRESIDIO_TYPES.get(result.entity_type)
                if kind is None or result.score < PRESIDIO_MIN_SCORE:
                    continue
                value = text[result.start : result.end]
                if kind == "DATE" and not (strict_dates or is_exact_date(value)):
                    continue
                if kind == "URL" and not _URL_SHAPE.search(value):
                    continue
                found.append(Detection(i, result.start, result.end, kind, "presidio"))
    return found
