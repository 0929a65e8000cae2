"""Machine drafts of core ideas: an extractive condensation of a case's units in one domain.

A draft is a starting point for the judges, never a core idea: it picks the most
central sentences of the confirmed units (the sentences most similar to all the
others, by TF-IDF or by sentence embeddings), strips hesitations and transcript
annotations, and says it is a draft. Writing the core idea stays with people.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DRAFT_LABEL = "machine draft (extractive, unreviewed): edit before accepting"
MIN_SENTENCE_WORDS = 4
#: Two picked sentences this similar say the same thing; the second is skipped.
REDUNDANT = 0.8

#: Transcript annotations such as [laughs] or [pause]; placeholders such as [PERSON_1] stay.
_ANNOTATION = re.compile(r"\s*\[[a-z][^\]]*\]\s*")
_FILLERS = re.compile(
    r"(?:(?<=^)|(?<=[\s,.;!?]))(?:u+m+|u+h+|e+r+m+|h+m+|mm+)(?=[\s,.;!?]|$)[,.]?\s*", re.IGNORECASE
)
_COMMA_FILLERS = re.compile(r",\s*(?:you know|I mean|like|sort of|kind of)\s*,", re.IGNORECASE)
_OPENING_FILLERS = re.compile(
    r"^(?:(?:so|and|but|well|like|honestly|okay|yeah|I mean|you know)\s*,?\s+)+", re.I
)
_STUTTER = re.compile(r"\b(\w+)(?:,?\s+\1\b)+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?]['\"”’]))\s+(?=['\"“‘(]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z0-9']+")

Encode = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class DraftSentence:
    unit: str
    text: str
    centrality: float


@dataclass(frozen=True)
class CoreIdeaDraft:
    """The draft text, the units it came from and how central each picked sentence was."""

    text: str
    units: tuple[str, ...]
    sentences: tuple[DraftSentence, ...]
    method: str
    label: str = DRAFT_LABEL

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "units": list(self.units),
            "method": self.method,
            "label": self.label,
            "sentences": [s.__dict__ for s in self.sentences],
        }


def clean(text: str) -> str:
    """Remove hesitations ("um", "uh", ", you know,"), stutters and [annotations]; keep the words."""
    text = _ANNOTATION.sub(" ", text)
    text = _COMMA_FILLERS.sub(" ", text)
    text = _FILLERS.sub("", text)
    text = _STUTTER.sub(r"\1", text)
    text = re.sub(r"\s+([,.;!?])", r"\1", text)
    text = re.sub(r"([,;])\s*(?=[,.;!?])", "", text)
    text = " ".join(text.split()).strip(" ,;")
    text = _OPENING_FILLERS.sub("", text)
    return text[:1].upper() + text[1:] if text else text


def sentences(text: str) -> list[str]:
    """Sentences of a unit, cleaned; fragments shorter than a few words are dropped."""
    parts = [clean(p) for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(_WORD.findall(p)) >= MIN_SENTENCE_WORDS]


def tfidf_vectors(texts: Sequence[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words
        return np.zeros((len(texts), 1))
    return matrix.toarray()


def centrality(vectors: np.ndarray) -> np.ndarray:
    """Mean cosine similarity of each row to the others (LexRank's degree centrality, continuous)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    n = len(vectors)
    if n < 2:
        return np.ones(n)
    return (similarity.sum(axis=1) - np.diag(similarity)) / (n - 1)


def draft_core_idea(
    units: Sequence[tuple[str, str]],
    *,
    max_sentences: int = 2,
    encode: Encode | None = None,
) -> CoreIdeaDraft:
    """Pick the ``max_sentences`` most central sentences of ``(unit key, text)`` pairs, in their order.

    With ``encode`` (texts -> vectors), centrality uses embeddings; without it, TF-IDF.
    """
    if not units:
        raise ValueError("no confirmed units to draft from")
    pool = [(key, s) for key, text in units for s in sentences(text)]
    if not pool:
        pool = [(key, clean(text)) for key, text in units if clean(text)]
    if not pool:
        raise ValueError("the units hold no words to draft from")
    texts = [s for _, s in pool]
    vectors = np.asarray(encode(texts), dtype=float) if encode is not None else tfidf_vectors(texts)
    scores = centrality(vectors)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit_vectors = vectors / np.where(norms > 0, norms, 1.0)
    picked: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if len(picked) >= max_sentences:
            break
        if any(float(unit_vectors[index] @ unit_vectors[j]) >= REDUNDANT for j in picked):
            continue
        picked.append(int(index))
    picked.sort()
    chosen = tuple(DraftSentence(pool[i][0], pool[i][1], round(float(scores[i]), 4)) for i in picked)
    text = " ".join(
        s.text if s.text.rstrip("'\"”’")[-1:] in (".", "!", "?") else s.text + "." for s in chosen
    )
    return CoreIdeaDraft(
        text=text,
        units=tuple(dict.fromkeys(s.unit for s in chosen)),
        sentences=chosen,
        method="embedding" if encode is not None else "tfidf",
    )
