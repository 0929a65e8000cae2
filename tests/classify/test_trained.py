"""The learner: training on confirmed codes, calibration, persistence round trip, incremental retraining."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tests.support import DEMO
from transcode.classify import CaseUnits, Proposer
from transcode.classify.examples import LabelledUnit, load_gold_units
from transcode.classify.persist import load_model, save_model
from transcode.classify.proposer import zero_shot
from transcode.classify.trained import OnlineTrainer, train
from transcode.errors import InputError

#: Two invented cases where "the red folder" marks supervision: the codebook cannot know that.
RED_FOLDER = "I put it in the red folder like we always do."


def _examples() -> list[LabelledUnit]:
    rows = [
        (
            "I felt sick with guilt and kept doubting myself all evening.",
            "How did you feel?",
            {"therapist_reactions"},
        ),
        ("Honestly I was anxious, my hands were shaking.", "How did you feel?", {"therapist_reactions"}),
        (
            "I was frustrated and a bit hurt, if I am honest.",
            "What was going through your mind?",
            {"therapist_reactions"},
        ),
        (
            "My supervisor watched the tape with me and we role-played it.",
            "Did you talk about it in supervision?",
            {"supervision"},
        ),
        (
            "In group supervision my peers said they had been there too.",
            "Did you talk about it in supervision?",
            {"supervision"},
        ),
        (
            "She went quiet and looked at the floor for the rest of the hour.",
            "Describe the rupture.",
            {"rupture_markers"},
        ),
        (
            "He said therapy was pointless and he was thinking of quitting.",
            "Describe the rupture.",
            {"rupture_markers"},
        ),
        (
            "I was terrified and then my supervisor helped me name it.",
            "How did you feel?",
            {"therapist_reactions", "supervision"},
        ),
        ("Anyway, that's about it, I think.", "Anything else?", set()),
        (
            "She was a nineteen-year-old student who came in for anxiety.",
            "Tell me about the client.",
            {"client_context"},
        ),
        ("We met weekly at the college counselling centre.", "Tell me about the client.", {"client_context"}),
        (
            "Before all this the relationship felt warm and easy.",
            "What was the relationship like before?",
            {"client_context"},
        ),
    ]
    out = []
    for case in ("a", "b", "c"):
        for i, (text, question, domains) in enumerate(rows):
            out.append(
                LabelledUnit(case, f"{case}-{i}", f"{text} ({case})", question, frozenset(domains), 2 * i + 2)
            )
        for i in range(6):
            out.append(
                LabelledUnit(
                    case,
                    f"{case}-red{i}",
                    f"{RED_FOLDER} Number {i} in case {case}.",
                    "What was the therapy relationship like before this happened?",
                    frozenset({"supervision"}),
                    40 + 2 * i,
                )
            )
    return out


def one(texts, questions):
    return CaseUnits.unordered(texts, questions)


@pytest.fixture(scope="module")
def examples():
    return _examples()


@pytest.fixture(scope="module")
def model(examples, demo_codebook, encoder):
    return train(examples, demo_codebook, encoder, trained_on="test examples")


def test_training_on_confirmed_codes_changes_proposals(model, demo_codebook, encoder):
    question = "What was the therapy relationship like before this happened?"
    (before,) = zero_shot(demo_codebook, encoder).propose(one([RED_FOLDER], [question]))
    (after,) = model.propose(one([RED_FOLDER], [question]))
    assert isinstance(model, Proposer)
    assert before.scores[0][0] != "supervision"
    assert after.scores[0][0] == "supervision"
    assert "supervision" in after.suggested
    assert after.model_version == model.version


def test_one_coded_case_already_teaches_how_participants_talk(examples, demo_codebook, encoder):
    """Before a learner can be fitted (two cases), the confirmed units' centroids join the evidence."""
    model = train([e for e in examples if e.case == "a"], demo_codebook, encoder)
    assert not model.learned.learned.any()
    without = dataclasses.replace(model, learned=dataclasses.replace(model.learned, exemplars=None))
    question = "What was the therapy relationship like before this happened?"
    fresh = one(["I put it in the red folder, as we always do with such sessions."], [question])
    (after,) = model.propose(fresh)
    (before,) = without.propose(fresh)
    assert dict(after.scores)["supervision"] > 2 * dict(before.scores)["supervision"]


