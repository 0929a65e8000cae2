"""Stores the tests build on, each a real store (SQLite file or PostgreSQL database) with known content.

- :func:`build_store`: the coding room's store: two cases, twelve units, a stored proposal each;
  judges A and B assigned to both cases, lead L, auditor Aud; both cases in independent coding;
- :func:`build_small_store`: four cases with consensus codes (so in the consensus phase), for core
  ideas and categories; judges A and B, auditor Auditor;
- :func:`build_demo_store`: the demo corpus's gold analysis plus two judges' codes, in consensus.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support import DEMO
from transcode.classify import UnitProposal
from transcode.codebook import load_codebook
from transcode.store import Store, open_store
from transcode.transcript import Transcript, Turn
from transcode.units import ThoughtUnit

# -- the coding room's store ---------------------------------------------------------------------
MODEL = "zeroshot:test"
#: case -> turns; an interviewer turn is a string, a participant turn a list of units with the
#: domains the test model suggests for each.
CASES: dict[str, list] = {
    "01": [
        "Tell me a little about the client you have in mind.",
        [
            ("She was a graduate student in her twenties, new to the city.", ["client_context"]),
            ("We had been meeting weekly for about four months by then.", ["client_context"]),
            (
                "Honestly the relationship felt warm and steady before all this.",
                ["client_context", "antecedents"],
            ),
        ],
        "What was going on in the session immediately before the rupture occurred?",
        [
            ("I pushed her quite hard on the homework she had skipped twice.", ["antecedents"]),
            ("She went very quiet and stared at the floor for a long time.", ["rupture_markers"]),
        ],
        "How did you feel when it happened?",
        [("I felt anxious and a bit guilty about pushing so hard.", ["therapist_reactions"])],
    ],
    "02": [
        "What did you do in response?",
        [
            ("I named it and asked her what that moment had been like.", ["repair_actions"]),
            ("Then I apologised for rushing her through the exercise.", ["repair_actions"]),
        ],
        "How did you use supervision afterwards?",
        [
            ("My supervisor helped me see my own pressure in the room.", ["supervision"]),
            ("We role-played how to slow down when I feel anxious.", ["supervision", "therapist_learning"]),
        ],
        "What happened in the therapy after that?",
        [
            ("The weather that spring was unusually grey and wet.", []),
            ("She came back the next week and we talked about it openly.", ["consequences"]),
        ],
    ],
}


def demo_units() -> list[tuple[Transcript, list[ThoughtUnit], dict[str, list[str]]]]:
    out = []
    for case, turns in CASES.items():
        transcript_turns, units, suggested = [], [], {}
        question = None
        for number, turn in enumerate(turns, start=1):
            if isinstance(turn, str):
                question = turn
                transcript_turns.append(Turn("interviewer", "I", turn, number))
                continue
            text = ""
            for sentence, domains in turn:
                start = len(text) + (1 if text else 0)
                text = f"{text} {sentence}" if text else sentence
                unit = ThoughtUnit(
                    case, len(units) + 1, number, start, start + len(sentence), sentence, question
                )
                units.append(unit)
                suggested[unit.unit_id] = domains
            transcript_turns.append(Turn("participant", "P", text, number))
        out.append((Transcript(case, tuple(transcript_turns), {}, f"case_{case}.txt"), units, suggested))
    return out


def proposal_for(domains: list[str], domain_ids: list[str], position: int) -> UnitProposal:
    """Deterministic scores: suggested domains on top, the rest small and distinct."""
    scores = {}
    for i, d in enumerate(domain_ids):
        if d in domains:
            scores[d] = 0.8 - 0.25 * domains.index(d) - 0.01 * (position % 3)
        else:
            scores[d] = round(0.02 + 0.01 * ((i + position) % 7), 4)
    ranked = tuple(sorted(scores.items(), key=lambda kv: -kv[1]))
    return UnitProposal(ranked, tuple(domains), MODEL)


#: The coding room store's people: name -> role.
PEOPLE = {"A": "judge", "B": "judge", "L": "lead", "Aud": "auditor"}
LEAD = "L"


def build_store(url: str, *, suggestions: str = "visible") -> Store:
    """A real store: demo codebook, two cases, twelve units, a stored proposal for each; judges A
    and B assigned to both cases by lead L, auditor Aud; the study's ``suggestions`` setting."""
    from transcode.coding import people
    from transcode.coding import suggestions as setting

    store = open_store(url, create=True, project="tui test")
    codebook = load_codebook(DEMO / "codebook.yaml")
    store.save_codebook(codebook)
    proposals = {}
    for transcript, units, suggested in demo_units():
        store.import_transcript(transcript, units)
        for unit in units:
            proposals[unit.unit_id] = proposal_for(suggested[unit.unit_id], codebook.domain_ids, unit.index)
    store.save_proposals(proposals)
    for name, role in PEOPLE.items():
        people.add_person(store, name, role)
    people.assign(store, ["A", "B"], None, LEAD)
    setting.set_mode(store, suggestions, LEAD)
    return store


