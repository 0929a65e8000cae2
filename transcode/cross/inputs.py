"""The cross-analysis of a project store: its memberships and sample, and the options they imply.

The pure core (:mod:`transcode.cross.analysis`) takes plain data; this module
gathers that data from the store's counted core ideas and categories
(:mod:`transcode.analysis`), so ``transcode cross --db``, the exported tables and
``transcode.open(...).cross_table()`` all compute the same table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from transcode.analysis._lookup import codebook_order
from transcode.analysis.categories import categories
from transcode.analysis.core_ideas import core_ideas
from transcode.codebook import Codebook
from transcode.cross.analysis import DEFAULT_OTHER_NAMES, CrossOptions, Membership, cross_analysis
from transcode.cross.io import parse_compare
from transcode.errors import InputError
from transcode.store import Store


@dataclass(frozen=True)
class CrossInputs:
    """What the cross-analysis needs from the store: memberships, the sample, and ordering hints."""

    memberships: list[Membership]
    cases: dict[str, dict[str, str]]
    domain_order: tuple[str, ...]
    other_names: frozenset[str]

    def options(self, options: CrossOptions) -> CrossOptions:
        """``options`` with the store's domain order and its Other categories added."""
        return replace(
            options, domain_order=self.domain_order, other_names=options.other_names | self.other_names
        )


def domain_title(codebook: Codebook | None, domain: str) -> str:
    """The domain's name as the results table shows it (its id where there is no codebook)."""
    if codebook is not None and domain in codebook.domain_ids:
        return codebook.domain(domain).name
    return domain


def memberships(store: Store) -> list[Membership]:
    """One membership per case and (sub)category holding a counted core idea of that case, once each.

    Core ideas of a domain retired from the codebook (``transcode codebook apply --retire``) stay
    in the store's history and are no longer counted."""
    codebook = store.codebook()
    order = codebook_order(codebook)
    retired = store.domain_map().retired_ids
    info = {c.id: c for c in categories(store)}
    out: dict[Membership, None] = {}
    ordered = sorted(
        (v for v in core_ideas(store, counted_only=True) if v.domain not in retired),
        key=lambda v: (order.get(v.domain, 1 << 30), v.domain, v.case, v.id),
    )
    for version in ordered:
        title = domain_title(codebook, version.domain)
        for category_id in version.categories:
            category = info[category_id]
            if category.parent is not None:
                out[Membership(version.case, title, "", category.parent, category.name)] = None
            else:
                out[Membership(version.case, title, "", category.name, "")] = None
    return list(out)


def cross_inputs(store: Store) -> CrossInputs:
    """The store's memberships and sample, with the codebook's domain order and its Other categories."""
    codebook = store.codebook()
    order = tuple(d.name for d in codebook.domains) if codebook else ()
    others = frozenset(c.name.strip().casefold() for c in categories(store) if c.is_other)
    return CrossInputs(memberships(store), store.case_attributes(), order, DEFAULT_OTHER_NAMES | others)


def store_cross_analysis(
    store: Store,
    options: CrossOptions | None = None,
    *,
    compare: Sequence[str] = (),
    cases: Mapping[str, Mapping[str, str]] | None = None,
    cases_source: str | None = None,
) -> dict:
    """The cross-analysis (docs/formats.md section 6) of the store's consensus core ideas x categories.

    The sample is every case in the store, or ``cases`` (a CASES.csv read from ``cases_source``);
    ``compare`` holds ``--compare`` specs, read as :func:`transcode.cross.io.parse_compare` does
    for ``transcode cross`` (``ATTR``: high vs low; ``ATTR=A:B``).
    """
    options = options or CrossOptions()
    inputs = cross_inputs(store)
    sample = dict(cases) if cases is not None else inputs.cases
    unknown = sorted({m.case for m in inputs.memberships} - set(sample))
    if unknown:
        raise InputError(
            f"the store has core ideas of case(s) not in the sample: {', '.join(unknown)}", cases_source
        )
    if compare:
        options = replace(options, comparisons=(*options.comparisons, *map(parse_compare, compare)))
    return cross_analysis(inputs.memberships, sample, inputs.options(options))
