"""Interoperability with Taguette, an open-source QDA tool that installs offline from PyPI.

Taguette 1.5 writes REFI-QDA codebooks (.qdc) but imports codebooks only as CSV, so the check runs in
the direction Taguette supports: a .qdc written by Taguette's own exporter must pass the REFI-QDA
Codebook schema we ship (apart from Taguette's empty ``<Sets/>``, which the schema forbids and the
importer drops) and import into transcode with its codes intact.

Taguette pins old SQLAlchemy, so it lives in its own virtualenv: ``python -m venv /tmp/taguette-venv &&
/tmp/taguette-venv/bin/pip install taguette`` and set ``TAGUETTE_PYTHON=/tmp/taguette-venv/bin/python``.
Skipped when no such interpreter is given (or taguette is not importable here).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from transcode.exchange import refi

TAGS = ["Rupture antecedents", "Therapist's internal reactions", "Repair/acknowledged own part"]
EXPORT = """
import sys
from types import SimpleNamespace
from taguette.export import codebook_xml
codebook_xml([SimpleNamespace(path=p, description='') for p in sys.argv[2:]], sys.argv[1])
"""


def _taguette_python() -> str:
    given = os.environ.get("TAGUETTE_PYTHON")
    if given and Path(given).is_file():
        return given
    if importlib.util.find_spec("taguette") is not None:
        return sys.executable
    pytest.skip("Taguette is not installed; set TAGUETTE_PYTHON to a python with `pip install taguette`")


def test_taguette_codebook_export_validates_and_imports(tmp_path):
    python = _taguette_python()
    path = tmp_path / "taguette.qdc"
    subprocess.run([python, "-c", EXPORT, str(path), *TAGS], check=True, capture_output=True, timeout=120)
    errors = refi.schema_errors(path.read_bytes(), "codebook")
    # Taguette's one deviation from the schema: an empty <Sets/> (Set is required inside Sets).
    assert len(errors) == 1 and "Sets': Missing child element(s)" in errors[0]
    codebook = refi.read_qdc(path)
    assert [d.name for d in codebook.domains] == TAGS
    assert codebook.domain_ids == [
        "rupture_antecedents",
        "therapist_s_internal_reactions",
        "repair_acknowledged_own_part",
    ]
