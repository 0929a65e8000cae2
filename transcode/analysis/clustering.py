"""NLP help for cross-analysis: propose categories from core ideas, suggest one for a new core idea.

Proposals only: the team decides which categories exist and what goes in them.
Core ideas of one domain are clustered by their sentence embeddings
(agglomerative, Ward linkage on unit vectors; the number of clusters chosen by
silhouette unless given) and each cluster is named by
its key terms (class-based TF-IDF, as in BERTopic: terms frequent in this
cluster and rare in the others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Words every core idea in these studies uses; they name no cluster.
ROLE_WORDS = frozenset({"client", "therapist", "trainee", "session", "sessions", "said", "felt", "told"})
#: From this many core ideas on, at least three categories are proposed.
MANY_IDEAS = 12
#: Spoken-language words scikit-learn's English stop list lacks.
EXTRA_STOP_WORDS = frozenset({"did", "didn", "don", "just", "really", "like", "kind", "got", "went"})


@dataclass(frozen=True)
class ProposedCategory:
    """A cluster of core ideas (indices into the input) and the key terms that name it."""

    name: str
    terms: tuple[str, ...]
    members: tuple[int, ...]
    cohesion: float

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "terms": list(self.terms),
            "members": list(self.members),
            "cohesion": self.cohesion,
        }


@dataclass(frozen=True)
class Suggestion:
    category: str
    score: float


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def cluster(
    vectors: np.ndarray,
    *,
    distance_threshold: float | None = None,
    n_clusters: int | None = None,
    max_clusters: int = 8,
) -> np.ndarray:
    """Cluster labels for sentence vectors (Ward linkage on unit vectors, where distance tracks cosine).

    Give ``n_clusters`` or ``distance_threshold``; with neither, the k with the best cosine
    silhouette wins, from 2 (or, with :data:`MANY_IDEAS` or more core ideas, from 3: silhouette
    favours two clusters, while a domain with that many core ideas holds several categories)
    up to ``max_clusters``.
    """
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    vectors = _normalise(vectors)
    n = len(vectors)
    if n < 3:
        return np.zeros(n, dtype=int)

    def fit(**kwargs) -> np.ndarray:
        return AgglomerativeClustering(linkage="ward", **kwargs).fit_predict(vectors)

    if n_clusters is not None:
        return fit(n_clusters=min(max(n_clusters, 1), n))
    if distance_threshold is not None:
        return fit(n_clusters=None, distance_threshold=distance_threshold)
    smallest = 3 if n >= MANY_IDEAS else 2
    best, best_score = np.zeros(n, dtype=int), -1.0
    for k in range(smallest, min(max_clusters, n - 1) + 1):
        labels = fit(n_clusters=k)
        score = silhouette_score(vectors, labels, metric="cosine")
        if score > best_score + 1e-9:
            best, best_score = labels, score
    return best


def key_terms(
    texts: Sequence[str], labels: Sequence[int] | np.ndarray, top_n: int = 3
) -> dict[int, list[str]]:
    """Class-based TF-IDF: per cluster, the terms most frequent there and rarest elsewhere."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    clusters = sorted(set(labels))
    documents = [" ".join(t for t, label in zip(texts, labels, strict=True) if label == c) for c in clusters]
    vectorizer = CountVectorizer(
        stop_words=list(ENGLISH_STOP_WORDS | ROLE_WORDS | EXTRA_STOP_WORDS),
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]{2,}\b",
    )
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(float)
    except ValueError:
        return {c: [] for c in clusters}
    terms = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    average_words = counts.sum() / len(clusters)
    idf = np.log(1.0 + average_words / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    out = {}
    for row, c in enumerate(clusters):
        order = np.argsort(-weights[row], kind="stable")
        out[c] = [str(terms[i]) for i in order[:top_n] if weights[row, i] > 0]
    return out


def propose_categories(
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    distance_threshold: float | None = None,
    n_clusters: int | None = None,
    top_terms: int = 3,
) -> list[ProposedCategory]:
    """Group core ideas into proposed categories, largest first, each named by its key terms."""
    if len(texts) != len(vectors):
        raise ValueError("one vector per core idea")
    if not texts:
        return []
    unit = _normalise(vectors)
    labels = cluster(unit, distance_threshold=distance_threshold, n_clusters=n_clusters)
    names = key_terms(texts, labels, top_terms)
    proposals = []
    for label in sorted(set(labels)):
        members = tuple(int(i) for i in np.flatnonzero(labels == label))
        centroid = _normalise(unit[list(members)].mean(axis=0, keepdims=True))[0]
        cohesion = float(np.mean(unit[list(members)] @ centroid))
        terms = tuple(names[label])
        proposals.append(
            ProposedCategory(" / ".join(terms) or f"cluster {label + 1}", terms, members, round(cohesion, 4))
        )
    return sorted(proposals, key=lambda p: (-len(p.members), p.members))


def suggest_category(
    vector: np.ndarray, members: Mapping[str, np.ndarray], *, top: int = 3
) -> list[Suggestion]:
    """Rank categories for a new core idea by cosine similarity to each category's centroid.

    ``members`` maps a category name to the vectors of its core ideas (or of its name,
    for a category that has none yet).
    """
    query = _normalise(np.atleast_2d(vector))[0]
    scored = []
    for name, vectors in members.items():
        vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
        if vectors.size == 0:
            continue
        centroid = _normalise(_normalise(vectors).mean(axis=0, keepdims=True))[0]
        scored.append(Suggestion(name, round(float(query @ centroid), 4)))
    return sorted(scored, key=lambda s: -s.score)[:top]
