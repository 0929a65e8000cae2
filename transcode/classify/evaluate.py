"""How well do the proposals match gold codes? Cross-validated by case, against baselines, with curves.

Every method is fitted on some cases and scored on cases it never saw
(leave-one-case-out, or k folds of whole cases for large corpora), in one run:

* ``zeroshot``: the codebook alone (no training);
* ``trained``: :mod:`transcode.classify.trained` (learner blended with the prior);
* ``tfidf_lr``: baseline, TF-IDF of unit and question + class-balanced logistic
  regression per domain, suggesting domains with probability >= 0.5;
* ``*_fast``: the same with the static model2vec encoder (its accuracy cost).

Metrics: micro/macro F1 of the suggested sets (units with no gold domain count
as all-negative rows), precision and recall, and top-1 accuracy: the share of
units with at least one gold domain whose highest-ranked domain is one of them.
Learning curves give micro-F1 against the number of confirmed training units,
drawn at random, and for the trained model also chosen by uncertainty (active
learning), from the training cases of each fold.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from transcode.classify.active import uncertainty
from transcode.classify.examples import LabelledUnit, label_matrix
from transcode.classify.trained import fit_vectors
from transcode.classify.zeroshot import ZeroShotClassifier, encode_units, suggestion_mask
from transcode.codebook import Codebook
from transcode.files import ensure_folder, write_atomic

#: Units of the first labelled batch of the active-learning curve (then the most uncertain are added).
ACTIVE_SEED_SIZE = 10
SEED = 13
#: Contrastive pairs per training unit for SetFit (its default is 20; 5 keeps a CPU run to minutes)
SETFIT_PAIR_ITERATIONS = 5


@dataclass(frozen=True)
class Corpus:
    name: str
    codebook: Codebook
    units: list[LabelledUnit]


@dataclass
class Prediction:
    """Scores for every domain and the suggested sets, for the test units of all folds together."""

    scores: np.ndarray
    suggested: np.ndarray


def case_folds(
    units: Sequence[LabelledUnit], n_folds: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-case-out, or ``n_folds`` folds of whole cases."""
    groups = np.array([u.case for u in units])
    cases = sorted(set(groups))
    if n_folds is None or n_folds >= len(cases):
        return [(np.flatnonzero(groups != c), np.flatnonzero(groups == c)) for c in cases]
    return list(GroupKFold(n_splits=n_folds).split(np.zeros(len(units)), groups=groups))


def metrics(y: np.ndarray, scores: np.ndarray, suggested: np.ndarray, domain_ids: Sequence[str]) -> dict:
    """Micro/macro F1, precision, recall, top-1 accuracy and a per-domain table."""
    y, suggested = np.asarray(y, dtype=int), np.asarray(suggested, dtype=int)
    has_gold = y.sum(axis=1) > 0
    top = np.argmax(scores, axis=1)
    top1 = float(y[np.arange(len(y)), top][has_gold].mean()) if has_gold.any() else float("nan")
    precision, recall, f1, support = precision_recall_fscore_support(y, suggested, zero_division=0)
    micro_p, micro_r, micro_f1, _ = precision_recall_fscore_support(
        y, suggested, average="micro", zero_division=0
    )
    return {
        "micro_f1": float(micro_f1),
        "macro_f1": float(f1_score(y, suggested, average="macro", zero_division=0)),
        "precision": float(micro_p),
        "recall": float(micro_r),
        "top1_accuracy": top1,
        "n_units": int(len(y)),
        "per_domain": {
            d: {
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "support": int(support[j]),
            }
            for j, d in enumerate(domain_ids)
        },
    }


class _Encoded:
    """Unit and question vectors of a corpus for one encoder, computed once and sliced per fold."""

    def __init__(self, corpus: Corpus, encoder):
        self.encoder = encoder
        self.vectors = encode_units(
            encoder, [u.text for u in corpus.units], [u.question for u in corpus.units]
        )
        self.zeroshot = ZeroShotClassifier(corpus.codebook, encoder)
        self.prior = self.zeroshot.proba_from_vectors(*self.vectors)

    def take(self, idx: np.ndarray):
        return tuple(v[idx] for v in self.vectors)


