"""How well does de-identification work? Recall, over-redaction and speed, against two baselines.

Run from the repository root::

    PYTHONPATH=. python benchmarks/deid_benchmark.py [--out out/deid-benchmark] [--annomi-limit N]

Data:

- the demo corpus (``corpora/demo``), rebuilt from its sources into a
  temporary folder: gold planted identifiers with their positions;
- AnnoMI's real counselling dialogues (``../shared/data/annomi``): no
  identifier labels, so the script reports counts per type and writes a
  sample of replacements, with context, for a person to check;
- ACI-Bench's lower-cased doctor-patient dialogues (``../shared/data/aci_bench``):
  silver PERSON and AGE spans derived from the visit metadata (recall only).

Systems: this package's :class:`~transcode.deid.Deidentifier` (and the same
without Presidio's pattern recognisers, to see what they add), plain spaCy NER
from the same model (PERSON, GPE, LOC, FAC, ORG, DATE, NORP), and Presidio's
default analyzer configured for the offline model.

Recall counts a planted identifier as removed when every letter and digit of it
lies inside a redacted span. Over-redaction is the share of the words outside
every planted identifier that a system redacts (the demo corpus plants every
identifier it contains). Throughput is words per second of detection and
replacement, after the model is loaded, on this machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

#: A span found by a system or planted as gold: (segment, start, end, type).
Span = tuple[int, int, int, str]
System = Callable[[Sequence[str]], list[Span]]

NAME_TYPES = ("PERSON",)
CONTACT_TYPES = ("PHONE", "EMAIL", "URL", "ADDRESS")
_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass
class Document:
    """One case: its segments (turn texts) and the gold identifier spans in them."""

    name: str
    segments: list[str]
    gold: list[Span] = field(default_factory=list)


@dataclass
class Score:
    found: Counter = field(default_factory=Counter)
    total: Counter = field(default_factory=Counter)
    words: int = 0
    non_id_words: int = 0
    non_id_removed: int = 0
    seconds: float = 0.0
    by_type: Counter = field(default_factory=Counter)

    def recall(self, types: Sequence[str] | None = None) -> float | None:
        keys = [t for t in self.total if types is None or t in types]
        total = sum(self.total[t] for t in keys)
        return sum(self.found[t] for t in keys) / total if total else None

    @property
    def over_redaction(self) -> float | None:
        return self.non_id_removed / self.non_id_words if self.non_id_words else None

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- systems


def transcode_system(**options) -> System:
    from transcode.deid import Deidentifier

    deidentifier = Deidentifier(**options)

    def run(segments: Sequence[str]) -> list[Span]:
        return [(d.segment, d.start, d.end, d.type) for d in deidentifier.detect_segments(segments)]

    return run


def spacy_system() -> System:
    from transcode.verified import load_spacy

    nlp = load_spacy()
    types = {
        "PERSON": "PERSON",
        "GPE": "PLACE",
        "LOC": "PLACE",
        "FAC": "PLACE",
        "ORG": "ORG",
        "DATE": "DATE",
        "NORP": "GROUP",
    }

    def run(segments: Sequence[str]) -> list[Span]:
        return [
            (i, e.start_char, e.end_char, types[e.label_])
            for i, doc in enumerate(nlp.pipe(segments))
            for e in doc.ents
            if e.label_ in types
        ]

    return run


def presidio_system() -> System:
    """Presidio's default analyzer (its default.yaml NER mapping), pointed at the offline spaCy model."""
    import yaml

    from transcode.deid.recognizers import presidio_recognizers
    from transcode.verified import SPACY_PACKAGE

    presidio_recognizers()  # points tldextract at its bundled suffix list: no network
    import presidio_analyzer
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    config = yaml.safe_load((Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text())
    config["models"] = [{"lang_code": "en", "model_name": SPACY_PACKAGE}]
    engine = NlpEngineProvider(nlp_configuration=config).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    types = {
        "PERSON": "PERSON",
        "LOCATION": "PLACE",
        "ORGANIZATION": "ORG",
        "DATE_TIME": "DATE",
        "NRP": "GROUP",
        "PHONE_NUMBER": "PHONE",
        "EMAIL_ADDRESS": "EMAIL",
        "URL": "URL",
    }

    def run(segments: Sequence[str]) -> list[Span]:
        return [
            (i, r.start, r.end, types.get(r.entity_type, "ID"))
            for i, text in enumerate(segments)
            for r in analyzer.analyze(text, language="en")
        ]

    return run


SYSTEMS: dict[str, Callable[[], System]] = {
    "transcode": lambda: transcode_system(),
    "transcode, no Presidio": lambda: transcode_system(use_presidio=False),
    "spaCy NER": spacy_system,
    "Presidio default": presidio_system,
}


# ---------------------------------------------------------------- data


def demo_documents(work: Path) -> list[Document]:
    """Rebuild the demo corpus from its sources in ``work`` and map gold positions onto turn texts."""
    from transcode.ingest import read_transcript

    demo = work / "demo"
    shutil.copytree(REPO / "corpora" / "demo", demo, ignore=shutil.ignore_patterns("case_*.txt", "gold"))
    built = subprocess.run([sys.executable, str(demo / "build_demo.py")], capture_output=True, text=True)
    if built.returncode != 0:
        print(
            f"demo build failed, using the corpus as built in the repository:\n{built.stderr}",
            file=sys.stderr,
        )
        demo = REPO / "corpora" / "demo"
    gold_file = demo / "gold" / "identifiers.jsonl"
    if not gold_file.is_file():
        return []
    gold_by_case: dict[str, list[dict]] = defaultdict(list)
    for line in gold_file.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        gold_by_case[item["case"]].append(item)
    documents = []
    for path in sorted(demo.glob("case_*.txt")):
        transcript = read_transcript(path)
        positions = turn_positions(path.read_text(encoding="utf-8").splitlines(), transcript)
        gold = []
        for item in gold_by_case.get(transcript.case, []):
            turn, offset = positions[item["line"]]
            start = offset + item["start"]
            segment_text = transcript.turns[turn].text
            if segment_text[start : start + len(item["text"])] != item["text"]:
                raise SystemExit(f"{path}: gold {item['text']!r} does not map onto turn {turn}")
            gold.append((turn, start, start + len(item["text"]), item["type"]))
        documents.append(Document(f"demo/{transcript.case}", [t.text for t in transcript.turns], gold))
    return documents


def turn_positions(lines: list[str], transcript) -> dict[int, tuple[int, int]]:
    """For each file line inside a turn: (turn index, offset to add to a column to get a turn-text offset)."""
    positions: dict[int, tuple[int, int]] = {}
    starts = [t.line for t in transcript.turns] + [len(lines) + 1]
    for index, turn in enumerate(transcript.turns):
        cursor = 0
        for number in range(starts[index], starts[index + 1]):
            raw = lines[number - 1]
            if not raw.strip() or raw.lstrip().startswith("#") and number != turn.line:
                continue
            body = raw.split(":", 1)[1] if number == turn.line else raw
            content = body.strip()
            column = raw.index(content) if content else 0
            found = turn.text.find(content, cursor)
            positions[number] = (index, found - column)
            cursor = found + len(content)
    return positions


def annomi_documents(limit: int | None) -> list[Document]:
    path = SHARED / "annomi" / "AnnoMI-full.csv"
    if not path.is_file():
        return []
    rows: dict[int, dict[int, str]] = defaultdict(dict)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[int(row["transcript_id"])].setdefault(int(row["utterance_id"]), row["utterance_text"])
    ids = sorted(rows)[:limit] if limit else sorted(rows)
    return [Document(f"annomi/{i}", [rows[i][u] for u in sorted(rows[i])]) for i in ids]


def aci_documents() -> list[Document]:
    folder = SHARED / "aci_bench"
    if not (folder / "valid_dialogues.csv").is_file():
        return []
    silver = {}
    for line in (folder / "valid_silver_identifier_spans.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        silver[item["encounter_id"]] = item["spans"]
    documents = []
    with open(folder / "valid_dialogues.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            dialogue = row["dialogue"]
            segments, bounds, offset = [], [], 0
            for line in dialogue.split("\n"):
                tag = re.match(r"\[[^\]]*\]\s*", line)
                skip = tag.end() if tag else 0
                segments.append(line[skip:])
                bounds.append((offset + skip, offset + len(line)))
                offset += len(line) + 1
            gold = []
            for span in silver.get(row["encounter_id"], []):
                for i, (lo, hi) in enumerate(bounds):
                    if lo <= span["start"] and span["end"] <= hi:
                        gold.append((i, span["start"] - lo, span["end"] - lo, span["label"]))
            documents.append(Document(f"aci/{row['encounter_id']}", segments, gold))
    return documents


# ---------------------------------------------------------------- scoring


def covered(spans: list[Span]) -> dict[int, list[tuple[int, int]]]:
    by_segment: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for segment, start, end, _ in spans:
        by_segment[segment].append((start, end))
    return by_segment


def is_removed(text: str, start: int, end: int, redacted: list[tuple[int, int]]) -> bool:
    return all(any(s <= i < e for s, e in redacted) for i in range(start, end) if text[i].isalnum())


def misses(documents: list[Document], spans: dict[str, list]) -> list[str]:
    """Gold identifiers a system left (fictional or public data, so their text may be shown)."""
    lines = []
    for doc in documents:
        redacted = covered(spans.get(doc.name, []))
        for segment, start, end, kind in doc.gold:
            text = doc.segments[segment]
            if not is_removed(text, start, end, redacted.get(segment, [])):
                lines.append(
                    f"{doc.name} turn {segment} {kind}: …{text[max(0, start - 40) : start]}"
                    f"**{text[start:end]}**{text[end : end + 40]}…"
                )
    return lines


def score(documents: list[Document], system: System, *, count_words: bool) -> tuple[Score, dict[str, list]]:
    result = Score()
    found_spans: dict[str, list] = {}
    for doc in documents:
        started = time.perf_counter()
        spans = system(doc.segments)
        result.seconds += time.perf_counter() - started
        found_spans[doc.name] = spans
        redacted = covered(spans)
        gold_cover = covered(doc.gold)
        for segment, start, end, kind in doc.gold:
            result.total[kind] += 1
            if is_removed(doc.segments[segment], start, end, redacted.get(segment, [])):
                result.found[kind] += 1
        for span in spans:
            result.by_type[span[3]] += 1
        for i, text in enumerate(doc.segments):
            for m in _WORD.finditer(text):
                result.words += 1
                if not count_words:
                    continue
                if any(s < m.end() and m.start() < e for s, e in gold_cover.get(i, [])):
                    continue
                result.non_id_words += 1
                if any(s < m.end() and m.start() < e for s, e in redacted.get(i, [])):
                    result.non_id_removed += 1
    return result, found_spans


# ---------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def demo_table(scores: dict[str, Score]) -> tuple[list[str], list[list[str]]]:
    types = sorted({t for s in scores.values() for t in s.total})
    header = ["system", *types, "names", "contact", "overall", "over-redaction", "words/s"]
    rows = []
    for name, s in scores.items():
        rows.append(
            [
                name,
                *[fmt(s.recall([t])) for t in types],
                fmt(s.recall(NAME_TYPES)),
                fmt(s.recall(CONTACT_TYPES)),
                fmt(s.recall()),
                fmt(s.over_redaction),
                f"{s.words_per_second:,.0f}",
            ]
        )
    totals = next(iter(scores.values())).total if scores else Counter()
    rows.append(
        [
            "(planted)",
            *[str(totals[t]) for t in types],
            str(sum(totals[t] for t in NAME_TYPES)),
            str(sum(totals[t] for t in CONTACT_TYPES)),
            str(sum(totals.values())),
            "",
            "",
        ]
    )
    return header, rows


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in header:
        table.add_column(column, justify="left" if column == header[0] else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def annomi_sample(documents: list[Document], spans: dict[str, list], n: int, seed: int = 7) -> list[str]:
    """Random replacements with context, for a person to judge (public data: the values may be shown)."""
    pool = [(doc, span) for doc in documents for span in spans.get(doc.name, [])]
    random.Random(seed).shuffle(pool)
    lines = []
    for doc, (segment, start, end, kind) in pool[:n]:
        text = doc.segments[segment]
        left = text[max(0, start - 50) : start].replace("\n", " ")
        right = text[end : end + 50].replace("\n", " ")
        lines.append(f"- {doc.name} turn {segment}: {kind}: …{left}**[{text[start:end]}]**{right}…")
    return lines


def top_values(
    documents: list[Document], spans: dict[str, list], k: int = 12
) -> dict[str, list[tuple[str, int]]]:
    values: dict[str, Counter] = defaultdict(Counter)
    for doc in documents:
        for segment, start, end, kind in spans.get(doc.name, []):
            values[kind][doc.segments[segment][start:end].casefold()] += 1
    return {kind: counter.most_common(k) for kind, counter in sorted(values.items())}


def plot(scores: dict[str, Score], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    types = sorted({t for s in scores.values() for t in s.total})
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [4, 1]})
    width = 0.8 / max(len(scores), 1)
    x = np.arange(len(types))
    for k, (name, s) in enumerate(scores.items()):
        left.bar(x + k * width, [s.recall([t]) or 0 for t in types], width, label=name)
        right.bar(k, 100 * (s.over_redaction or 0), color=f"C{k}")
    left.set_xticks(x + width * (len(scores) - 1) / 2, types, rotation=30)
    left.set_ylim(0, 1.05)
    left.axhline(0.99, color="grey", linestyle=":", linewidth=1)
    left.set_ylabel("recall (planted identifiers removed)")
    left.set_title("Demo corpus: recall per identifier type")
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=len(scores))
    right.set_xticks(range(len(scores)), list(scores), rotation=60, ha="right", fontsize=8)
    right.axhline(3, color="grey", linestyle=":", linewidth=1)
    right.set_ylabel("% of non-identifying words redacted")
    right.set_title("Over-redaction")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "out" / "deid-benchmark")
    parser.add_argument("--annomi-limit", type=int, default=0, help="first N AnnoMI transcripts (0: all 133)")
    parser.add_argument("--sample", type=int, default=40, help="AnnoMI replacements to list for checking")
    parser.add_argument("--systems", nargs="*", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--show-misses", action="store_true", help="list the identifiers each system left")
    args = parser.parse_args(argv)
    from rich.progress import Progress

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_documents(Path(tmp))
    annomi = annomi_documents(args.annomi_limit or None)
    aci = aci_documents()
    corpora = {"demo": demo, "annomi": annomi, "aci": aci}
    results: dict[str, dict[str, Score]] = defaultdict(dict)
    annomi_spans: dict[str, dict[str, list]] = {}
    missed: dict[str, list[str]] = {}
    with Progress(transient=False) as progress:
        task = progress.add_task(
            "benchmark", total=len(args.systems) * sum(bool(d) for d in corpora.values())
        )
        for name in args.systems:
            progress.update(task, description=f"loading {name}")
            system = SYSTEMS[name]()
            for corpus, documents in corpora.items():
                if not documents:
                    continue
                progress.update(task, description=f"{name} on {corpus}")
                results[corpus][name], spans = score(documents, system, count_words=corpus == "demo")
                if args.show_misses and corpus in ("demo", "aci"):
                    missed[f"{name} on {corpus}"] = misses(documents, spans)
                if corpus == "annomi":
                    annomi_spans[name] = spans
                progress.advance(task)

    report: list[str] = ["# De-identification benchmark", ""]
    summary: dict = {
        "corpora": {
            k: {"documents": len(v), "segments": sum(len(d.segments) for d in v)} for k, v in corpora.items()
        }
    }
    if demo:
        header, rows = demo_table(results["demo"])
        print_table(
            "Demo corpus (planted identifiers): recall per type, over-redaction, throughput", header, rows
        )
        report += ["## Demo corpus: recall of planted identifiers", "", markdown_table(header, rows), ""]
        plot(results["demo"], args.out / "deid_benchmark.png")
        summary["demo"] = {
            name: {
                "recall": {t: s.recall([t]) for t in s.total},
                "names": s.recall(NAME_TYPES),
                "contact": s.recall(CONTACT_TYPES),
                "overall": s.recall(),
                "over_redaction": s.over_redaction,
                "words_per_second": s.words_per_second,
                "words": s.words,
            }
            for name, s in results["demo"].items()
        }
    if aci:
        header = ["system", "PERSON", "AGE", "overall", "words/s"]
        rows = [
            [
                name,
                fmt(s.recall(["PERSON"])),
                fmt(s.recall(["AGE"])),
                fmt(s.recall()),
                f"{s.words_per_second:,.0f}",
            ]
            for name, s in results["aci"].items()
        ]
        print_table(
            "ACI-Bench (lower-case dialogue, silver patient and doctor names, ages): recall", header, rows
        )
        report += [
            "## ACI-Bench: recall of silver identifiers (lower-case dialogue)",
            "",
            markdown_table(header, rows),
            "",
        ]
        summary["aci"] = {
            name: {"PERSON": s.recall(["PERSON"]), "AGE": s.recall(["AGE"])}
            for name, s in results["aci"].items()
        }
    if annomi:
        types = sorted({t for s in results["annomi"].values() for t in s.by_type})
        header = ["system", *types, "per 1000 words", "words/s"]
        rows = [
            [
                name,
                *[str(s.by_type[t]) for t in types],
                f"{1000 * sum(s.by_type.values()) / s.words:.1f}",
                f"{s.words_per_second:,.0f}",
            ]
            for name, s in results["annomi"].items()
        ]
        print_table(
            f"AnnoMI ({len(annomi)} real counselling dialogues, no labels): spans redacted per type",
            header,
            rows,
        )
        report += [
            "## AnnoMI: spans redacted per type (no gold labels)",
            "",
            markdown_table(header, rows),
            "",
        ]
        summary["annomi"] = {name: dict(s.by_type) for name, s in results["annomi"].items()}
        if "transcode" in annomi_spans:
            sample = annomi_sample(annomi, annomi_spans["transcode"], args.sample)
            report += [
                "### A random sample of transcode's AnnoMI replacements, to check by eye",
                "",
                *sample,
                "",
            ]
            report += ["### Most frequent redacted values per type", ""]
            for kind, values in top_values(annomi, annomi_spans["transcode"]).items():
                report.append(f"- {kind}: " + ", ".join(f"{v} ({n})" for v, n in values))
    for title, lines in missed.items():
        report += [f"### Left by {title}", "", *[f"- {line}" for line in lines], ""]
        print(f"left by {title}:", *lines, sep="\n  ", file=sys.stderr)
    (args.out / "deid_benchmark.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    (args.out / "deid_benchmark.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(
        f"report: {args.out / 'deid_benchmark.md'}; plot: {args.out / 'deid_benchmark.png'}", file=sys.stderr
    )


if __name__ == "__main__":
    main()
