"""Background retraining for the coding room: learn from consensus codes, store fresh proposals.

Only consensus codes train the shared model (blind coding: a model fitted on
one judge's codes would show that judge's choices to the others). The UI calls
:func:`retrain_from_consensus` from a worker thread and swaps in the new
proposals when it returns; the judge keeps coding meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from transcode.classify import propose_units
from transcode.classify.examples import consensus_examples
from transcode.classify.trained import OnlineTrainer
from transcode.codebook import Codebook
from transcode.store import Store

#: Retrain once this many new consensus units have arrived since the last training.
RETRAIN_EVERY = 10


@dataclass(frozen=True)
class RetrainResult:
    model_version: str
    n_examples: int
    n_proposals: int
    seconds: float


def retrain_from_consensus(
    store: Store,
    codebook: Codebook,
    encoder,
    *,
    trainer: OnlineTrainer | None = None,
    case: str | None = None,
) -> RetrainResult | None:
    """Fit on every consensus-coded unit and replace the proposals of all units (or one case's).

    Pass the same ``trainer`` between rounds to reuse its vectors and warm-start
    the fit. Returns ``None`` while the team has recorded no consensus yet.
    """
    started = time.perf_counter()
    examples = consensus_examples(store)
    if not examples:
        return None
    trainer = trainer or OnlineTrainer(codebook, encoder)
    trainer.record(examples)
    model = trainer.retrain()
    units = store.units(case)
    proposals = propose_units(
        model, units, case_of=lambda u: u.key.rsplit("-", 1)[0], turn_of=lambda u: u.turn_number
    )
    store.save_proposals({u.key: p for u, p in zip(units, proposals, strict=True)})
    return RetrainResult(model.version, len(examples), len(units), time.perf_counter() - started)