def _fit_trained(
    encoded: _Encoded,
    corpus: Corpus,
    y: np.ndarray,
    groups: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, Any]:
    model = _fit(encoded, corpus, y, groups, train_idx)
    scores = _score(model, encoded, corpus, test_idx)
    return scores, suggestion_mask(scores, model.thresholds), model


def _fit(encoded: _Encoded, corpus: Corpus, y, groups, idx):
    texts, questions = _texts(corpus, idx)
    return fit_vectors(
        encoded.take(idx),
        texts,
        questions,
        y[idx],
        corpus.codebook,
        encoded.encoder,
        groups=list(groups[idx]),
        zeroshot=encoded.zeroshot,
    )


def _score(model, encoded: _Encoded, corpus: Corpus, idx) -> np.ndarray:
    texts, questions = _texts(corpus, idx)
    return model.score(texts, questions, encoded.take(idx))


def _texts(corpus: Corpus, idx) -> tuple[list[str], list[str | None]]:
    return [corpus.units[i].text for i in idx], [corpus.units[i].question for i in idx]


def _fit_tfidf(
    units: Sequence[LabelledUnit], y: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    text = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    asked = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x_train = hstack(
        [
            text.fit_transform([units[i].text for i in train_idx]),
            asked.fit_transform([units[i].question or "" for i in train_idx]),
        ]
    ).tocsr()
    x_test = hstack(
        [
            text.transform([units[i].text for i in test_idx]),
            asked.transform([units[i].question or "" for i in test_idx]),
        ]
    ).tocsr()
    scores = np.zeros((len(test_idx), y.shape[1]))
    for j in range(y.shape[1]):
        target = y[train_idx, j]
        if target.min() == target.max():
            scores[:, j] = float(target[0]) if len(target) else 0.0
            continue
        model = LogisticRegression(class_weight="balanced", max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, target)
        scores[:, j] = model.predict_proba(x_test)[:, 1]
    return scores, scores >= 0.5


def _setfit_available() -> str:
    try:
        import setfit  # noqa: F401
    except ImportError:
        return "not installed (pip install setfit: it installs and trains offline, see models/README.md)"
    return "ok"


def few_shot_sample(y: np.ndarray, train_idx: np.ndarray, shots: int, rng) -> np.ndarray:
    """Up to ``shots`` units per domain, and as many with no domain, from the training units."""
    chosen: set[int] = set()
    for j in range(y.shape[1]):
        pool = train_idx[y[train_idx, j] == 1]
        chosen.update(rng.choice(pool, size=min(shots, len(pool)), replace=False).tolist())
    other = train_idx[y[train_idx].sum(axis=1) == 0]
    chosen.update(rng.choice(other, size=min(shots, len(other)), replace=False).tolist())
    return np.array(sorted(chosen))


def _fit_setfit(units, y, train_idx, test_idx, encoder) -> tuple[np.ndarray, np.ndarray]:
    """SetFit (contrastive fine-tuning of the same local MiniLM + one-vs-rest head), offline."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    model = SetFitModel.from_pretrained(
        str(encoder.model_path), multi_target_strategy="one-vs-rest", local_files_only=True
    )
    data = Dataset.from_dict(
        {"text": [units[i].text for i in train_idx], "label": [y[i].tolist() for i in train_idx]}
    )
    args = TrainingArguments(
        batch_size=16,
        num_epochs=1,
        num_iterations=SETFIT_PAIR_ITERATIONS,
        report_to="none",
        seed=SEED,
        show_progress_bar=False,
    )
    # The trainer logs to stdout; keep stdout clean for --json.
    with contextlib.redirect_stdout(sys.stderr):
        Trainer(model=model, args=args, train_dataset=data).train()
    probabilities = model.predict_proba([units[i].text for i in test_idx])
    scores = np.asarray(probabilities, dtype=float).reshape(len(test_idx), y.shape[1])
    return scores, scores >= 0.5


def evaluate_corpus(
    corpus: Corpus,
    encoders: dict[str, object],
    *,
    n_folds: int | None = None,
    curve_sizes: Sequence[int] = (),
    active: bool = True,
    setfit_shots: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict:
    """Cross-validated metrics of every method, and learning curves when ``curve_sizes`` is given.

    With ``setfit_shots`` (and the optional ``setfit`` package installed), each fold also
    trains SetFit few-shot on that many units per domain, and ``trained`` on the very same
    sample (``setfit_fewshot`` vs ``trained_fewshot``).

    ``encoders`` maps a suffix to an encoder: ``{"": Encoder(), "_fast": StaticEncoder()}``
    evaluates ``zeroshot``, ``trained``, ``zeroshot_fast`` and ``trained_fast``.
    """
    units, domain_ids = corpus.units, corpus.codebook.domain_ids
    y = label_matrix(units, domain_ids)
    groups = np.array([u.case for u in units])
    folds = case_folds(units, n_folds)
    encoded = {suffix: _Encoded(corpus, encoder) for suffix, encoder in encoders.items()}
    shape = y.shape
    predictions = {
        name: Prediction(np.zeros(shape), np.zeros(shape, dtype=bool))
        for suffix in encoded
        for name in (f"zeroshot{suffix}", f"trained{suffix}")
    }
    predictions["tfidf_lr"] = Prediction(np.zeros(shape), np.zeros(shape, dtype=bool))
    setfit_note = _setfit_available() if setfit_shots else "not requested (evaluate --setfit-shots N)"
    if setfit_shots and setfit_note == "ok":
        for name in ("setfit_fewshot", "trained_fewshot"):
            predictions[name] = Prediction(np.zeros(shape), np.zeros(shape, dtype=bool))
    rng = np.random.default_rng(SEED)
    fit_seconds = []
    for train_idx, test_idx in folds:
        for suffix, enc in encoded.items():
            zs = enc.prior[test_idx]
            predictions[f"zeroshot{suffix}"].scores[test_idx] = zs
            predictions[f"zeroshot{suffix}"].suggested[test_idx] = suggestion_mask(zs)
            scores, suggested, model = _fit_trained(enc, corpus, y, groups, train_idx, test_idx)
            predictions[f"trained{suffix}"].scores[test_idx] = scores
            predictions[f"trained{suffix}"].suggested[test_idx] = suggested
            if suffix == "":
                fit_seconds.append(model.fit_seconds)
        scores, suggested = _fit_tfidf(units, y, train_idx, test_idx)
        predictions["tfidf_lr"].scores[test_idx] = scores
        predictions["tfidf_lr"].suggested[test_idx] = suggested
        if "setfit_fewshot" in predictions:
            sample = few_shot_sample(y, train_idx, setfit_shots or 0, rng)
            scores, suggested = _fit_setfit(units, y, sample, test_idx, encoded[""].encoder)
            predictions["setfit_fewshot"].scores[test_idx] = scores
            predictions["setfit_fewshot"].suggested[test_idx] = suggested
            scores, suggested, _ = _fit_trained(encoded[""], corpus, y, groups, sample, test_idx)
            predictions["trained_fewshot"].scores[test_idx] = scores
            predictions["trained_fewshot"].suggested[test_idx] = suggested
        if on_progress:
            on_progress(1)
    report = {
        "corpus": corpus.name,
        "codebook": corpus.codebook.name,
        "domains": domain_ids,
        "n_units": len(units),
        "n_cases": len(set(groups)),
        "folds": "leave-one-case-out"
        if n_folds is None or n_folds >= len(set(groups))
        else f"{n_folds} case folds",
        "label_counts": {d: int(y[:, j].sum()) for j, d in enumerate(domain_ids)},
        "other_units": int((y.sum(axis=1) == 0).sum()),
        "methods": {name: metrics(y, p.scores, p.suggested, domain_ids) for name, p in predictions.items()},
        "setfit": setfit_note if setfit_note != "ok" else f"{setfit_shots} units per domain per fold",
        "train_seconds_mean": float(np.mean(fit_seconds)) if fit_seconds else None,
        "encoders": {suffix or "default": enc.encoder.model_id for suffix, enc in encoded.items()},
    }
    if curve_sizes:
        report["learning_curves"] = learning_curves(
            corpus, encoded, y, groups, folds, curve_sizes, active=active, on_progress=on_progress
        )
    return report


def learning_curves(
    corpus: Corpus,
    encoded: dict[str, _Encoded],
    y: np.ndarray,
    groups: np.ndarray,
    folds,
    sizes: Sequence[int],
    *,
    active: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> dict:
    """Micro-F1 (pooled over folds) against the number of confirmed training units."""
    rng = np.random.default_rng(SEED)
    largest = min(len(train) for train, _ in folds)
    sizes = sorted({min(int(s), largest) for s in sizes})
    names = [f"trained{s}" for s in encoded] + ["tfidf_lr"] + (["trained_active"] if active else [])
    pooled = {name: {n: (np.zeros(y.shape), np.zeros(y.shape, dtype=bool)) for n in sizes} for name in names}
    for train_idx, test_idx in folds:
        order = rng.permutation(train_idx)
        for n in sizes:
            chosen = order[:n]
            for suffix, enc in encoded.items():
                scores, suggested, _ = _fit_trained(enc, corpus, y, groups, chosen, test_idx)
                pooled[f"trained{suffix}"][n][0][test_idx] = scores
                pooled[f"trained{suffix}"][n][1][test_idx] = suggested
            scores, suggested = _fit_tfidf(corpus.units, y, chosen, test_idx)
            pooled["tfidf_lr"][n][0][test_idx] = scores
            pooled["tfidf_lr"][n][1][test_idx] = suggested
        if active and "" in encoded:
            _active_curve(corpus, encoded[""], y, groups, order, test_idx, sizes, pooled["trained_active"])
        if on_progress:
            on_progress(1)
    curves = {
        name: [{"n": n, **_brief(metrics(y, *pooled[name][n], corpus.codebook.domain_ids))} for n in sizes]
        for name in names
    }
    return {"sizes": sizes, "sampling": "random from the training cases of each fold", "curves": curves}


def _active_curve(corpus, enc: _Encoded, y, groups, order, test_idx, sizes, pooled) -> None:
    """Grow the training set by the pool's most uncertain units (margin), starting from a random seed."""
    labelled = list(order[:ACTIVE_SEED_SIZE])
    seeded = set(labelled)
    pool = [i for i in order if i not in seeded]
    for n in sizes:
        if n > len(labelled):
            model = _fit(enc, corpus, y, groups, np.array(labelled))
            pool_idx = np.array(pool)
            ranking = np.argsort(-uncertainty(_score(model, enc, corpus, pool_idx), "margin"), kind="stable")
            picked = set(pool_idx[ranking[: n - len(labelled)]].tolist())
            labelled += [i for i in pool if i in picked]
            pool = [i for i in pool if i not in picked]
        chosen = np.array(labelled[:n])
        scores, suggested, _ = _fit_trained(enc, corpus, y, groups, chosen, test_idx)
        pooled[n][0][test_idx] = scores
        pooled[n][1][test_idx] = suggested


def _brief(m: dict) -> dict:
    return {k: m[k] for k in ("micro_f1", "macro_f1", "top1_accuracy")}


def plot_learning_curves(report: dict, path: str | Path) -> Path:
    """Micro-F1 against confirmed training units, one line per method, zero-shot as a level line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = report["learning_curves"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, points in curves["curves"].items():
        ax.plot([p["n"] for p in points], [p["micro_f1"] for p in points], marker="o", label=name)
    for name, style in (("zeroshot", "--"), ("zeroshot_fast", ":")):
        if name in report["methods"]:
            ax.axhline(report["methods"][name]["micro_f1"], linestyle=style, color="grey", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("confirmed training units")
    ax.set_ylabel("micro-F1 on held-out cases")
    ax.set_title(f"{report['corpus']}: learning curves ({report['folds']})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    picture = io.BytesIO()
    fig.savefig(picture, format="png", dpi=120)
    plt.close(fig)
    path = Path(path)
    ensure_folder(path.parent)
    return write_atomic(path, picture.getvalue())