def test_domains_without_enough_examples_fall_back_to_the_prior(model, demo_codebook):
    states = [*demo_codebook.domain_ids, "other"]
    learned = dict(zip(states, model.learned.learned, strict=True))
    assert learned["supervision"] and learned["therapist_reactions"]
    assert not learned["consequences"]
    weight = dict(zip(states, model.learned.prior_weight(), strict=True))
    assert weight["consequences"] == 1.0
    assert 0 < weight["supervision"] < weight["therapist_reactions"] < 1


def test_every_domain_is_ranked_and_several_or_none_may_be_suggested(model, demo_codebook):
    proposals = model.propose(
        one(
            [
                "I was terrified and then my supervisor helped me name it.",
                "Anyway, that's about it, I think.",
            ],
            ["How did you feel?", "Anything else?"],
        )
    )
    thresholds = model.thresholds(sequence=True)
    for p in proposals:
        assert sorted(d for d, _ in p.scores) == sorted(demo_codebook.domain_ids)
        assert [s for _, s in p.scores] == sorted((s for _, s in p.scores), reverse=True)
        assert all(
            d in model.domain_ids and dict(p.scores)[d] >= thresholds[model.domain_ids.index(d)]
            for d in p.suggested
        )
    assert proposals[0].scores[0][0] in {"therapist_reactions", "supervision"}


def test_calibration_is_fitted_on_the_training_codes(model):
    for path in ("sequence", "plain"):
        calibration = model.calibration[path]
        assert 0.05 <= calibration.temperature <= 20
        assert ((calibration.thresholds > 0) & (calibration.thresholds < 1)).all()
    assert model.transitions.within_turn.shape == (9, 9)  # eight domains and "other"


def test_persistence_round_trip_gives_identical_scores(model, demo_codebook, encoder, tmp_path):
    path = save_model(model, tmp_path / "m")
    assert {p.name for p in path.iterdir()} == {"model.json", "weights.safetensors", "MODEL_CARD.md"}
    card = (path / "MODEL_CARD.md").read_text()
    assert demo_codebook.fingerprint() in card and "54 units" in card
    loaded = load_model(path, codebook=demo_codebook, encoder=encoder)
    case = CaseUnits(
        (RED_FOLDER, "My supervisor said it happens to everyone.", "She never came back."),
        ("Tell me about the client.", None, "What happened afterwards with the client?"),
        (2, 2, 4),
    )
    for sequence in (True, False):
        assert np.array_equal(model.score(case, sequence=sequence), loaded.score(case, sequence=sequence))
        assert [p.suggested for p in loaded.propose(case, sequence=sequence)] == [
            p.suggested for p in model.propose(case, sequence=sequence)
        ]
    assert loaded.version == model.version


def test_a_model_of_the_old_format_is_refused_with_a_hint(model, encoder, tmp_path):
    path = save_model(model, tmp_path / "m")
    meta = json.loads((path / "model.json").read_text())
    meta["format_version"] = 1
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="retrain"):
        load_model(path, encoder=encoder)


def test_loading_refuses_unknown_content(model, demo_codebook, encoder, tmp_path):
    path = save_model(model, tmp_path / "m")
    meta = json.loads((path / "model.json").read_text())
    meta["__class__"] = "sklearn.linear_model.LogisticRegression"
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="unexpected or missing fields"):
        load_model(path, encoder=encoder)
    path = save_model(model, tmp_path / "m2")
    arrays = load_file(str(path / "weights.safetensors"))
    arrays["payload"] = np.zeros(3, dtype=np.float32)
    save_file(arrays, str(path / "weights.safetensors"))
    with pytest.raises(InputError, match="unexpected tensors"):
        load_model(path, encoder=encoder)


def test_loading_refuses_another_codebook_or_encoder(model, demo_codebook, encoder, tmp_path):
    from transcode.codebook import parse_codebook
    from transcode.embed import StaticEncoder

    path = save_model(model, tmp_path / "m")
    other = parse_codebook({"domains": [{"id": "x"}, {"id": "y"}]})
    with pytest.raises(InputError, match="the model is stale: it was trained on domains"):
        load_model(path, codebook=other, encoder=encoder)
    with pytest.raises(InputError, match="trained on embeddings"):
        load_model(path, codebook=demo_codebook, encoder=StaticEncoder())


