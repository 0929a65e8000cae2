"""Agreement within each group of units (each case), every group at once.

A case's calibration is the agreement report of that case's own ratings. One report per case
costs a fraction of a second (library calls, data frames), which is minutes for a study of a
thousand cases. Every coefficient a calibration shows is a sum over units of small per-unit
statistics (as in :mod:`transcode.agreement.bootstrap`), so a sparse groups x units selection
gives every group's value in one product: the values the report gives for that group alone.

Per group, as the report of its ratings alone would give them: the judges who rated its units,
κ (Cohen with two judges, Fleiss with more), Krippendorff's α and percent agreement over what
each judge gave a unit (MASI distance between code sets when some judge gave a unit two codes;
with at most one code per judge the MASI distance is the nominal one, so one table serves both),
and per code the same on the yes/no decisions.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import sparse

from transcode.agreement.coefficients import coincidences_from_counts, masi_distances
from transcode.agreement.ratings import Ratings
from transcode.agreement.report import case_selection

#: Below this chance agreement counts as 1 (as the bootstrap formulas do): κ undefined.
_CHANCE_ONE = 1 - 1e-12


@dataclass(frozen=True)
class GroupAgreement:
    judges: list[str]
    n_units: int
    multi_label: bool
    kappa: float | None  # Cohen with two judges, Fleiss with more
    alpha: float | None
    percent_agreement: float | None
    per_code: dict[str, dict[str, float | None]] = field(default_factory=dict)  # kappa, alpha, percent

    @property
    def kappa_kind(self) -> str:
        return "Cohen" if len(self.judges) == 2 else "Fleiss"


def _value(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _onehot(index: np.ndarray, width: int) -> sparse.csr_matrix:
    """units x width, a 1 at each unit's index (no entry where the index is -1)."""
    rows = np.nonzero(index >= 0)[0]
    return sparse.csr_matrix((np.ones(len(rows)), (rows, index[rows])), shape=(len(index), width))


def _percent(selection: sparse.csr_matrix, counts: sparse.csr_matrix) -> np.ndarray:
    per_unit = np.asarray(counts.sum(axis=1)).ravel()
    pairable = per_unit >= 2
    same = np.asarray((counts.multiply(counts) - counts).sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pairable, same / (per_unit * (per_unit - 1)), 0.0)
        return (selection @ share) / (selection @ pairable.astype(float))


