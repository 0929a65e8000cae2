"""The agreement report (docs/formats.md section 5) and its extensions, as plain dicts.

Pure computation: no files, no terminal. Rendering lives in
:mod:`transcode.agreement.render`.

What is compared with what:

* **per code**: each unit is a yes/no decision per judge (gave that code or not);
  nominal coefficients on those decisions.
* **overall**: the value of a unit is what the judge gave it. Single-label data:
  the code (or "no code"); nominal coefficients over codes. Multi-label data: the
  code set; percent agreement, Fleiss and Gwet treat each distinct set as a
  category (exact match), Krippendorff's alpha uses the MASI distance between
  sets, and ``overall.alpha_distance`` says which distance was used.
* **pairs**: the same unit values, for each pair of judges over the units both rated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from transcode.agreement import bootstrap
from transcode.agreement.coefficients import (
    PERCENT_AGREEMENT_DEFINITION,
    Coincidences,
    Estimate,
    category_codes,
    cohen_kappa,
    coincidences,
    counts_per_unit,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    masi_alpha,
    masi_coincidences,
    nominal_distance,
    percent_agreement,
)
from transcode.agreement.ratings import Ratings, ratings_from_records

#: How "rated, no code" shows in labels and the confusion matrix.
NO_CODE = "(no code)"
DEFAULT_RESAMPLES = 1000
Record = tuple[str, str, str | None]


def as_ratings(records: Ratings | Iterable[Record]) -> Ratings:
    return records if isinstance(records, Ratings) else ratings_from_records(records)


class _Undefined:
    """Collects why a coefficient came out null, keyed by where it sits in the report."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def take(self, where: str, estimate: Estimate) -> float | None:
        if estimate.value is None:
            self.reasons[where] = estimate.reason or "undefined"
        return estimate.value


def unit_values(ratings: Ratings) -> pd.DataFrame:
    """units x judges of what each judge gave: a code (single-label) or a code set (multi-label)."""
    sets = ratings.set_matrix()
    if ratings.multi_label:
        return sets
    return sets.map(lambda given: None if given is None else (next(iter(given)) if given else NO_CODE))


def _overall_table(ratings: Ratings, values: pd.DataFrame) -> Coincidences:
    if ratings.multi_label:
        return masi_coincidences(values)
    return coincidences(values, nominal_distance)


def _alpha(ratings: Ratings, values: pd.DataFrame) -> Estimate:
    return masi_alpha(values) if ratings.multi_label else krippendorff_alpha(values, "nominal")


def agreement_report(records: Ratings | Iterable[Record]) -> dict[str, Any]:
    """The contract's ``transcode agree --json`` document for these ratings.

    ``records`` are ``(unit, judge, code-or-None)`` tuples (or a :class:`Ratings`).
    Undefined coefficients are ``None``; ``undefined`` says why.
    """
    ratings = as_ratings(records)
    undefined = _Undefined()
    values = unit_values(ratings)
    two_judges = len(ratings.judges) == 2

    overall: dict[str, Any] = {
        "percent_agreement": undefined.take("overall.percent_agreement", percent_agreement(values)),
        "krippendorff_alpha": undefined.take("overall.krippendorff_alpha", _alpha(ratings, values)),
        "fleiss_kappa": undefined.take("overall.fleiss_kappa", fleiss_kappa(values)),
        "gwet_ac1": undefined.take("overall.gwet_ac1", gwet_ac1(values)),
    }
    if two_judges:
        overall["cohen_kappa"] = undefined.take("overall.cohen_kappa", cohen_kappa(values))
    overall["alpha_distance"] = "masi" if ratings.multi_label else "nominal"
    overall["unit_value"] = "code set" if ratings.multi_label else "code"

    per_code: dict[str, dict[str, float | None]] = {}
    for code in ratings.code_names:
        decisions = ratings.binary_matrix(code)
        where = f"per_code.{code}"
        entry: dict[str, float | None] = {
            "percent_agreement": undefined.take(f"{where}.percent_agreement", percent_agreement(decisions))
        }
        if two_judges:
            entry["cohen_kappa"] = undefined.take(f"{where}.cohen_kappa", cohen_kappa(decisions))
        entry["fleiss_kappa"] = undefined.take(f"{where}.fleiss_kappa", fleiss_kappa(decisions))
        entry["krippendorff_alpha"] = undefined.take(
            f"{where}.krippendorff_alpha", krippendorff_alpha(decisions, "nominal")
        )
        entry["gwet_ac1"] = undefined.take(f"{where}.gwet_ac1", gwet_ac1(decisions, categories=[False, True]))
        entry["prevalence"] = _prevalence(decisions)
        per_code[code] = entry

    pairs = []
    for first, second in combinations(ratings.judges, 2):
        both = values[[first, second]]
        both = both[both.notna().all(axis=1)]
        where = f"pairs.{first}|{second}"
        pair: dict[str, Any] = {
            "judges": [first, second],
            "cohen_kappa": undefined.take(f"{where}.cohen_kappa", cohen_kappa(both)),
            "percent_agreement": undefined.take(f"{where}.percent_agreement", percent_agreement(both)),
            "krippendorff_alpha": undefined.take(f"{where}.krippendorff_alpha", _alpha(ratings, both)),
            "n_units": int(len(both)),
        }
        pairs.append(pair)

    report: dict[str, Any] = {
        "n_units": len(ratings.units),
        "n_judges": len(ratings.judges),
        "multi_label": ratings.multi_label,
        "overall": overall,
        "per_code": per_code,
        "pairs": pairs,
        "judges": list(ratings.judges),
        "percent_agreement_definition": PERCENT_AGREEMENT_DEFINITION,
    }
    if undefined.reasons:
        report["undefined"] = undefined.reasons
    return report