def test_online_trainer_learns_a_new_decision_in_seconds(examples, demo_codebook, encoder):
    trainer = OnlineTrainer(demo_codebook, encoder)
    trainer.record(examples)
    first = trainer.retrain()
    relabelled = [
        LabelledUnit(e.case, e.unit, e.text, e.question, frozenset({"client_context"}))
        for e in examples
        if e.unit.startswith(("a-red", "b-red", "c-red"))
    ]
    trainer.record(relabelled)
    second = trainer.retrain()
    assert len(trainer.examples) == len(examples)
    assert second.version != first.version
    assert second.learned.positives[demo_codebook.domain_ids.index("client_context")] == len(relabelled) + 9
    assert second.fit_seconds < 10
    (proposal,) = second.propose(one([RED_FOLDER], ["Tell me about the client."]))
    assert proposal.scores[0][0] == "client_context"


def test_static_fast_tier_is_hash_checked_and_trains(examples, demo_codebook):
    from transcode.embed import StaticEncoder

    fast = StaticEncoder()
    vectors = fast.encode(["hello there", "I felt anxious"])
    assert vectors.shape == (2, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    model = train(examples, demo_codebook, fast)
    (proposal,) = model.propose(one([RED_FOLDER], ["Tell me about the client."]))
    assert proposal.scores[0][0] == "supervision"


def test_gold_units_carry_the_question_before_them():
    gold = DEMO / "gold" / "units.jsonl"
    if not gold.is_file():
        pytest.skip("demo gold not built")
    units = load_gold_units(gold)
    assert all(u.question for u in units)
    first = units[0]
    assert first.case == "01" and first.question.startswith("Thanks so much")
    planted = [json.loads(line) for line in (DEMO / "gold" / "identifiers.jsonl").read_text().splitlines()]
    words = {(u.case, w) for u in units for w in re.findall(r"[\w'@.-]+", f"{u.text} {u.question}")}
    # a model trained on gold units keeps their terms in its files: no planted identifier may be there
    leaked = [p["text"] for p in planted if all((p["case"], w) in words for w in p["text"].split())]
    assert leaked == []
    assert any("[PERSON_1]" in u.text for u in units)


def test_only_consensus_codes_become_training_examples(db_url):
    from transcode.classify.examples import consensus_examples
    from transcode.coding.codes import Decision
    from transcode.coding.independent import record_decisions
    from transcode.store import open_store
    from transcode.transcript import Transcript, Turn
    from transcode.units import ThoughtUnit

    store = open_store(db_url, create=True)
    turns = (
        Turn("interviewer", "I", "How did you feel?", 1),
        Turn("participant", "P", "Scared. Then relieved.", 2),
    )
    units = [
        ThoughtUnit("07", 1, 2, 0, 7, "Scared.", "How did you feel?"),
        ThoughtUnit("07", 2, 2, 8, 22, "Then relieved.", "How did you feel?"),
    ]
    store.import_transcript(Transcript("07", turns), units)
    store.add_judge("A", "judge")
    record_decisions(store, "A", "07-0001", [Decision("therapist_reactions", "added")])
    record_decisions(store, "A", "07-0002", [Decision("consequences", "added")])
    store.set_consensus("07-0001", ["therapist_reactions"], recorded_by="A")
    examples = consensus_examples(store)
    assert [(e.unit, e.case, e.question, set(e.domains), e.turn) for e in examples] == [
        ("07-0001", "07", "How did you feel?", {"therapist_reactions"}, 2)
    ]
    store.set_consensus("07-0002", [])
    assert {e.unit: e.domains for e in consensus_examples(store)}["07-0002"] == frozenset()


def test_a_word_only_one_case_uses_never_enters_the_saved_vocabulary(
    examples, demo_codebook, encoder, tmp_path
):
    named = [
        *examples,
        LabelledUnit(
            "a",
            "a-name",
            "Her name was Thandiwe Mokoena, she was my client.",
            "Tell me about the client.",
            frozenset({"client_context"}),
        ),
    ]
    model = train(named, demo_codebook, encoder)
    vocabulary = model.learned.lexical.state[0]
    assert "supervisor" in vocabulary
    assert not any("thandiwe" in term or "mokoena" in term for term in vocabulary)
    saved = (save_model(model, tmp_path / "m") / "model.json").read_text().lower()
    assert "thandiwe" not in saved and "mokoena" not in saved