def _fleiss(selection: sparse.csr_matrix, counts: sparse.csr_matrix) -> np.ndarray:
    """Fleiss' kappa with missing ratings handled as irrCAC does (Gwet 2014), per group."""
    per_unit = np.asarray(counts.sum(axis=1)).ravel()
    rated, pairable = per_unit >= 1, per_unit >= 2
    same = np.asarray((counts.multiply(counts) - counts).sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = np.where(pairable, same / (per_unit * (per_unit - 1)), 0.0)
        shares = sparse.diags(np.where(rated, 1 / np.where(rated, per_unit, 1), 0.0)) @ counts
        observed = (selection @ agreement) / (selection @ pairable.astype(float))
        pi = np.asarray((selection @ shares).todense()) / (selection @ rated.astype(float))[:, None]
        chance = (pi**2).sum(axis=1)
        kappa = (observed - chance) / (1 - chance)
    return np.where(np.isfinite(kappa) & (chance < _CHANCE_ONE), kappa, np.nan)


def _cohen(selection: sparse.csr_matrix, first: np.ndarray, second: np.ndarray, width: int) -> np.ndarray:
    """Cohen's kappa per group over the units both judges rated (category indexes, -1 = not rated)."""
    both = (first >= 0) & (second >= 0)
    a, b = np.where(both, first, -1), np.where(both, second, -1)
    total = selection @ both.astype(float)
    agree = selection @ (both & (a == b)).astype(float)
    rows = np.asarray((selection @ _onehot(a, width)).todense())
    columns = np.asarray((selection @ _onehot(b, width)).todense())
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = agree / total
        chance = (rows * columns).sum(axis=1) / total**2
        kappa = (observed - chance) / (1 - chance)
    return np.where((total > 0) & (chance < _CHANCE_ONE), kappa, np.nan)


def _decided(code: str, row: list) -> list[int]:
    """Per judge: 1 gave ``code``, 0 rated the unit without it, -1 did not rate it."""
    return [-1 if g is None else int(code in g) for g in row]


def grouped_agreement(ratings: Ratings, group_of: Mapping[str, str]) -> dict[str, GroupAgreement]:
    """Each group's agreement (units without a group are left out), as its own ratings would give it."""
    groups, selection = case_selection(ratings.units, group_of)
    if not groups:
        return {}
    judges = list(ratings.judges)
    n_units = len(ratings.units)
    given = [[ratings.codes.get((unit, judge)) for judge in judges] for unit in ratings.units]

    def table(cell, width: int, dtype: type = float) -> np.ndarray:
        """units x width array of ``cell(row)`` per unit (a row holds each judge's code set)."""
        return np.array([cell(row) for row in given], dtype=dtype).reshape(n_units, width)

    rated = table(lambda row: [g is not None for g in row], len(judges))
    group_judges = (selection @ rated) > 0
    multi = selection @ table(lambda row: [any(g is not None and len(g) > 1 for g in row)], 1)[:, 0]

    # what each judge gave each unit, as one value (a code set), for the overall coefficients
    sets = list(dict.fromkeys(g for row in given for g in row if g is not None))
    values: list[Hashable] = list(sets)
    index = {v: i for i, v in enumerate(values)}
    value_of = table(lambda row: [-1 if g is None else index[g] for g in row], len(judges), int)
    counts = sum(
        (_onehot(value_of[:, j], len(values)) for j in range(len(judges))),
        sparse.csr_matrix((n_units, len(values))),
    )
    overall_alpha = coincidences_from_counts(values, counts, masi_distances(sets)).alpha(selection)
    overall_percent = _percent(selection, counts)
    overall_fleiss = _fleiss(selection, counts)

    code_names = ratings.code_names
    present = (
        selection @ table(lambda row: [any(g and c in g for g in row) for c in code_names], len(code_names))
    ) > 0
    nominal = np.array([[0.0, 1.0], [1.0, 0.0]])
    per_code = {}
    for code in code_names:
        # 0 = rated without the code, 1 = gave it, -1 = not rated
        decided = table(partial(_decided, code), len(judges), int)
        yes_no = sum((_onehot(decided[:, j], 2) for j in range(len(judges))), sparse.csr_matrix((n_units, 2)))
        per_code[code] = (
            decided,
            coincidences_from_counts([False, True], yes_no, nominal).alpha(selection),
            _percent(selection, yes_no),
            _fleiss(selection, yes_no),
        )

    members = [[judges[j] for j in np.nonzero(group_judges[g])[0]] for g in range(len(groups))]
    # Cohen's kappa for each pair of judges that are a group's only two, over every group at once
    cohen: dict[tuple[int, ...], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for pair in {tuple(judges.index(j) for j in m) for m in members if len(m) == 2}:
        first, second = pair
        cohen[pair] = (
            _cohen(selection, value_of[:, first], value_of[:, second], len(values)),
            {
                code: _cohen(selection, decided[:, first], decided[:, second], 2)
                for code, (decided, *_) in per_code.items()
            },
        )
    out = {}
    sizes = np.diff(selection.indptr)
    for g, group in enumerate(groups):
        pair = tuple(judges.index(j) for j in members[g])
        two = len(pair) == 2
        kappa = cohen[pair][0][g] if two else overall_fleiss[g]
        codes: dict[str, dict[str, float | None]] = {}
        for k, code in enumerate(code_names):
            if not present[g, k]:
                continue
            _, alpha, percent, fleiss = per_code[code]
            codes[code] = {
                "kappa": _value(cohen[pair][1][code][g] if two else fleiss[g]),
                "alpha": _value(alpha[g]),
                "percent_agreement": _value(percent[g]),
            }
        out[group] = GroupAgreement(
            judges=sorted(members[g]),
            n_units=int(sizes[g]),
            multi_label=bool(multi[g] > 0),
            kappa=_value(kappa),
            alpha=_value(overall_alpha[g]),
            percent_agreement=_value(overall_percent[g]),
            per_code=codes,
        )
    return out
