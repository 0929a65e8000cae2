"""How well do the proposals match gold codes? Cross-validated by case, against baselines, with curves.

Every method is fitted on some cases and scored on cases it never saw
(leave-one-case-out, or k folds of whole cases for large corpora), in one run:

* ``zeroshot`` / ``zeroshot_sequence``: the codebook alone, without / with the sequence layer;
* ``trained`` / ``trained_sequence``: :mod:`transcode.classify.trained`, without / with it;
* ``tfidf_lr``: baseline, TF-IDF of unit and question + class-balanced logistic
  regression per domain, suggesting domains with probability >= 0.5;
* ``question_matching``: the naive baseline of protocol-following interviews: the
  domain of the protocol question nearest to the interviewer's question (only where
  the codebook has protocol questions);
* ``*_fast``: the same with the static model2vec encoder (its accuracy cost), on request.

Metrics: top-1 accuracy (the share of units with a gold domain whose highest-ranked
domain is one of them), micro/macro F1 of the suggested sets (units with no gold
domain are all-negative rows), the **one-key rate** (the share of units whose
suggested set equals the gold set exactly, empty included: one key codes them),
suggestion recall (the share of gold codes that were suggested), and the expected
calibration error of the top-ranked domain. Learning curves give the same against
the number of confirmed training units, drawn as a team codes them: whole
transcripts in a random order, each in transcript order (n = 0 is zero-shot).
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from transcode.classify import CaseUnits
from transcode.classify.calibration import expected_calibration_error, one_key_rate, suggestion_mask
from transcode.classify.evidence import case_evidence, encode_units, softmax, turn_spans
from transcode.classify.examples import LabelledUnit, label_matrix
from transcode.classify.proposer import DomainProposer, reads_as_sequence, zero_shot
from transcode.classify.trained import fit, in_case_order, training_set
from transcode.codebook import Codebook
from transcode.files import ensure_folder, write_atomic

SEED = 13
#: Contrastive pairs per training unit for SetFit (its default is 20; 5 keeps a CPU run to minutes)
SETFIT_PAIR_ITERATIONS = 5
#: Summary measures, in the order tables show them.
SUMMARY = ("top1_accuracy", "micro_f1", "macro_f1", "one_key_rate", "recall", "ece")


@dataclass(frozen=True)
class Corpus:
    name: str
    codebook: Codebook
    units: list[LabelledUnit]
    #: Named subsets of cases to report on their own as well (e.g. the cases not used for tuning).
    subsets: dict[str, tuple[str, ...]] = field(default_factory=dict)


def case_folds(
    units: Sequence[LabelledUnit],
    n_folds: int | None = None,
    train_units: Sequence[LabelledUnit] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training indices into ``train_units``, test indices into ``units``) per fold, cases never split.

    Leave-one-case-out, or ``n_folds`` folds of whole cases. ``train_units`` defaults to
    ``units``; when given (a proxy scored by models trained on the real interviews), a
    fold trains on every training unit whose case is not among the fold's test cases.
    """
    train_units = units if train_units is None else train_units
    groups = np.array([u.case for u in units])
    train_groups = np.array([u.case for u in train_units])
    cases = sorted(set(groups))
    if n_folds is None or n_folds >= len(cases):
        tests = [np.flatnonzero(groups == c) for c in cases]
    else:
        tests = [test for _, test in GroupKFold(n_splits=n_folds).split(np.zeros(len(units)), groups=groups)]
    return [(np.flatnonzero(~np.isin(train_groups, np.unique(groups[test]))), test) for test in tests]


