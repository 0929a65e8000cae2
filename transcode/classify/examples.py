"""Labelled thought units the learner trains and is evaluated on, from three sources.

* gold files (``corpora/demo/gold/units.jsonl``) with the transcripts beside them,
  which supply each unit's question (the interviewer turn before its turn);
* the project store's consensus codes (never one judge's codes: see
  :func:`consensus_examples`);
* AnnoMI (real counselling dialogues), read as two label sets;
* MTS-Dialog (doctor-patient dialogue snippets), labelled with their clinical note section.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from transcode.codebook import Codebook, parse_codebook
from transcode.errors import InputError
from transcode.files import read_text


@dataclass(frozen=True)
class LabelledUnit:
    """A unit with its confirmed domains (empty: "other") and its turn number in the transcript."""

    case: str
    unit: str
    text: str
    question: str | None
    domains: frozenset[str]
    turn: int = 0


def load_gold_units(path: str | Path, transcripts_dir: str | Path | None = None) -> list[LabelledUnit]:
    """Gold units with the question before each, taken from the case transcripts, de-identified.

    ``transcripts_dir`` defaults to the folder above the gold folder
    (``corpora/demo/`` for ``corpora/demo/gold/units.jsonl``). A unit whose
    transcript cannot be found gets no question. Gold files hold the raw words, so
    each case's units and questions pass through de-identification together (one
    set of placeholders per case), as precode's units do: a model trained here
    keeps terms in its files, and none of them may be an identifier.
    """
    from transcode.ingest import read_transcript

    path = Path(path)
    if not path.is_file():
        raise InputError("gold file not found", str(path))
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not all(isinstance(row.get(k), str | int) for k in ("case", "unit", "turn", "text")):
                raise TypeError("case, unit, turn and text must be strings or numbers")
            domains = row.get("domains") or []
            if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
                raise TypeError("domains must be a list of domain ids")
            rows.append(
                (
                    str(row["case"]),
                    str(row["unit"]),
                    int(row["turn"]),
                    str(row["text"]),
                    frozenset(d for d in domains if d != "other"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise InputError(f"not a gold unit line ({err})", str(path), number) from None
    folder = Path(transcripts_dir) if transcripts_dir else path.parent.parent
    cases = {r[0] for r in rows}
    questions: dict[str, dict[int, str | None]] = {}
    for candidate in sorted(folder.glob("*.txt")):
        transcript = read_transcript(candidate)
        if transcript.case in cases:
            questions[transcript.case] = _questions_by_turn(transcript)
    return _deidentified(
        [
            LabelledUnit(case, unit, text, questions.get(case, {}).get(turn), domains, turn)
            for case, unit, turn, text, domains in rows
        ]
    )


def _deidentified(units: list[LabelledUnit]) -> list[LabelledUnit]:
    from transcode.deid import Deidentifier

    deidentifier = Deidentifier()
    by_case: dict[str, list[int]] = defaultdict(list)
    for i, unit in enumerate(units):
        by_case[unit.case].append(i)
    out = list(units)
    for indices in by_case.values():
        asked = list(dict.fromkeys(q for i in indices if (q := units[i].question)))
        clean, _ = deidentifier.deidentify_texts([units[i].text for i in indices] + asked)
        clean_question = dict(zip(asked, clean[len(indices) :], strict=True))
        for i, text in zip(indices, clean[: len(indices)], strict=True):
            question = units[i].question
            out[i] = replace(units[i], text=text, question=clean_question[question] if question else None)
    return out


def _questions_by_turn(transcript) -> dict[int, str | None]:
    """For each 1-based turn number, the text of the last interviewer turn before it."""
    out: dict[int, str | None] = {}
    last: str | None = None
    for number, turn in enumerate(transcript.turns, start=1):
        out[number] = last
        if turn.speaker_role == "interviewer":
            last = turn.text
    return out


def consensus_examples(store) -> list[LabelledUnit]:
    """Units with consensus codes: the only codes the shared model may learn from.

    Blind coding: a model trained on one judge's codes would leak that judge's
    decisions into the proposals another judge sees before consensus, so the
    shared model never sees individual judges' codes.
    """
    agreed = store.consensus()
    out = []
    for row in store.units():
        codes = agreed.get(row.key)
        if codes is None:
            continue
        case = row.key.rsplit("-", 1)[0]
        out.append(
            LabelledUnit(case, row.key, row.text, row.question, frozenset(codes - {"other"}), row.turn_number)
        )
    return out


# -- AnnoMI -------------------------------------------------------------------------------------

ANNOMI_THERAPIST = parse_codebook(
    {
        "name": "AnnoMI therapist behaviour",
        "version": "annomi-1",
        "domains": [
            {
                "id": "reflection",
                "name": "Reflection",
                "description": "The counsellor reflects back what the client said: restating, paraphrasing "
                "or summarising the client's words, feelings or meaning, e.g. 'So you feel that...'.",
            },
            {
                "id": "question",
                "name": "Question",
                "description": "The counsellor asks the client a question, open or closed, to gather "
                "information or to invite the client to explore.",
            },
            {
                "id": "therapist_input",
                "name": "Therapist input",
                "description": "The counsellor gives information, advice or options, or negotiates goals "
                "and the plan for the session.",
            },
        ],
    },
    "AnnoMI therapist codebook",
)

ANNOMI_CLIENT = parse_codebook(
    {
        "name": "AnnoMI client talk type",
        "version": "annomi-1",
        "domains": [
            {
                "id": "change",
                "name": "Change talk",
                "description": "The client speaks in favour of changing the behaviour: desire, ability, "
                "reasons, need or commitment to change, steps already taken.",
            },
            {
                "id": "neutral",
                "name": "Neutral talk",
                "description": "The client's talk is neither for nor against change: information, small "
                "talk, agreement, answers about facts.",
            },
            {
                "id": "sustain",
                "name": "Sustain talk",
                "description": "The client speaks against change or in favour of the current behaviour: "
                "reasons not to change, doubts, enjoying the habit, inability to change.",
            },
        ],
    },
    "AnnoMI client codebook",
)

_THERAPIST_FLAGS = {
    "reflection": "reflection_exists",
    "question": "question_exists",
    "therapist_input": "therapist_input_exists",
}


def load_annomi(folder: str | Path) -> dict[str, tuple[Codebook, list[LabelledUnit]]]:
    """AnnoMI as two labelled sets: ``therapist`` (multi-label) and ``client`` (single-label).

    Each utterance's question is the utterance before it. The 428 utterances
    coded by all ten annotators are reduced to one label set by majority vote.
    """
    path = Path(folder) / "AnnoMI-full.csv"
    if not path.is_file():
        raise InputError("AnnoMI-full.csv not found", str(path))
    by_utterance: dict[tuple[str, int], list[dict]] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            by_utterance[(row["transcript_id"], int(row["utterance_id"]))].append(row)
    therapist, client = [], []
    previous: dict[str, str] = {}
    for (case, utterance), rows in sorted(by_utterance.items(), key=lambda kv: (int(kv[0][0]), kv[0][1])):
        text = rows[0]["utterance_text"].strip()
        question = previous.get(case)
        previous[case] = text
        unit = f"annomi{case}-{utterance:04d}"
        if rows[0]["interlocutor"] == "therapist":
            codes = frozenset(
                d
                for d, column in _THERAPIST_FLAGS.items()
                if sum(r[column] == "True" for r in rows) * 2 > len(rows)
            )
            therapist.append(LabelledUnit(case, unit, text, question, codes, utterance))
        else:
            talk = Counter(r["client_talk_type"] for r in rows).most_common(1)[0][0]
            client.append(LabelledUnit(case, unit, text, question, frozenset({talk}), utterance))
    return {"therapist": (ANNOMI_THERAPIST, therapist), "client": (ANNOMI_CLIENT, client)}


MTS_FILES = ("validation_full.csv", "train_stratified_10_per_label.csv")


def load_mts_dialog(folder: str | Path) -> tuple[Codebook, list[LabelledUnit]]:
    """MTS-Dialog snippets as units labelled with their note section (one of 20), one case each.

    The codebook is the 20 section headers with their long names as descriptions
    (``labels.json``); a unit is a whole snippet (doctor and patient lines), with no
    question: the snippet is the answer to a section of the consultation.
    """
    folder = Path(folder)
    labels_path = folder / "labels.json"
    if not labels_path.is_file():
        raise InputError("labels.json not found", str(labels_path))
    names = json.loads(labels_path.read_text(encoding="utf-8"))["labels"]
    ids = {header: _domain_id(header) for header in names}
    codebook = parse_codebook(
        {
            "name": "MTS-Dialog note sections",
            "version": "mts-1",
            "domains": [
                {
                    "id": ids[h],
                    "name": long.capitalize(),
                    "description": f"The {long} part of the consultation.",
                }
                for h, long in names.items()
            ],
        },
        str(labels_path),
    )
    units = []
    for name in MTS_FILES:
        path = folder / name
        if not path.is_file():
            raise InputError(f"{name} not found", str(path))
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                text = "\n".join(line.strip() for line in row["dialogue"].splitlines() if line.strip())
                case = f"{Path(name).stem.split('_')[0]}-{row['ID']}"
                domain = ids.get(row["section_header"].strip().upper())
                if domain is None:
                    raise InputError(f"unknown section header {row['section_header']!r}", str(path))
                units.append(LabelledUnit(case, f"mts-{case}", text, None, frozenset({domain}), 1))
    return codebook, units


def _domain_id(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def label_matrix(units: Sequence[LabelledUnit], domain_ids: Sequence[str]):
    """Binary indicator matrix (n_units x n_domains)."""
    import numpy as np

    index = {d: j for j, d in enumerate(domain_ids)}
    y = np.zeros((len(units), len(domain_ids)), dtype=np.int8)
    for i, u in enumerate(units):
        for d in u.domains:
            if d in index:
                y[i, index[d]] = 1
    return y