def _prevalence(decisions: pd.DataFrame) -> float | None:
    """Share of the judges' ratings (rated unit x judge cells) that gave the code."""
    given = [cell for cell in decisions.to_numpy().ravel() if cell is not None and not pd.isna(cell)]
    return float(np.mean(given)) if given else None


def full_report(
    records: Ratings | Iterable[Record],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    window: int | None = None,
    cases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The contract report plus bootstrap intervals, per-case, over-time and confusion views."""
    ratings = as_ratings(records)
    report = agreement_report(ratings)
    values = unit_values(ratings)
    table = _overall_table(ratings, values)
    if resamples > 0:
        report["confidence_intervals"] = confidence_intervals(ratings, table, resamples, seed)
    case_map = dict(cases) if cases else ratings.case_of()
    per_case = per_case_agreement(ratings, table, case_map)
    if per_case:
        report["per_case"] = per_case
    report["over_time"] = agreement_over_time(ratings, table, window)
    report["confusion"] = confusion(ratings, values)
    return report


def confidence_intervals(ratings: Ratings, table: Coincidences, resamples: int, seed: int) -> dict[str, Any]:
    """95% percentile bootstrap intervals, units resampled (the same draws for every coefficient).

    The draws come in chunks of :data:`bootstrap.CHUNK` resamples from one generator (the same
    draws as all at once), so memory stays at a chunk's weights however many resamples are asked.
    """
    kappa_name = "cohen_kappa" if len(ratings.judges) == 2 else "fleiss_kappa"
    estimators: dict[tuple[str, str], Any] = {
        ("", "krippendorff_alpha"): partial(bootstrap.alpha_resamples, table)
    }
    for code in ratings.code_names:
        decisions = ratings.binary_matrix(code)
        estimators[(code, "krippendorff_alpha")] = partial(
            bootstrap.alpha_resamples, coincidences(decisions, nominal_distance)
        )
        codes, categories = category_codes(decisions)
        if kappa_name == "cohen_kappa":
            cells = bootstrap.cohen_cells(codes, len(categories))
            estimators[(code, kappa_name)] = partial(bootstrap.cohen_kappa_resamples, cells, len(categories))
        else:
            estimators[(code, kappa_name)] = partial(
                bootstrap.fleiss_kappa_resamples, counts_per_unit(codes, len(categories))
            )
    estimates: dict[tuple[str, str], list[np.ndarray]] = {key: [] for key in estimators}
    for weights in bootstrap.resample_chunks(len(ratings.units), resamples, seed):
        for key, estimate in estimators.items():
            estimates[key].append(estimate(weights))

    def interval(key: tuple[str, str]) -> list[float] | None:
        return _as_list(bootstrap.percentile_interval(np.concatenate(estimates[key])))

    return {
        "method": "percentile bootstrap, units resampled with replacement",
        "level": bootstrap.CONFIDENCE,
        "resamples": resamples,
        "seed": seed,
        "overall": {"krippendorff_alpha": interval(("", "krippendorff_alpha"))},
        "per_code": {
            code: {
                "krippendorff_alpha": interval((code, "krippendorff_alpha")),
                kappa_name: interval((code, kappa_name)),
            }
            for code in ratings.code_names
        },
    }


def _as_list(interval: bootstrap.Interval | None) -> list[float] | None:
    return None if interval is None else interval.as_list()


def _unit_agreement(table: Coincidences) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: share of agreeing judge pairs, and whether the unit is pairable."""
    ratings_per_unit = np.asarray(table.counts.sum(axis=1)).ravel()
    pairable = ratings_per_unit >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pairable, table.agreement / ratings_per_unit, 0.0)
    return share, pairable


