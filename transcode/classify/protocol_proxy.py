"""A proxy of quoted thought units from a published CQR study, built from gold-coded interviews.

A CQR paper illustrates each domain with quotes: each quote after a paraphrase of its
protocol question, domains in protocol order, neutral probes ("Can you say more about
that?") between quotes of the same domain. transcode is measured on such a set that
we do not have; this builds one of the same shape from gold units, so that the
evaluation can tell whether the proposer beats simply matching the interviewer's
question to the nearest protocol question.

Per case, in codebook (protocol) order, up to ``quotes_per_domain`` gold units coded
with exactly that one domain are drawn (seeded, kept in transcript order); the first
follows a paraphrase of the domain's protocol question (rotating over the
paraphrases by case), the others follow a neutral probe. Each quote is its own turn.
The paraphrases and probes come from a YAML file (``corpora/demo/protocol_proxy.yaml``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from transcode.classify.examples import LabelledUnit
from transcode.codebook import Codebook
from transcode.errors import InputError


@dataclass(frozen=True)
class ProxySpec:
    paraphrases: dict[str, list[str]]
    probes: list[str]
    quotes_per_domain: int = 2
    seed: int = 13


def load_proxy_spec(path: str | Path, codebook: Codebook) -> ProxySpec:
    """Paraphrases for every domain of ``codebook``, probes, quotes per domain and a seed."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError(f"not a readable YAML file ({err})", str(path)) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("paraphrases"), dict) or not raw.get("probes"):
        raise InputError("needs 'paraphrases' (domain -> list of questions) and 'probes'", str(path))
    paraphrases = {str(k): [str(q) for q in v] for k, v in raw["paraphrases"].items()}
    missing = [d for d in codebook.domain_ids if not paraphrases.get(d)]
    if missing:
        raise InputError(f"no paraphrases for domains {missing}", str(path))
    return ProxySpec(
        paraphrases,
        [str(p) for p in raw["probes"]],
        int(raw.get("quotes_per_domain", 2)),
        int(raw.get("seed", 13)),
    )


def build_proxy(units: list[LabelledUnit], codebook: Codebook, spec: ProxySpec) -> list[LabelledUnit]:
    """Quotes in protocol order with paraphrased questions and probes; case ids are kept (folds by case)."""
    out: list[LabelledUnit] = []
    cases = sorted({u.case for u in units})
    for case_number, case in enumerate(cases):
        rng = np.random.default_rng([spec.seed, zlib.crc32(case.encode())])
        own = [u for u in units if u.case == case]
        turn = 0
        for domain in codebook.domain_ids:
            candidates = [i for i, u in enumerate(own) if u.domains == frozenset({domain})]
            if not candidates:
                continue
            take = min(spec.quotes_per_domain, len(candidates))
            picked = sorted(rng.choice(candidates, size=take, replace=False).tolist())
            for k, i in enumerate(picked):
                turn += 2
                if k == 0:
                    options = spec.paraphrases[domain]
                    question = options[case_number % len(options)]
                else:
                    question = spec.probes[int(rng.integers(len(spec.probes)))]
                unit = own[i]
                out.append(LabelledUnit(case, f"proxy-{unit.unit}", unit.text, question, unit.domains, turn))
    return out
