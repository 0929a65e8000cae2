"""Render the demo corpus from its YAML sources.

Each ``source/case_XX.yaml`` holds one fictional interview written unit by
unit, with the gold domains of every thought unit, the two judges' independent
codings where they depart from gold, and the identifiers planted in the text.
This script writes the transcripts (``case_XX.txt``) and the gold files, so
offsets are computed, never typed by hand.

Run from the repository root: ``python corpora/demo/build_demo.py``
(``--check FILE...`` only validates the named sources).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
IDENTIFIER_TYPES = {"PERSON", "PLACE", "ORG", "DATE", "PHONE", "EMAIL", "AGE", "URL", "ADDRESS", "ID"}
JUDGES = ("A", "B")


def _domain_ids() -> list[str]:
    codebook = yaml.safe_load((HERE / "codebook.yaml").read_text(encoding="utf-8"))
    return [d["id"] for d in codebook["domains"]]


def _render_case(path: Path, domains: set[str]):
    src = yaml.safe_load(path.read_text(encoding="utf-8"))
    case = str(src["case"])
    lines = [f"# case: {case}"] + [f"# {k}: {v}" for k, v in (src.get("metadata") or {}).items()]
    units, codings = [], []
    for turn_no, turn in enumerate(src["turns"], start=1):
        ((label, body),) = turn.items()
        if isinstance(body, str):
            lines.append(f"{label}: {body.strip()}")
            continue
        turn_text, first = "", True
        for j, unit in enumerate(body, start=1):
            text = " ".join(unit["text"].split())
            gold = list(unit.get("domains") or [])
            unknown = set(gold) - domains - {"other"}
            if unknown:
                sys.exit(f"{path}: turn {turn_no}: unknown domain(s) {sorted(unknown)}")
            start = len(turn_text) + (0 if first else 1)
            if first:
                lines.append(f"{label}: {text}")
            elif unit.get("newline"):
                lines.append(f"   {text}")
            else:
                lines[-1] += f" {text}"
            turn_text = text if first else f"{turn_text} {text}"
            first = False
            unit_id = f"{case}-t{turn_no:02d}u{j}"
            units.append(
                {
                    "case": case,
                    "unit": unit_id,
                    "turn": turn_no,
                    "start": start,
                    "end": start + len(text),
                    "text": text,
                    "domains": gold,
                }
            )
            for judge in JUDGES:
                codes = unit.get(f"judge_{judge.lower()}", gold)
                for code in codes or [""]:
                    codings.append({"unit": unit_id, "judge": judge, "code": code})
    identifiers = []
    for ident in src.get("identifiers") or []:
        if ident["type"] not in IDENTIFIER_TYPES:
            sys.exit(f"{path}: identifier {ident['text']!r} has unknown type {ident['type']}")
        pattern = re.compile(r"(?<!\w)" + re.escape(ident["text"]) + r"(?!\w)")
        hits = [(n, m) for n, line in enumerate(lines, start=1) for m in pattern.finditer(line)]
        if not hits:
            sys.exit(f"{path}: planted identifier {ident['text']!r} does not occur in the text")
        for n, m in hits:
            identifiers.append(
                {
                    "case": case,
                    "line": n,
                    "start": m.start(),
                    "end": m.end(),
                    "text": ident["text"],
                    "type": ident["type"],
                }
            )
    return case, "\n".join(lines) + "\n", units, codings, identifiers


def main() -> None:
    domains = set(_domain_ids())
    if sys.argv[1:2] == ["--check"]:
        for name in sys.argv[2:]:
            _, _, units, _, identifiers = _render_case(Path(name), domains)
            print(f"{name}: {len(units)} units, {len(identifiers)} identifier occurrences: ok")
        return
    all_units, all_codings, all_identifiers = [], [], []
    for path in sorted((HERE / "source").glob("case_*.yaml")):
        case, text, units, codings, identifiers = _render_case(path, domains)
        (HERE / f"case_{case}.txt").write_text(text, encoding="utf-8")
        all_units += units
        all_codings += codings
        all_identifiers += identifiers
    gold = HERE / "gold"
    gold.mkdir(exist_ok=True)
    (gold / "units.jsonl").write_text("".join(json.dumps(u) + "\n" for u in all_units), encoding="utf-8")
    (gold / "identifiers.jsonl").write_text(
        "".join(json.dumps(i) + "\n" for i in all_identifiers), encoding="utf-8"
    )
    with open(HERE / "judges.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["unit", "judge", "code"])
        writer.writeheader()
        writer.writerows(all_codings)
    print(
        f"{len({u['case'] for u in all_units})} cases, {len(all_units)} units, "
        f"{len(all_identifiers)} planted identifier occurrences"
    )


if __name__ == "__main__":
    main()
