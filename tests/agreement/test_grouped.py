"""Every case's agreement at once gives what each case's own agreement report gives."""

from __future__ import annotations

import random

import numpy as np
import pytest

from transcode.agreement import agreement_report, bootstrap, ratings_from_records
from transcode.agreement.grouped import grouped_agreement

CODES = ["a", "b", "c", "d"]


def _records(seed: int) -> tuple[list[tuple[str, str, str | None]], dict[str, str]]:
    """Cases of every kind: two judges, three, one; one code each, or code sets; units rated once."""
    rng = random.Random(seed)
    records: list[tuple[str, str, str | None]] = []
    case_of = {}
    kinds = [("A", "B"), ("A", "B", "C"), ("B", "C"), ("A",), ("A", "B")]
    for number, judges in enumerate(kinds * 3):
        case = f"c{number:02d}"
        multi = number % 2 == 0
        for position in range(rng.randint(3, 12)):
            unit = f"{case}-{position:04d}"
            case_of[unit] = case
            for judge in judges:
                if rng.random() < 0.15:
                    continue  # this judge left the unit uncoded
                size = rng.choice([0, 1, 1, 2]) if multi else rng.choice([0, 1, 1, 1])
                chosen = rng.sample(CODES[: 2 + number % 3], min(size, 2 + number % 3))
                records += [(unit, judge, c) for c in sorted(chosen)] or [(unit, judge, None)]
    return records, case_of


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_case_gets_what_its_own_report_gives(seed):
    records, case_of = _records(seed)
    grouped = grouped_agreement(ratings_from_records(records), case_of)
    checked = 0
    for case, group in grouped.items():
        own = [r for r in records if case_of[r[0]] == case]
        judges = sorted({j for _, j, _ in own})
        assert group.judges == judges
        if len(judges) < 2:
            continue
        report = agreement_report(own)
        kappa = "cohen_kappa" if len(judges) == 2 else "fleiss_kappa"
        assert group.n_units == report["n_units"]
        assert group.multi_label == report["multi_label"]
        assert group.kappa == pytest.approx(report["overall"][kappa], abs=1e-12)
        assert group.alpha == pytest.approx(report["overall"]["krippendorff_alpha"], abs=1e-12)
        assert group.percent_agreement == pytest.approx(report["overall"]["percent_agreement"], abs=1e-12)
        assert set(group.per_code) == set(report["per_code"])
        for code, entry in report["per_code"].items():
            assert group.per_code[code]["kappa"] == pytest.approx(entry[kappa], abs=1e-12), (case, code)
            assert group.per_code[code]["alpha"] == pytest.approx(entry["krippendorff_alpha"], abs=1e-12)
            assert group.per_code[code]["percent_agreement"] == pytest.approx(
                entry["percent_agreement"], abs=1e-12
            )
        checked += 1
    assert checked >= 9


def test_the_bootstrap_draws_in_chunks_are_the_draws_made_at_once():
    chunks = list(bootstrap.resample_chunks(57, 250, seed=4, chunk=100))
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert np.array_equal(np.concatenate(chunks), bootstrap.resample_weights(57, 250, seed=4))
