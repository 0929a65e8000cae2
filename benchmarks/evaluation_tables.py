"""Markdown tables of a `transcode evaluate` run (its evaluation.json), as models/README.md shows them.

Run: ``python benchmarks/evaluation_tables.py models/evaluation/evaluation.json``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MEASURES = ("top1_accuracy", "micro_f1", "macro_f1", "one_key_rate", "recall", "ece")
HEADERS = ("top-1", "micro-F1", "macro-F1", "one-key rate", "suggestion recall", "ECE")


def method_table(methods: dict) -> list[str]:
    lines = ["| method | " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * len(HEADERS)]
    for name, m in methods.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in MEASURES) + " |")
    return lines


def curve_table(curves: dict, measure: str, label: str) -> list[str]:
    sizes = curves["sizes"]
    shown = [str(n) if n != sizes[-1] else f"all ({n})" for n in sizes]
    lines = [f"| {label} at n confirmed units | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(sizes)]
    for name, points in curves["curves"].items():
        cells = {p["n"]: f"{p[measure]:.3f}" for p in points}
        lines.append(f"| {name} | " + " | ".join(cells.get(n, "") for n in sizes) + " |")
    return lines


def render(document: dict) -> str:
    out: list[str] = []
    for report in document["reports"]:
        out += [
            f"### {report['corpus']}: {report['n_units']} units, {report['n_cases']} cases, {report['folds']}"
            + (
                f" (trained on {report['trained_on']})"
                if report.get("trained_on") != report["corpus"]
                else ""
            ),
            "",
            *([f"Measured with {report['measured_with']}.", ""] if "measured_with" in report else []),
            *method_table(report["methods"]),
            "",
        ]
        for label, methods in report.get("subsets", {}).items():
            out += [f"{report['corpus']}, {label}:", "", *method_table(methods), ""]
        if "learning_curves" in report:
            curves = report["learning_curves"]
            out += [*curve_table(curves, "top1_accuracy", "top-1"), ""]
            out += [*curve_table(curves, "one_key_rate", "one-key rate"), ""]
        diagnostics = report.get("diagnostics", {})
        if diagnostics:
            out += [
                "Questions taken as neutral probes: "
                f"{diagnostics['question_taken_as_probe']:.1%} of units; override gate halves the "
                f"question's weight for {diagnostics['override_gate_halves_question']:.1%}; mean fit "
                f"{report['train_seconds_mean']:.1f} s.",
                "",
            ]
    return "\n".join(out)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "models/evaluation/evaluation.json")
    print(render(json.loads(path.read_text(encoding="utf-8"))))