def open_phase(store: Store, phase: str, cases: list[str] | None = None) -> None:
    """Lead L moves the cases (every one by default) to ``phase``, step by step, overriding
    whatever the judges have not finished (the trail records it)."""
    from transcode.coding import phases

    for step in phases.PHASES[1 : phases.PHASES.index(phase) + 1]:
        phases.switch(store, cases, step, LEAD, override=True, reason="test")


def suggested_codes() -> dict[str, frozenset[str]]:
    """What pressing accept on every unit gives (``other`` where the model suggests nothing)."""
    return {
        u.unit_id: frozenset(s[u.unit_id]) or frozenset({"other"})
        for _, units, s in demo_units()
        for u in units
    }


# -- the small analysis store ----------------------------------------------------------------------
QUESTION = "What happened between you and the client?"
#: Four cases, two units each: (text, consensus domains).
SMALL_CASES = {
    "01": [
        ("She went quiet and looked at the floor.", ["rupture_markers"]),
        ("I felt guilty right away.", ["therapist_reactions"]),
    ],
    "02": [
        ("He stood up and shouted that I was too young.", ["rupture_markers"]),
        ("My face got hot and I felt defensive.", ["therapist_reactions"]),
    ],
    "03": [
        ("She stopped talking and turned to the window.", ["rupture_markers"]),
        ("Honestly I was scared she would not come back.", ["therapist_reactions"]),
    ],
    "04": [
        ("He cancelled the next two sessions by email.", ["rupture_markers"]),
        ("We met weekly at the clinic.", ["client_context"]),
    ],
}
ATTRIBUTES = {
    "01": {"anxiety": "high"},
    "02": {"anxiety": "high"},
    "03": {"anxiety": "low"},
    "04": {"anxiety": "low"},
}


def build_small_store(url: str, codebook, attributes=ATTRIBUTES):
    """A store with four cases, their units and consensus codes (in the consensus phase), and the
    demo codebook; judges A and B and auditor Auditor are registered."""
    from transcode.coding import people, phases

    store = open_store(url, create=True, project="test")
    store.save_codebook(codebook)
    for name, role in (("A", "judge"), ("B", "judge"), ("Auditor", "auditor")):
        people.add_person(store, name, role)
    for case, units in SMALL_CASES.items():
        text = " ".join(t for t, _ in units)
        turns = (Turn("interviewer", "I", QUESTION, 1), Turn("participant", "P", text, 2))
        thought_units, start = [], 0
        for index, (unit_text, _) in enumerate(units, start=1):
            thought_units.append(
                ThoughtUnit(case, index, 2, start, start + len(unit_text), unit_text, QUESTION)
            )
            start += len(unit_text) + 1
        store.import_transcript(Transcript(case, turns, source=f"case_{case}.txt"), thought_units)
        for index, (_, domains) in enumerate(units, start=1):
            store.set_consensus(f"{case}-{index:04d}", domains, recorded_by="A")
    store.set_case_attributes(attributes)
    phases.enter_phases(store, "test store: cases with consensus codes")
    return store


# -- the demo store --------------------------------------------------------------------------------
def build_demo_store(folder: Path, judged_units: int | None = 300) -> str:
    """The demo gold analysis plus judges A and B's codes on the first ``judged_units`` unit x judge
    pairs (None: all), every case in consensus (``corpora/demo/load_gold.py``)."""
    sys.path.insert(0, str(DEMO))
    from load_gold import load_demo

    db = f"sqlite:///{folder / 'demo.db'}"
    load_demo(db, quiet=True, judged=judged_units)
    return db
