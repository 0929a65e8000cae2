"""Inter-judge agreement coefficients on a units x judges matrix.

Every function takes the ratings as a units x judges matrix: a list of rows,
a NumPy array or a pandas DataFrame (rows are units, columns are judges);
``None`` or NaN marks a judge who did not rate that unit. Values are any
hashable labels for the nominal coefficients and numbers for ordinal,
interval and ratio alpha; set-valued cells (lists, sets) are for the
distance-based alpha such as :func:`masi_alpha`.

Each function returns an :class:`Estimate`. When the data leave a coefficient
undefined (one category only, no unit rated twice, 0/0) the estimate's
``value`` is ``None`` and ``reason`` says why, so a report can print ``null``
instead of failing. Misuse that no data could fix (Cohen's kappa on three
judges, non-numeric values at interval level) raises ``ValueError``.

Libraries do the arithmetic where one fits: ``krippendorff`` (alpha, all four
levels), ``statsmodels`` (Cohen's kappa, Scott's pi as two-judge Fleiss),
``irrCAC`` (Fleiss' kappa with missing data, Gwet's AC1/AC2). Set-valued alpha
is computed here from the coincidence matrix, because no library both uses
Passonneau's exact MASI constants and treats empty-versus-empty as distance 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, TypeAlias, cast

import krippendorff
import numpy as np
import pandas as pd
from irrCAC.raw import CAC
from scipy import sparse
from statsmodels.stats import inter_rater

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
Matrix: TypeAlias = pd.DataFrame | np.ndarray | Sequence[Sequence[Any]]
Distance = Callable[[Any, Any], float]

#: The percent agreement used throughout (Gwet 2014; irrCAC's ``pa``; Fleiss' P-bar
#: when every unit has the same number of ratings).
PERCENT_AGREEMENT_DEFINITION = (
    "mean over units rated by at least two judges of the share of agreeing judge pairs "
    "among all judge pairs that rated the unit (Fleiss 1971 / Gwet 2014, as irrCAC)"
)

# Passonneau (2006) monotonicity weights, exact: identical, subset, overlap, disjoint.
_MASI_IDENTICAL = Fraction(1)
_MASI_SUBSET = Fraction(2, 3)
_MASI_OVERLAP = Fraction(1, 3)
_MASI_DISJOINT = Fraction(0)


@dataclass(frozen=True)
class Estimate:
    """A coefficient value, or ``None`` with the reason it is undefined on these data."""

    value: float | None
    reason: str | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None

    @classmethod
    def undefined(cls, reason: str) -> Estimate:
        return cls(None, reason)

    @classmethod
    def of(cls, value: float, reason_if_not_finite: str) -> Estimate:
        value = float(value)
        if not math.isfinite(value):
            return cls(None, reason_if_not_finite)
        return cls(value)


def _is_missing(cell: Any) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return cell is pd.NA or cell is pd.NaT


def as_frame(matrix: Matrix) -> pd.DataFrame:
    """The matrix as an object DataFrame with ``None`` for missing ratings."""
    if isinstance(matrix, pd.DataFrame):
        cells = matrix.to_numpy(dtype=object, copy=True)
        cells[pd.isna(cells)] = None  # None, NaN, pd.NA and NaT alike, in one vectorised pass
        return pd.DataFrame(cells, index=matrix.index, columns=matrix.columns, dtype=object)
    rows = [list(row) for row in matrix]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("every row of the ratings matrix needs one cell per judge")
    cells = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            cells[i, j] = None if _is_missing(cell) else cell
    return pd.DataFrame(cells, dtype=object)


def category_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[Hashable]]:
    """Integer codes (-1 = missing) for the labels, in a stable category order."""
    cells = frame.to_numpy().ravel()
    distinct = list(dict.fromkeys(cell for cell in cells if cell is not None))
    try:
        distinct.sort()
    except TypeError:
        distinct.sort(key=repr)
    index = {label: i for i, label in enumerate(distinct)}
    codes = np.fromiter(
        (-1 if cell is None else index[cell] for cell in cells), dtype=int, count=len(cells)
    ).reshape(frame.shape)
    return codes, distinct


def counts_per_unit(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """units x categories table: how many judges put each unit in each category."""
    counts = np.zeros((codes.shape[0], n_categories), dtype=float)
    for column in codes.T:
        rated = column >= 0
        np.add.at(counts, (np.nonzero(rated)[0], column[rated]), 1)
    return counts


def _two_judges(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if frame.shape[1] != 2:
        raise ValueError(f"{name} compares exactly two judges; got {frame.shape[1]}")
    return frame[frame.notna().all(axis=1)]


def percent_agreement(matrix: Matrix) -> Estimate:
    """Pairwise percent agreement, see :data:`PERCENT_AGREEMENT_DEFINITION`.

    Krippendorff's coincidence-based A_o (0.800 on his 2011 example) and irrCAC's
    corrected variant (0.805) are different quantities; this one gives 0.818 there.
    """
    codes, categories = category_codes(as_frame(matrix))
    counts = counts_per_unit(codes, len(categories))
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    if not pairable.any():
        return Estimate.undefined("no unit was rated by two or more judges")
    agreeing_pairs = (counts[pairable] * (counts[pairable] - 1)).sum(axis=1)
    all_pairs = per_unit[pairable] * (per_unit[pairable] - 1)
    return Estimate(float(np.mean(agreeing_pairs / all_pairs)))


def contingency_table(matrix: Matrix) -> tuple[np.ndarray, list[Hashable]]:
    """Judge 1 (rows) x judge 2 (columns) counts over the units both rated."""
    frame = _two_judges(as_frame(matrix), "a contingency table")
    codes, categories = category_codes(frame)
    table = np.zeros((len(categories), len(categories)), dtype=float)
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1)
    return table, categories


def _weight_matrix(categories: list[Hashable], weights: str | Distance) -> np.ndarray:
    """Disagreement weights for statsmodels: on category ranks, or from a distance."""
    ranks = np.arange(len(categories), dtype=float)
    if weights == "linear":
        return np.abs(ranks[:, None] - ranks[None, :])
    if weights == "quadratic":
        return (ranks[:, None] - ranks[None, :]) ** 2
    if callable(weights):
        return np.array([[float(weights(a, b)) for b in categories] for a in categories])
    raise ValueError(f"unknown kappa weights {weights!r}: use 'linear', 'quadratic' or a distance function")


def cohen_kappa(matrix: Matrix, weights: str | Distance | None = None) -> Estimate:
    """Cohen's kappa for two judges over the units both rated (statsmodels).

    ``weights`` gives weighted kappa: ``"linear"`` or ``"quadratic"`` on the rank
    of the categories that occur (as R ``irr::kappa2`` and SAS do), or a function
    ``distance(a, b)`` for any other disagreement weighting.
    """
    table, categories = contingency_table(matrix)
    if table.sum() == 0:
        return Estimate.undefined("no unit was rated by both judges")
    if len(categories) < 2:
        return Estimate.undefined("both judges used one and the same category for every unit")
    if weights is None:
        value = inter_rater.cohens_kappa(table, return_results=False)
    else:
        value = inter_rater.cohens_kappa(
            table, weights=_weight_matrix(categories, weights), return_results=False
        )
    return Estimate.of(value, "chance agreement is 1 (no variation in the judges' categories)")


def scott_pi(matrix: Matrix) -> Estimate:
    """Scott's pi for two judges over the units both rated.

    Computed as Fleiss' kappa with two raters (statsmodels), which is Scott's
    pi by construction: chance agreement from the pooled category shares.
    """
    frame = _two_judges(as_frame(matrix), "Scott's pi")
    if frame.empty:
        return Estimate.undefined("no unit was rated by both judges")
    codes, categories = category_codes(frame)
    if len(categories) < 2:
        return Estimate.undefined("both judges used one and the same category for every unit")
    counts, _ = inter_rater.aggregate_raters(codes, n_cat=len(categories))
    return Estimate.of(inter_rater.fleiss_kappa(counts, method="fleiss"), "chance agreement is 1")


def _irr_frame(codes: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(codes.astype(float))
    return frame.where(frame >= 0)


def _irr_coefficient(ratings: pd.DataFrame, method: str, **options: Any) -> float:
    """irrCAC's point estimate, also for a single unit.

    irrCAC always computes a variance, which divides by n(n-1) and fails for one
    unit. Fleiss' kappa and AC1 depend only on per-unit and overall category
    proportions, which duplicating every unit leaves unchanged, so a lone unit
    is estimated from itself twice.
    """
    if len(ratings) < 2:
        ratings = pd.concat([ratings, ratings], ignore_index=True)
    result = getattr(CAC(ratings, digits=15, **options), method)()["est"]
    return result["coefficient_value"]


def fleiss_kappa(matrix: Matrix) -> Estimate:
    """Fleiss' kappa, generalised to missing ratings as in Gwet (2014) via irrCAC.

    With complete data this is exactly Fleiss (1971) (statsmodels gives the same).
    """
    codes, categories = category_codes(as_frame(matrix))
    counts = counts_per_unit(codes, len(categories))
    if not (counts.sum(axis=1) >= 2).any():
        return Estimate.undefined("no unit was rated by two or more judges")
    if len(categories) < 2:
        return Estimate.undefined("every rating is the same category, so chance agreement is 1")
    rated = codes[(codes >= 0).any(axis=1)]
    return Estimate.of(_irr_coefficient(_irr_frame(rated), "fleiss"), "chance agreement is 1")


def gwet_ac1(matrix: Matrix, categories: Sequence[Hashable] | None = None) -> Estimate:
    """Gwet's AC1 (irrCAC), missing ratings allowed.

    ``categories`` lists every possible category; give it when some are never
    used (per-code yes/no data: ``[False, True]``), because AC1's chance term
    depends on how many categories exist, not only on those observed.
    """
    return _gwet(matrix, "identity", categories)


def gwet_ac2(
    matrix: Matrix,
    weights: Literal["linear", "quadratic", "ordinal", "ratio"] = "quadratic",
    categories: Sequence[float] | None = None,
) -> Estimate:
    """Gwet's AC2: AC1 with irrCAC's agreement weights over numeric categories."""
    frame = as_frame(matrix)
    _numeric(frame, f"AC2 with {weights} weights")
    return _gwet(frame, weights, categories)


def _gwet(matrix: Matrix, weights: str, categories: Sequence[Hashable] | None) -> Estimate:
    frame = as_frame(matrix)
    codes, observed = category_codes(frame)
    if categories is None:
        universe = observed
    else:
        universe = list(categories)
        unknown = set(observed) - set(universe)
        if unknown:
            raise ValueError(f"ratings outside the given categories: {sorted(map(str, unknown))}")
        position = {label: i for i, label in enumerate(universe)}
        remap = np.array([position[label] for label in observed] + [-1], dtype=int)
        codes = remap[codes]
    if not (((codes >= 0).sum(axis=1)) >= 2).any():
        return Estimate.undefined("no unit was rated by two or more judges")
    if len(universe) < 2:
        return Estimate.undefined("only one category exists, so AC1's chance agreement is 0/0")
    rated = codes[(codes >= 0).any(axis=1)]
    if weights == "identity":
        irr_categories: list[Any] = [float(i) for i in range(len(universe))]
        ratings = _irr_frame(rated)
    else:
        irr_categories = [float(label) for label in universe]  # type: ignore[arg-type]
        ratings = pd.DataFrame(
            [[irr_categories[c] if c >= 0 else np.nan for c in row] for row in rated], dtype=float
        )
    value = _irr_coefficient(ratings, "gwet", weights=weights, categories=irr_categories)
    return Estimate.of(value, "chance agreement is 1")


def _numeric(frame: pd.DataFrame, what: str) -> np.ndarray:
    """The matrix as floats (NaN = missing), or ValueError naming a bad value."""
    out = np.full(frame.shape, np.nan)
    for (i, j), cell in np.ndenumerate(frame.to_numpy()):
        if cell is None:
            continue
        try:
            if isinstance(cell, bool):
                raise TypeError
            out[i, j] = float(cell)
        except (TypeError, ValueError):
            raise ValueError(f"{what} needs numbers; got {cell!r}") from None
        if not math.isfinite(out[i, j]):
            raise ValueError(f"{what} needs finite numbers; got {cell!r}")
    return out


def krippendorff_alpha(matrix: Matrix, level: Level | str = "nominal") -> Estimate:
    """Krippendorff's alpha at the given level of measurement (``krippendorff`` package).

    Nominal data may hold any labels; ordinal, interval and ratio need numbers
    (ordinal uses their order only). Units rated once are unpairable and ignored.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}")
    frame = as_frame(matrix)
    if level == "nominal":
        codes, _ = category_codes(frame)
        values = np.where(codes >= 0, codes, np.nan).astype(float)
    else:
        values = _numeric(frame, f"{level} alpha")
    pairable = (~np.isnan(values)).sum(axis=1) >= 2
    if not pairable.any():
        return Estimate.undefined("no unit was rated by two or more judges")
    if len(np.unique(values[pairable][~np.isnan(values[pairable])])) < 2:
        return Estimate.undefined("every pairable rating has the same value, so expected disagreement is 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = krippendorff.alpha(reliability_data=values.T, level_of_measurement=cast(Level, level))
    return Estimate.of(value, "expected disagreement is 0")


def masi_distance(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """MASI distance (Passonneau 2006): ``1 - Jaccard * M`` with exact M = 1, 2/3, 1/3, 0.

    M is 1 for identical sets, 2/3 when one contains the other, 1/3 when they
    overlap otherwise, 0 when disjoint. Two empty sets are identical: distance 0
    (nltk raises ZeroDivisionError there).
    """
    first, second = frozenset(a), frozenset(b)
    if first == second:
        return 0.0
    union = first | second
    jaccard = Fraction(len(first & second), len(union))
    if first <= second or second <= first:
        monotonicity = _MASI_SUBSET
    elif first & second:
        monotonicity = _MASI_OVERLAP
    else:
        monotonicity = _MASI_DISJOINT
    return float(1 - jaccard * monotonicity)


@dataclass(frozen=True)
class Coincidences:
    """Each unit's share of Krippendorff's coincidence matrix, summarised for any distance.

    Alpha needs from each pairable unit u only: how often each value occurs
    (``counts``, whose weighted sum gives the marginals n_c), its observed
    disagreement ``sum_ck o_u[c,k] d(c,k)`` and its agreeing pairs
    ``sum_c o_u[c,c]``. Summing these over units gives alpha; summing them with
    bootstrap weights gives a resample's alpha; summing a case's units, the
    case's. Unpairable units (one rating) have all-zero rows.
    """

    values: list[Hashable]
    counts: sparse.csr_matrix  # units x V
    disagreement: np.ndarray  # units
    agreement: np.ndarray  # units
    distances: np.ndarray  # V x V

    @property
    def pairable(self) -> bool:
        return self.counts.nnz > 0

    def alpha(self, weights: np.ndarray | sparse.spmatrix | sparse.sparray | None = None) -> np.ndarray:
        """Alpha for each row of unit weights (all ones when None; dense or sparse); NaN where undefined."""
        if weights is None:
            weights = np.ones((1, self.counts.shape[0]))
        if sparse.issparse(weights):
            marginals = np.asarray((weights @ self.counts).todense())
            observed = np.asarray(weights @ self.disagreement).ravel()
        else:
            weights = np.atleast_2d(np.asarray(weights, dtype=float))
            # (counts.T @ weights.T).T: the sparse table times the dense weights, never a sparse copy of them
            marginals = np.asarray(self.counts.T @ weights.T).T
            observed = weights @ self.disagreement
        n = marginals.sum(axis=1)
        expected = ((marginals @ self.distances) * marginals).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_o = observed / n
            d_e = expected / (n * (n - 1))
            alpha = 1.0 - d_o / d_e
        return np.where((n > 1) & (d_e > 1e-15), alpha, np.nan)


def coincidences(
    matrix: Matrix,
    distance: Distance,
    cell: Callable[[Any], Hashable] = lambda v: v,
    distance_matrix: Callable[[Sequence[Any]], np.ndarray] | None = None,
) -> Coincidences:
    """Per-unit coincidence summaries; ``cell`` normalises a value (e.g. to a frozenset).

    ``distance_matrix`` computes all pairwise distances at once, for when
    calling ``distance`` on every pair of distinct values would be slow.
    """
    frame = as_frame(matrix)
    rows = [[cell(v) for v in row if v is not None] for row in frame.to_numpy()]
    values = list(dict.fromkeys(v for row in rows for v in row if len(row) >= 2))
    index = {v: i for i, v in enumerate(values)}
    size = len(values)
    if distance_matrix is not None:
        distances = np.asarray(distance_matrix(values), dtype=float).reshape(size, size)
    else:
        distances = np.array([[float(distance(x, y)) for y in values] for x in values]).reshape(size, size)
    unit_ids = [u for u, row in enumerate(rows) if len(row) >= 2 for _ in row]
    value_ids = [index[v] for row in rows if len(row) >= 2 for v in row]
    counts = sparse.csr_matrix(
        (np.ones(len(unit_ids)), (unit_ids, value_ids)), shape=(len(rows), size)
    )  # duplicates summed: how often each value occurs in each pairable unit
    return coincidences_from_counts(values, counts, distances)


def coincidences_from_counts(
    values: list[Hashable], counts: sparse.csr_matrix | np.ndarray, distances: np.ndarray, chunk: int = 20_000
) -> Coincidences:
    """Coincidence summaries from units x values counts (units with one rating are left out).

    Per unit u with m_u ratings: disagreement ``(c_u D c_u - c_u diag(D)) / (m_u - 1)`` and
    agreeing pairs ``sum c(c - 1) / (m_u - 1)``, for all units at once (in chunks of rows, so
    the units x values product stays small).
    """
    counts = sparse.csr_matrix(counts, dtype=float)
    per_unit = np.asarray(counts.sum(axis=1)).ravel()
    pairable = per_unit >= 2
    counts = sparse.diags(pairable.astype(float)) @ counts
    counts.eliminate_zeros()
    counts = sparse.csr_matrix(counts)
    pairs = np.zeros(len(per_unit))
    if distances.size:
        diagonal = np.diag(distances)
        for start in range(0, counts.shape[0], chunk):
            block = counts[start : start + chunk]
            spread = np.asarray(block @ distances)
            pairs[start : start + chunk] = np.asarray(block.multiply(spread).sum(axis=1)).ravel() - (
                block @ diagonal
            )
    same = np.asarray((counts.multiply(counts) - counts).sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        disagreement = np.where(pairable, pairs / (per_unit - 1), 0.0)
        agreement = np.where(pairable, same / (per_unit - 1), 0.0)
    return Coincidences(values, counts, disagreement, agreement, distances)


def krippendorff_alpha_distance(
    matrix: Matrix,
    distance: Distance,
    cell: Callable[[Any], Hashable] = lambda v: v,
    distance_matrix: Callable[[Sequence[Any]], np.ndarray] | None = None,
) -> Estimate:
    """Krippendorff's alpha with any distance function between two values.

    Built from the coincidence matrix: D_o = sum o_ck d(c,k) / n and
    D_e = sum n_c n_k d(c,k) / (n (n - 1)), over pairable values only.
    """
    table = coincidences(matrix, distance, cell, distance_matrix)
    if not table.pairable:
        return Estimate.undefined("no unit was rated by two or more judges")
    value = table.alpha()[0]
    return Estimate.of(value, "all pairable values are at distance 0 from each other (no variation)")


def _as_label_set(cell: Any) -> frozenset:
    if isinstance(cell, str):
        return frozenset([cell])
    return frozenset(cell)


def masi_alpha(matrix: Matrix) -> Estimate:
    """Krippendorff's alpha over label sets with the MASI distance.

    Cells are label collections; ``[]`` is the empty set, a real value (the judge
    rated the unit and gave no label), while ``None`` is a missing rating.
    """
    return krippendorff_alpha_distance(matrix, masi_distance, _as_label_set, masi_distances)


def masi_coincidences(matrix: Matrix) -> Coincidences:
    """MASI coincidence summaries of a label-set matrix (for bootstraps, cases, time windows)."""
    return coincidences(matrix, masi_distance, _as_label_set, masi_distances)


def masi_distances(sets: Sequence[Iterable[Hashable]]) -> np.ndarray:
    """All pairwise MASI distances at once (same values as :func:`masi_distance`)."""
    sets = [frozenset(s) for s in sets]
    labels = {label: i for i, label in enumerate(dict.fromkeys(label for s in sets for label in s))}
    membership = np.zeros((len(sets), len(labels)))
    for row, members in enumerate(sets):
        membership[row, [labels[label] for label in members]] = 1
    shared = membership @ membership.T
    sizes = membership.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - shared
    identical = (shared == sizes[:, None]) & (shared == sizes[None, :])
    nested = shared == np.minimum(sizes[:, None], sizes[None, :])
    monotonicity = np.select(
        [identical, nested, shared > 0],
        [float(_MASI_IDENTICAL), float(_MASI_SUBSET), float(_MASI_OVERLAP)],
        float(_MASI_DISJOINT),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, shared / union, 1.0)
    return np.where(identical, 0.0, 1.0 - jaccard * monotonicity)


def nominal_distance(a: Hashable, b: Hashable) -> float:
    return 0.0 if a == b else 1.0


def coefficient(name: str, matrix: Matrix, level: Level | str = "nominal") -> Estimate:
    """Look a coefficient up by its contract name (``transcode agree --coefficient``)."""
    if name == "krippendorff_alpha":
        return krippendorff_alpha(matrix, level)
    if level != "nominal":
        raise ValueError(
            f"{name} is a nominal coefficient; --level {level} applies to krippendorff_alpha only"
        )
    if name not in NOMINAL_COEFFICIENTS:
        raise ValueError(f"unknown coefficient {name!r}; use one of {', '.join(COEFFICIENT_NAMES)}")
    return NOMINAL_COEFFICIENTS[name](matrix)


NOMINAL_COEFFICIENTS: dict[str, Callable[[Matrix], Estimate]] = {
    "percent_agreement": percent_agreement,
    "cohen_kappa": cohen_kappa,
    "fleiss_kappa": fleiss_kappa,
    "scott_pi": scott_pi,
    "gwet_ac1": gwet_ac1,
}
COEFFICIENT_NAMES: tuple[str, ...] = (
    "percent_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "scott_pi",
    "gwet_ac1",
)
