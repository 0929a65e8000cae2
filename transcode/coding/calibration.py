"""What the team sees once a case reaches consensus: calibration, and what the suggestions did.

- :func:`case_calibration`: agreement among the judges of one case (κ, α, percent, per domain),
  shown when a lead opens its consensus and in the consensus view (``c``);
- :func:`suggestion_report`: per judge, how often they kept the model's suggestion; judge-vs-judge
  agreement apart for units coded with and without the suggestions on the screen; and the model
  as one more coder against the consensus (κ per domain), so a team can show reviewers that the
  agreement is theirs and not the model's.

Both read every judge's codes, so both take the cases the phase rules open
(:mod:`transcode.coding.phases`), never a case still in independent coding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from transcode.coding import people, suggestions
from transcode.coding.codes import OTHER, acceptance, current_codes, is_coded
from transcode.coding.consensus import codes_as_records, ratings_records
from transcode.coding.queue import load_proposals
from transcode.errors import InputError
from transcode.store import Store

Record = tuple[str, str, str | None]
#: How the units are told apart by what the judges saw when they coded them.
WITH, WITHOUT, MIXED, UNRECORDED = "with suggestions", "without suggestions", "mixed", "not recorded"
STRATA = (WITH, WITHOUT, MIXED, UNRECORDED)


def _summary(records: list[Record]) -> dict[str, Any]:
    """κ (Cohen for two judges, Fleiss for more), α, percent agreement, overall and per domain
    (the agreement report's values, computed as one group: :mod:`transcode.agreement.grouped`)."""
    judges = sorted({judge for _, judge, _ in records})
    units = {unit for unit, _, _ in records}
    if len(judges) < 2:
        return _fewer_than_two(judges, len(units))
    group = _one_group(records)
    if isinstance(group, str):
        return {"judges": judges, "n_units": len(units), "reason": group}
    return _as_summary(group)


def _one_group(records: list[Record]):
    """The records' agreement as one group, or why it cannot be computed."""
    from transcode.agreement import ratings_from_records
    from transcode.agreement.grouped import grouped_agreement

    try:
        ratings = ratings_from_records(records)
    except InputError as err:
        return err.message
    return grouped_agreement(ratings, dict.fromkeys(ratings.units, ""))[""]


def _as_summary(group) -> dict[str, Any]:
    return {
        "judges": group.judges,
        "n_units": group.n_units,
        "kappa": group.kappa,
        "kappa_kind": group.kappa_kind,
        "alpha": group.alpha,
        "alpha_distance": "masi" if group.multi_label else "nominal",
        "percent_agreement": group.percent_agreement,
        "per_domain": group.per_code,
    }


def case_calibration(store: Store, case: str) -> dict[str, Any]:
    """How far the judges of ``case`` agreed before consensus (read only once the case is opened)."""
    return {"case": case, **_summary(ratings_records(store, cases=[case]))}


def calibration(store: Store, cases: Iterable[str]) -> dict[str, dict[str, Any]]:
    """:func:`case_calibration` of each case, all computed at once (one read of the decisions,
    one pass over the units: :mod:`transcode.agreement.grouped`)."""
    from transcode.agreement import ratings_from_records
    from transcode.agreement.grouped import grouped_agreement

    cases = list(cases)
    by_judge: dict[str, list] = defaultdict(list)
    case_of: dict[str, str] = {}
    for d in store.decision_log(roles=people.CODING_ROLES, cases=cases):
        by_judge[d.judge].append((d.unit, d.domain, d.action))
        case_of[d.unit] = d.case
    dmap = store.domain_map()  # codes given under earlier codebook versions follow it
    records = codes_as_records(
        {judge: dmap.all_codes(current_codes(rows)) for judge, rows in by_judge.items()}
    )
    groups = {}
    if len({judge for _, judge, _ in records}) >= 2:
        groups = grouped_agreement(ratings_from_records(records), case_of)
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        group = groups.get(case)
        if group is None or len(group.judges) < 2:
            judges = [] if group is None else group.judges
            n_units = 0 if group is None else group.n_units
            out[case] = {"case": case, **_fewer_than_two(judges, n_units)}
            continue
        out[case] = {"case": case, **_as_summary(group)}
    return out


def _fewer_than_two(judges: list[str], n_units: int) -> dict[str, Any]:
    return {"judges": judges, "n_units": n_units, "reason": "fewer than two judges coded these units"}


def suggestion_report(store: Store, cases: Collection[str]) -> dict[str, Any]:
    """Per judge what the suggestions did, agreement with and without them, the model as a coder."""
    log = store.decision_log(roles=people.CODING_ROLES, cases=cases)
    by_judge: dict[str, list] = defaultdict(list)
    seen: dict[tuple[str, str], set[bool | None]] = defaultdict(set)
    for d in log:
        by_judge[d.judge].append((d.unit, d.domain, d.action, d.model_version))
        seen[(d.judge, d.unit)].add(d.suggestions_shown)
    dmap = store.domain_map()
    codes = {
        judge: dmap.all_codes(current_codes((u, dom, a) for u, dom, a, _ in rows))
        for judge, rows in by_judge.items()
    }

    def exposure(judge: str, unit: str) -> str:
        shown = seen[(judge, unit)]
        if None in shown:
            return UNRECORDED
        return WITH if True in shown else WITHOUT

    per_judge: dict[str, dict[str, Any]] = {}
    for judge, rows in sorted(by_judge.items()):
        kept = acceptance(rows)
        recent = acceptance(rows, suggestions.NOTE_WINDOW)
        coded = [unit for unit, given in codes[judge].items() if is_coded(given)]
        counts = {stratum: 0 for stratum in (WITH, WITHOUT, UNRECORDED)}
        for unit in coded:
            counts[exposure(judge, unit)] += 1
        per_judge[judge] = {
            "units": kept.coded,
            "kept": kept.accepted,
            "kept_rate": kept.rate,
            "units_with_suggestions": counts[WITH],
            "units_without_suggestions": counts[WITHOUT],
            "units_not_recorded": counts[UNRECORDED],
            "note": suggestions.needs_note(recent),
        }

    stratum_of: dict[str, str] = {}
    judges_of: dict[str, list[str]] = defaultdict(list)
    for judge, given in codes.items():
        for unit, unit_codes in given.items():
            if is_coded(unit_codes):
                judges_of[unit].append(judge)
    for unit, judges in judges_of.items():
        kinds = {exposure(judge, unit) for judge in judges}
        stratum_of[unit] = (
            UNRECORDED if UNRECORDED in kinds else next(iter(kinds)) if len(kinds) == 1 else MIXED
        )
    records = ratings_records(store, cases=cases)
    by_visibility = {}
    for stratum in STRATA:
        chosen = [r for r in records if stratum_of.get(r[0]) == stratum]
        if chosen:
            by_visibility[stratum] = {k: v for k, v in _summary(chosen).items() if k != "per_domain"}
    return {
        "per_judge": per_judge,
        "agreement_by_visibility": by_visibility,
        "model_vs_consensus": model_vs_consensus(store, cases),
    }


def model_vs_consensus(store: Store, cases: Collection[str]) -> dict[str, Any]:
    """The model's current suggestions as one more coder against the team's consensus: Cohen's κ
    overall and per domain, over the units of ``cases`` holding both."""
    consensus = store.consensus()
    proposals = load_proposals(store, cases=cases)
    units = sorted(key for key in proposals if key in consensus)
    records: list[Record] = []
    for key in units:
        records += [(key, "model", d) for d in sorted(proposals[key].suggested)] or [(key, "model", None)]
        agreed = sorted(consensus[key] - {OTHER})
        records += [(key, "consensus", d) for d in agreed] or [(key, "consensus", None)]
    if not units:
        return {"n_units": 0, "reason": "no unit holds both a suggestion and consensus codes"}
    group = _one_group(records)
    if isinstance(group, str):
        return {"n_units": len(units), "reason": group}
    return {
        "n_units": len(units),
        "model_versions": sorted({proposals[key].model_version for key in units}),
        "cohen_kappa": group.kappa,
        "percent_agreement": group.percent_agreement,
        "per_domain": {
            code: {"cohen_kappa": entry["kappa"], "percent_agreement": entry["percent_agreement"]}
            for code, entry in group.per_code.items()
        },
    }
