"""Thought units against people's: boundary agreement on the demo's gold units and PriMock57's utterances.

* demo: the 12 interviews' gold units (drawn by people, unit by unit): boundary
  precision, recall and F1 (an end within 3 characters is the same boundary), and
  the unit count against gold; also for the three cases the splitter's constants
  were chosen on (01, 05, 06) and for the other nine;
* PriMock57 (real, transcribed primary-care consultations): the transcriber's
  utterances, merged into turns by speaker, are the reference. Utterances follow
  pauses, not ideas, so this is a rough, speech-like second check: short
  back-channels are utterances but never units.

Run: ``python benchmarks/units_benchmark.py [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "corpora" / "demo"
PRIMOCK = ROOT.parent / "shared" / "data" / "primock57"
TUNING_CASES = ("01", "05", "06")


def demo_report(nlp) -> dict:
    from transcode.ingest import read_transcript
    from transcode.units import boundary_agreement, split_transcript

    gold = [json.loads(line) for line in (DEMO / "gold" / "units.jsonl").read_text().splitlines()]
    predicted, reference = {}, {}
    for case in sorted({g["case"] for g in gold}):
        units = split_transcript(read_transcript(DEMO / f"case_{case}.txt"), nlp)
        predicted[case] = [((case, u.turn), u.end) for u in units]
        reference[case] = [((case, g["turn"]), g["end"]) for g in gold if g["case"] == case]
    out = {}
    for name, cases in (
        ("all 12 cases", sorted(predicted)),
        ("tuning cases 01, 05, 06", list(TUNING_CASES)),
        ("other 9 cases", [c for c in sorted(predicted) if c not in TUNING_CASES]),
    ):
        agreement = boundary_agreement(
            [p for c in cases for p in predicted[c]], [r for c in cases for r in reference[c]]
        )
        out[name] = {**vars(agreement), "count_ratio": agreement.n_units / agreement.n_reference}
    return out


def primock_transcript(path: Path):
    """Turns from consecutive same-speaker utterances, and each utterance's end offset in its turn."""
    from transcode.transcript import Transcript, Turn

    turns, ends = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        speaker, _, text = line.partition(":")
        text = " ".join(text.split())
        if not text:
            continue
        role = "participant" if speaker.strip() == "Patient" else "interviewer"
        if turns and turns[-1][0] == role:
            joined = f"{turns[-1][1]} {text}"
            turns[-1] = (role, joined)
            ends[-1].append(len(joined))
        else:
            turns.append((role, text))
            ends.append([len(text)])
    transcript = Transcript(
        path.stem,
        tuple(
            Turn(role, "P" if role == "participant" else "D", text, i)
            for i, (role, text) in enumerate(turns, 1)
        ),
    )
    reference = [
        (number, end)
        for number, ((role, _), turn_ends) in enumerate(zip(turns, ends, strict=True), start=1)
        if role == "participant"
        for end in turn_ends
    ]
    return transcript, reference


def primock_report(nlp) -> dict | None:
    from transcode.units import boundary_agreement, split_transcript

    files = sorted(PRIMOCK.glob("*.txt"))
    if not files:
        return None
    predicted, reference = [], []
    for path in files:
        transcript, gold = primock_transcript(path)
        units = split_transcript(transcript, nlp)
        predicted += [((path.stem, u.turn), u.end) for u in units]
        reference += [((path.stem, turn), end) for turn, end in gold]
    agreement = boundary_agreement(predicted, reference)
    return {
        **vars(agreement),
        "count_ratio": agreement.n_units / agreement.n_reference,
        "consultations": [p.stem for p in files],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from transcode.verified import load_spacy

    nlp = load_spacy()
    report = {"demo": demo_report(nlp), "primock57_utterances": primock_report(nlp)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("| data | units | reference | boundary precision | recall | F1 | count / reference |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [(f"demo gold units, {k}", v) for k, v in report["demo"].items()]
    if report["primock57_utterances"]:
        rows.append(("PriMock57 utterances (3 consultations)", report["primock57_utterances"]))
    for name, r in rows:
        print(
            f"| {name} | {r['n_units']} | {r['n_reference']} | {r['precision']:.3f} | {r['recall']:.3f} "
            f"| {r['f1']:.3f} | {r['count_ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