def _rows_agreement(table: Coincidences, selection) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and percent agreement for each row of a (k x units) 0/1 unit selection (dense or sparse)."""
    share, pairable = _unit_agreement(table)
    alpha = table.alpha(selection) if table.pairable else np.full(selection.shape[0], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = (
            np.asarray(selection @ share).ravel() / np.asarray(selection @ pairable.astype(float)).ravel()
        )
    return alpha, agreement


def case_selection(units: Sequence[str], case_map: Mapping[str, str]) -> tuple[list[str], sparse.csr_matrix]:
    """The cases in order of first appearance and a sparse cases x units 0/1 matrix: one entry per
    unit, so it grows with the units, not with cases x units."""
    cases: dict[str, int] = {}
    rows, columns = [], []
    for column, unit in enumerate(units):
        case = case_map.get(unit)
        if case is not None:
            rows.append(cases.setdefault(case, len(cases)))
            columns.append(column)
    selection = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(cases), len(units)))
    return list(cases), selection


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def per_case_agreement(
    ratings: Ratings, table: Coincidences, case_map: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Alpha (the overall distance) and percent agreement within each case; {} with under two cases."""
    cases, selection = case_selection(ratings.units, case_map)
    if len(cases) < 2:
        return {}
    alpha, agreement = _rows_agreement(table, selection)
    sizes = np.diff(selection.indptr)
    return {
        case: {
            "n_units": int(sizes[i]),
            "percent_agreement": _number(agreement[i]),
            "krippendorff_alpha": _number(alpha[i]),
        }
        for i, case in enumerate(cases)
    }


def agreement_over_time(ratings: Ratings, table: Coincidences, window: int | None = None) -> dict[str, Any]:
    """Cumulative and rolling-window agreement with units in coding order (first appearance).

    A drift downwards late in coding is the usual sign that judges need to
    recalibrate on the codebook.
    """
    n_units = len(ratings.units)
    window = window or max(10, n_units // 10)
    step = max(1, n_units // 50)
    ends = list(range(step, n_units + 1, step))
    if not ends or ends[-1] != n_units:
        ends.append(n_units)
    positions = np.arange(n_units)
    cumulative = np.array([positions < end for end in ends], dtype=float)
    rolling = np.array([(positions < end) & (positions >= end - window) for end in ends], dtype=float)
    cumulative_alpha, cumulative_agreement = _rows_agreement(table, cumulative)
    rolling_alpha, rolling_agreement = _rows_agreement(table, rolling)
    return {
        "order": "units in order of first appearance in the ratings",
        "window": window,
        "points": [
            {
                "units": end,
                "last_unit": ratings.units[end - 1],
                "cumulative_alpha": _number(cumulative_alpha[i]),
                "cumulative_percent_agreement": _number(cumulative_agreement[i]),
                "rolling_alpha": _number(rolling_alpha[i]),
                "rolling_percent_agreement": _number(rolling_agreement[i]),
            }
            for i, end in enumerate(ends)
        ],
    }


def confusion(
    ratings: Ratings, values: pd.DataFrame, judges: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Which codes two judges mix up: rows = first judge's code, columns = second's.

    Defaults to the pair that rated the most units in common. For code sets, codes
    both gave count on the diagonal; each code only the first judge gave is spread
    evenly over the codes only the second gave (or ``(no code)`` if none).
    """
    if judges is None:
        judges = max(
            combinations(ratings.judges, 2),
            key=lambda pair: int(values[list(pair)].notna().all(axis=1).sum()),
        )
    first, second = judges
    labels = [*ratings.code_names, NO_CODE]
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)))
    for unit in ratings.units:
        a, b = ratings.codes.get((unit, first)), ratings.codes.get((unit, second))
        if a is None or b is None:
            continue
        for code in a & b:
            counts[index[code], index[code]] += 1
        only_a, only_b = sorted(a - b), sorted(b - a)
        if not a and not b:
            counts[index[NO_CODE], index[NO_CODE]] += 1
        for code in only_a:
            for other in only_b or [NO_CODE]:
                counts[index[code], index[other]] += 1 / max(1, len(only_b))
        if not only_a:
            for other in only_b:
                counts[index[NO_CODE], index[other]] += 1
    last = len(labels) - 1
    if not counts[last].any() and not counts[:, last].any():
        labels, counts = labels[:last], counts[:last, :last]
    return {"judges": [first, second], "labels": labels, "counts": counts.round(6).tolist()}