def metrics(y: np.ndarray, scores: np.ndarray, suggested: np.ndarray, domain_ids: Sequence[str]) -> dict:
    """Top-1, micro/macro F1, one-key rate, suggestion recall, ECE, and a per-domain table."""
    y, suggested = np.asarray(y, dtype=int), np.asarray(suggested, dtype=int)
    has_gold = y.sum(axis=1) > 0
    top = np.argmax(scores, axis=1)
    top1 = float(y[np.arange(len(y)), top][has_gold].mean()) if has_gold.any() else float("nan")
    precision, recall, f1, support = precision_recall_fscore_support(y, suggested, zero_division=0)
    micro_p, micro_r, micro_f1, _ = precision_recall_fscore_support(
        y, suggested, average="micro", zero_division=0
    )
    return {
        "top1_accuracy": top1,
        "micro_f1": float(micro_f1),
        "macro_f1": float(f1_score(y, suggested, average="macro", zero_division=0)),
        "one_key_rate": one_key_rate(y, suggested),
        "precision": float(micro_p),
        "recall": float(micro_r),
        "ece": expected_calibration_error(scores, y),
        "units_with_suggestion": float(suggested.any(axis=1).mean()) if len(y) else float("nan"),
        "mean_top_score": float(scores.max(axis=1).mean()) if len(y) else float("nan"),
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
    """A corpus's unit and question vectors for one encoder, computed once and sliced per fold."""

    def __init__(self, corpus: Corpus, encoder, base: DomainProposer | None = None):
        self.corpus = corpus
        self.encoder = encoder
        self.vectors = encode_units(
            encoder, [u.text for u in corpus.units], [u.question for u in corpus.units]
        )
        self.base = base or zero_shot(corpus.codebook, encoder)
        self.y = label_matrix(corpus.units, corpus.codebook.domain_ids)

    def take(self, idx: np.ndarray):
        return tuple(v[idx] for v in self.vectors)

    def training(self, idx: np.ndarray):
        """A training set of these units, in case order (each case's units in transcript order)."""
        units = [self.corpus.units[i] for i in idx]
        order = {id(u): k for k, u in enumerate(units)}
        ordered = [idx[order[id(u)]] for u in in_case_order(units)]
        ordered_idx = np.array(ordered, dtype=int)
        return training_set(
            [self.corpus.units[i] for i in ordered_idx],
            self.corpus.codebook,
            self.encoder,
            self.take(ordered_idx),
        )

    def cases(self, idx: np.ndarray) -> list[tuple[np.ndarray, CaseUnits]]:
        """The test units as cases: (their indices, the case to score), each in transcript order."""
        out = []
        units = self.corpus.units
        for start, end in turn_spans([units[i].case for i in idx]):
            members = idx[start:end]
            out.append((members, CaseUnits.of([units[i] for i in members], vectors=self.take(members))))
        return out


def _score_cases(proposer: DomainProposer, enc: _Encoded, test_idx: np.ndarray, shape) -> dict[str, tuple]:
    """Scores and suggestions of the test units, with and without the sequence layer."""
    out = {}
    position = {int(i): k for k, i in enumerate(test_idx)}
    for sequence, path in ((False, "plain"), (True, "sequence")):
        scores = np.zeros((len(test_idx), shape[1]))
        suggested = np.zeros((len(test_idx), shape[1]), dtype=bool)
        for members, case in enc.cases(test_idx):
            rows = [position[int(i)] for i in members]
            scores[rows] = proposer.score(case, sequence=sequence)
            thresholds = proposer.thresholds(reads_as_sequence(case, sequence))
            suggested[rows] = suggestion_mask(scores[rows], thresholds)
        out[path] = (scores, suggested)
    return out


def _question_matching(enc: _Encoded, test_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The nearest protocol question's domain, from the interviewer's question alone."""
    vectors = enc.base.codebook_vectors
    if not vectors.has_protocol:
        return None
    _, questions, has_question = enc.take(test_idx)
    similarity = vectors.question_similarity(questions)
    scores = np.where(has_question[:, None], softmax(similarity / 0.05), 1.0 / similarity.shape[1])
    suggested = np.zeros_like(scores, dtype=bool)
    suggested[np.arange(len(scores)), scores.argmax(axis=1)] = has_question
    return scores, suggested


def _gate_diagnostics(enc: _Encoded) -> dict:
    """How often the question is discounted: as a probe, and by the decisive-answer gate."""
    units = enc.corpus.units
    probe, gated, n = 0, 0, 0
    for start, end in turn_spans([u.case for u in units]):
        idx = np.arange(start, end)
        u, q, has = enc.take(idx)
        evidence = case_evidence(
            enc.base.codebook_vectors, u, q, has, [units[i].turn for i in idx], enc.base.settings
        )
        probe += int(((evidence.informativeness < 0.5) & has).sum())
        gated += int(((evidence.question_weight < 0.5 * evidence.informativeness) & has).sum())
        n += len(idx)
    return {
        "question_taken_as_probe": probe / n if n else 0.0,
        "override_gate_halves_question": gated / n if n else 0.0,
    }


def _fit_tfidf(
    train: Sequence[LabelledUnit], y_train: np.ndarray, test: Sequence[LabelledUnit]
) -> tuple[np.ndarray, np.ndarray]:
    train_parts, test_parts = [], []
    for field_of in (lambda u: u.text, lambda u: u.question or ""):
        corpus = [field_of(u) for u in train]
        if not any(c.strip() for c in corpus):
            continue  # no questions at all (MTS-Dialog): the unit's words alone
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        try:
            train_parts.append(vectorizer.fit_transform(corpus))
        except ValueError:  # nothing but stop words
            continue
        test_parts.append(vectorizer.transform([field_of(u) for u in test]))
    x_train, x_test = hstack(train_parts).tocsr(), hstack(test_parts).tocsr()
    scores = np.zeros((len(test), y_train.shape[1]))
    for j in range(y_train.shape[1]):
        target = y_train[:, j]
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


class _Pooled:
    """Scores and suggestions of every method for the test units of all folds together."""

    def __init__(self, shape):
        self.shape = shape
        self.methods: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def put(self, name: str, idx: np.ndarray, scores: np.ndarray, suggested: np.ndarray) -> None:
        if name not in self.methods:
            self.methods[name] = (np.zeros(self.shape), np.zeros(self.shape, dtype=bool))
        self.methods[name][0][idx] = scores
        self.methods[name][1][idx] = suggested


def evaluate_corpus(
    corpus: Corpus,
    encoders: Mapping[str, Any],
    *,
    n_folds: int | None = None,
    train_corpus: Corpus | None = None,
    curve_sizes: Sequence[int] = (),
    setfit_shots: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> dict:
    """Cross-validated metrics of every method, and learning curves when ``curve_sizes`` is given.

    ``encoders`` maps a suffix to an encoder: ``{"": Encoder(), "_fast": StaticEncoder()}``
    evaluates every method with both. ``train_corpus`` (same codebook) trains the learned
    methods when the test units are not themselves the training material (the protocol proxy).
    With ``setfit_shots`` (and the optional ``setfit`` package installed), each fold also
    trains SetFit few-shot on that many units per domain, and ``trained`` on the very same
    sample (``setfit_fewshot`` vs ``trained_fewshot``).
    """
    train_corpus = train_corpus or corpus
    domain_ids = corpus.codebook.domain_ids
    y = label_matrix(corpus.units, domain_ids)
    folds = case_folds(corpus.units, n_folds, train_corpus.units)
    tests = {suffix: _Encoded(corpus, encoder) for suffix, encoder in encoders.items()}
    trains = (
        tests
        if train_corpus is corpus
        else {
            suffix: _Encoded(train_corpus, encoder, tests[suffix].base)
            for suffix, encoder in encoders.items()
        }
    )
    pooled = _Pooled(y.shape)
    setfit_note = _setfit_available() if setfit_shots else "not requested (evaluate --setfit-shots N)"
    rng = np.random.default_rng(SEED)
    fit_seconds = []
    for train_idx, test_idx in folds:
        for suffix, enc in tests.items():
            for path, (scores, suggested) in _score_cases(enc.base, enc, test_idx, y.shape).items():
                pooled.put(
                    f"zeroshot{'_sequence' if path == 'sequence' else ''}{suffix}",
                    test_idx,
                    scores,
                    suggested,
                )
            model = fit(trains[suffix].training(train_idx), enc.base)
            for path, (scores, suggested) in _score_cases(model, enc, test_idx, y.shape).items():
                pooled.put(
                    f"trained{'_sequence' if path == 'sequence' else ''}{suffix}", test_idx, scores, suggested
                )
            if suffix == "":
                fit_seconds.append(model.fit_seconds)
                matched = _question_matching(enc, test_idx)
                if matched is not None:
                    pooled.put("question_matching", test_idx, *matched)
        train_units = [train_corpus.units[i] for i in train_idx]
        scores, suggested = _fit_tfidf(
            train_units, trains[next(iter(trains))].y[train_idx], [corpus.units[i] for i in test_idx]
        )
        pooled.put("tfidf_lr", test_idx, scores, suggested)
        if setfit_shots and setfit_note == "ok" and train_corpus is corpus:
            enc = tests[next(iter(tests))]
            sample = few_shot_sample(y, train_idx, setfit_shots or 0, rng)
            pooled.put(
                "setfit_fewshot", test_idx, *_fit_setfit(corpus.units, y, sample, test_idx, enc.encoder)
            )
            few = fit(enc.training(sample), enc.base)
            pooled.put("trained_fewshot", test_idx, *_score_cases(few, enc, test_idx, y.shape)["plain"])
        if on_progress:
            on_progress(1)
    groups = np.array([u.case for u in corpus.units])
    report: dict[str, Any] = {
        "corpus": corpus.name,
        "codebook": corpus.codebook.name,
        "domains": domain_ids,
        "n_units": len(corpus.units),
        "n_cases": len(set(groups)),
        "folds": "leave-one-case-out"
        if n_folds is None or n_folds >= len(set(groups))
        else f"{n_folds} case folds",
        "trained_on": corpus.name if train_corpus is corpus else train_corpus.name,
        "label_counts": {d: int(y[:, j].sum()) for j, d in enumerate(domain_ids)},
        "other_units": int((y.sum(axis=1) == 0).sum()),
        "methods": {name: metrics(y, s, g, domain_ids) for name, (s, g) in pooled.methods.items()},
        "subsets": {
            label: {
                name: metrics(y[mask], s[mask], g[mask], domain_ids)
                for name, (s, g) in pooled.methods.items()
            }
            for label, cases in corpus.subsets.items()
            if (mask := np.isin(groups, cases)).any()
        },
        "diagnostics": _gate_diagnostics(tests[next(iter(tests))]),
        "setfit": setfit_note if setfit_note != "ok" else f"{setfit_shots} units per domain per fold",
        "train_seconds_mean": float(np.mean(fit_seconds)) if fit_seconds else None,
        "encoders": {suffix or "default": enc.encoder.model_id for suffix, enc in tests.items()},
    }
    if curve_sizes:
        report["learning_curves"] = learning_curves(
            corpus, tests[""], trains[""], folds, curve_sizes, report["methods"], on_progress=on_progress
        )
    return report


def transcript_order(units: Sequence[LabelledUnit], train_idx: np.ndarray, rng) -> np.ndarray:
    """Training units as a team codes them: whole cases in a random order, each in transcript order."""
    cases = list(dict.fromkeys(units[i].case for i in train_idx))
    rng.shuffle(cases)
    by_case: dict[str, list[int]] = {c: [] for c in cases}
    for i in train_idx:
        by_case[units[i].case].append(int(i))
    return np.array([i for c in cases for i in by_case[c]], dtype=int)


def learning_curves(
    corpus: Corpus,
    test: _Encoded,
    train: _Encoded,
    folds,
    sizes: Sequence[int],
    full: dict,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> dict:
    """Every summary measure (pooled over folds) against the number of confirmed training units."""
    rng = np.random.default_rng(SEED)
    y = test.y
    largest = min(len(train_idx) for train_idx, _ in folds)
    sizes = sorted({min(int(s), largest) for s in sizes if s > 0})
    names = ("trained", "trained_sequence", "tfidf_lr")
    pooled = {n: _Pooled(y.shape) for n in sizes}
    for train_idx, test_idx in folds:
        order = transcript_order(train.corpus.units, train_idx, rng)
        for n in sizes:
            chosen = order[:n]
            model = fit(train.training(chosen), test.base)
            for path, (scores, suggested) in _score_cases(model, test, test_idx, y.shape).items():
                pooled[n].put(
                    "trained_sequence" if path == "sequence" else "trained", test_idx, scores, suggested
                )
            scores, suggested = _fit_tfidf(
                [train.corpus.units[i] for i in chosen], train.y[chosen], [corpus.units[i] for i in test_idx]
            )
            pooled[n].put("tfidf_lr", test_idx, scores, suggested)
        if on_progress:
            on_progress(1)
    domain_ids = corpus.codebook.domain_ids
    curves: dict[str, list[dict]] = {}
    for name in names:
        zero = {"trained": "zeroshot", "trained_sequence": "zeroshot_sequence"}.get(name)
        points = [{"n": 0, **_brief(full[zero])}] if zero else []
        points += [{"n": n, **_brief(metrics(y, *pooled[n].methods[name], domain_ids))} for n in sizes]
        curves[name] = points
    return {
        "sizes": [0, *sizes],
        "sampling": "whole training cases in a random order, each in transcript order (n = 0: zero-shot)",
        "curves": curves,
    }


def _brief(m: dict) -> dict:
    return {k: m[k] for k in SUMMARY}


def plot_learning_curves(report: dict, path: str | Path) -> Path:
    """Top-1 and one-key rate against confirmed training units, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = report["learning_curves"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, measure, label in (
        (axes[0], "top1_accuracy", "top-1 accuracy"),
        (axes[1], "one_key_rate", "one-key rate (suggested set = gold set)"),
    ):
        for name, points in curves["curves"].items():
            ax.plot([p["n"] for p in points], [p[measure] for p in points], marker="o", label=name)
        if "question_matching" in report["methods"] and measure == "top1_accuracy":
            ax.axhline(
                report["methods"]["question_matching"][measure],
                linestyle=":",
                color="grey",
                label="question matching",
            )
        ax.set_xscale("symlog", linthresh=25)
        ax.set_xticks(curves["sizes"], [str(n) for n in curves["sizes"]], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("confirmed training units (0 = zero-shot; the last = all)")
        ax.set_ylabel(label)
        ax.set_ylim(0, 1)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{report['corpus']}: held-out cases ({report['folds']})")
    fig.tight_layout()
    picture = io.BytesIO()
    fig.savefig(picture, format="png", dpi=110)
    plt.close(fig)
    path = Path(path)
    ensure_folder(path.parent)
    return write_atomic(path, picture.getvalue())
